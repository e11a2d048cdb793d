#include "switch/core/log_ring.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace rtvs {
namespace {

int g_level = 0;
int currentLevel() { return g_level; }

TEST(LogRing, FifoOrderAndLevels) {
  LogRing ring(8);
  EXPECT_TRUE(ring.push(6, "one\n"));
  EXPECT_TRUE(ring.push(4, "two\n"));
  LogRing::Line l;
  ASSERT_TRUE(ring.pop(l));
  EXPECT_EQ(l.level, 6);
  EXPECT_EQ(l.text, "one\n");
  ASSERT_TRUE(ring.pop(l));
  EXPECT_EQ(l.level, 4);
  EXPECT_EQ(l.text, "two\n");
  EXPECT_FALSE(ring.pop(l));
  EXPECT_EQ(ring.pushed(), 2u);
  EXPECT_EQ(ring.dropped(), 0u);
}

TEST(LogRing, FullRingDropsAndCountsThenRecovers) {
  LogRing ring(4);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.push(7, "line " + std::to_string(i)));
  EXPECT_FALSE(ring.push(7, "lost 1"));
  EXPECT_FALSE(ring.push(7, "lost 2"));
  EXPECT_EQ(ring.dropped(), 2u);
  EXPECT_EQ(ring.pushed(), 4u);
  LogRing::Line l;
  ASSERT_TRUE(ring.pop(l));
  EXPECT_EQ(l.text, "line 0");
  EXPECT_TRUE(ring.push(7, "line 4"));  // one slot free again
  EXPECT_FALSE(ring.push(7, "lost 3"));
  std::vector<std::string> rest;
  while (ring.pop(l)) rest.push_back(l.text);
  EXPECT_EQ(rest, (std::vector<std::string>{"line 1", "line 2", "line 3", "line 4"}));
  EXPECT_EQ(ring.dropped(), 3u);
}

TEST(LogRing, LongLinesAreCut) {
  LogRing ring(2);
  const std::string long_line(1000, 'x');
  EXPECT_TRUE(ring.push(5, long_line));
  LogRing::Line l;
  ASSERT_TRUE(ring.pop(l));
  EXPECT_EQ(l.text, std::string(LogRing::kLineMax, 'x'));
  EXPECT_EQ(ring.truncated(), 1u);
}

TEST(LogRing, RejectsBadSizes) {
  EXPECT_THROW(LogRing(0), std::invalid_argument);
  EXPECT_THROW(LogRing(1), std::invalid_argument);
  EXPECT_THROW(LogRing(6), std::invalid_argument);
}

// Four producers race one consumer: every line arrives exactly once or is counted as dropped,
// and each producer's lines arrive in its order.
TEST(LogRing, ManyProducersOneConsumer) {
  LogRing ring(64);
  constexpr int kPerThread = 20000;
  std::atomic<int> running{4};
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ring.push(t, std::to_string(t) + ":" + std::to_string(i));
      }
      running.fetch_sub(1);
    });
  }
  std::vector<int> last(4, -1);
  uint64_t got = 0;
  LogRing::Line l;
  for (;;) {
    const bool done = running.load() == 0;
    while (ring.pop(l)) {
      ++got;
      const int t = std::stoi(l.text.substr(0, l.text.find(':')));
      const int i = std::stoi(l.text.substr(l.text.find(':') + 1));
      ASSERT_EQ(t, l.level);
      ASSERT_GT(i, last[t]) << "producer " << t << " out of order";
      last[t] = i;
    }
    if (done) break;
  }
  for (auto& p : producers) p.join();
  while (ring.pop(l)) ++got;
  EXPECT_EQ(got, ring.pushed());
  EXPECT_EQ(got + ring.dropped(), 4u * kPerThread);
}

TEST(LogStream, FprintfLandsInTheRingWholeAndDropsWhenFull) {
  LogRing ring(4);
  LogStream stream(ring, &currentLevel);
  g_level = 8;
  fprintf(stream.file(), "VHOST_CONFIG: (%s) read message %d\n", "/tmp/vm1.sock", 3);
  fflush(stream.file());
  g_level = 4;
  for (int i = 0; i < 5; ++i) fprintf(stream.file(), "EAL: line %d\n", i);
  LogRing::Line l;
  ASSERT_TRUE(ring.pop(l));
  EXPECT_EQ(l.level, 8);
  EXPECT_EQ(l.text, "VHOST_CONFIG: (/tmp/vm1.sock) read message 3\n");
  std::vector<std::string> rest;
  while (ring.pop(l)) {
    EXPECT_EQ(l.level, 4);
    rest.push_back(l.text);
  }
  EXPECT_EQ(rest, (std::vector<std::string>{"EAL: line 0\n", "EAL: line 1\n", "EAL: line 2\n"}));
  EXPECT_EQ(ring.dropped(), 2u);
  // The writer is never told about a drop (DPDK would otherwise retry or report it).
  EXPECT_GT(fprintf(stream.file(), "EAL: after drain\n"), 0);
  EXPECT_EQ(ferror(stream.file()), 0);
}

}  // namespace
}  // namespace rtvs
