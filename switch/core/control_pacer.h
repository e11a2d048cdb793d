#pragma once
// How long the control thread may sleep between two rounds when nothing wakes it (a control
// client, a link change, a metrics scrape and a stop signal do). PMDs cannot make a syscall to
// wake it, so their learn events are picked up by this timer: every min_ms while they come,
// backing off by doubling to max_ms when rounds find nothing to do.

#include <algorithm>

namespace rtvs {

class ControlPacer {
 public:
  static constexpr int kMinMs = 1;    // while learn events or link changes arrive
  static constexpr int kMaxMs = 100;  // idle: 10 wakeups/s, enough for 1 s ageing and alarms

  explicit ControlPacer(int min_ms = kMinMs, int max_ms = kMaxMs)
      : min_ms_(std::max(1, min_ms)), max_ms_(std::max(min_ms_, max_ms)), next_ms_(min_ms_) {}

  // The epoll_wait timeout for the coming round.
  int timeoutMs() const noexcept { return next_ms_; }
  // After a round: did it find work (learn events, link changes)?
  void roundDone(bool busy) noexcept {
    next_ms_ = busy ? min_ms_ : std::min(max_ms_, next_ms_ * 2);
  }

 private:
  int min_ms_, max_ms_, next_ms_;
};

}  // namespace rtvs
