#include "switch/core/control_pacer.h"

#include <gtest/gtest.h>

#include <vector>

namespace rtvs {
namespace {

TEST(ControlPacer, FastWhileBusyBacksOffWhenIdle) {
  ControlPacer p;
  EXPECT_EQ(p.timeoutMs(), ControlPacer::kMinMs);
  std::vector<int> idle;
  for (int i = 0; i < 9; ++i) {
    p.roundDone(false);
    idle.push_back(p.timeoutMs());
  }
  EXPECT_EQ(idle, (std::vector<int>{2, 4, 8, 16, 32, 64, 100, 100, 100}));
  p.roundDone(true);  // a learn event: fast again at once
  EXPECT_EQ(p.timeoutMs(), 1);
  p.roundDone(true);
  EXPECT_EQ(p.timeoutMs(), 1);
}

TEST(ControlPacer, IdleWakeupsPerSecondAreBounded) {
  ControlPacer p;
  int wakeups = 0;
  for (int elapsed = 0; elapsed < 10000; ++wakeups) {
    elapsed += p.timeoutMs();
    p.roundDone(false);
  }
  // 10 s idle: the ramp (7 rounds) plus 10 per second.
  EXPECT_LE(wakeups, 107);
  EXPECT_GE(wakeups, 100);
}

TEST(ControlPacer, SanitisesBounds) {
  ControlPacer p(0, 0);
  EXPECT_EQ(p.timeoutMs(), 1);
  p.roundDone(false);
  EXPECT_EQ(p.timeoutMs(), 1);
  ControlPacer q(5, 3);
  q.roundDone(false);
  EXPECT_EQ(q.timeoutMs(), 5);
}

}  // namespace
}  // namespace rtvs
