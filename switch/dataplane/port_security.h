#pragma once
// runs on a PMD thread: no locks, syscalls, allocation or logging
// Storm control: a token bucket per (PMD, port, class) fed from the TSC the PMD reads once per
// burst. Pure arithmetic (no DPDK), unit-tested.

#include <algorithm>
#include <cstdint>

namespace rtvs {

class StormBucket {
 public:
  // Bucket depth in packets: 20 ms at `rate`, at least one burst of 32.
  static uint64_t depth(uint64_t rate_pps) noexcept {
    return std::max<uint64_t>(32, rate_pps / 50);
  }

  // Takes one packet's token at time `now` (ticks of `hz`) if the rate `rate_pps` allows it.
  // Tokens are kept in units of 1/hz packet, so refilling is one multiplication.
  bool take(uint64_t now, uint64_t rate_pps, uint64_t hz) noexcept {
    const uint64_t cap = depth(rate_pps) * hz;
    const uint64_t elapsed = now - last_;
    last_ = now;
    // A long pause (or the first use) fills the bucket; no overflow for rates up to 1e9 pps.
    if (elapsed >= hz || !started_) {
      tokens_ = cap;
      started_ = true;
    } else {
      tokens_ = std::min(cap, tokens_ + elapsed * rate_pps);
    }
    if (tokens_ < hz) return false;
    tokens_ -= hz;
    return true;
  }

 private:
  uint64_t tokens_ = 0;
  uint64_t last_ = 0;
  bool started_ = false;
};

}  // namespace rtvs
