#pragma once
// Log-linear (HDR-style) histogram of non-negative integer values (the dataplane records TSC
// ticks; conversion to time happens only when read). O(1) record, no floating point, single
// writer; readers copy it into a HistogramSnapshot, merge snapshots across PMDs and compute
// percentiles there.
//
// Buckets: values below 2^kSubBits each have their own bucket; above, every power of two is split
// into 2^(kSubBits-1) equal sub-buckets, so a bucket's width is at most 1/2^(kSubBits-1) of its
// lower bound (kSubBits = 7: 1.6%; reporting the bucket midpoint halves that).

#include <array>
#include <atomic>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <vector>

namespace rtvs {

class HistogramSnapshot;

class Histogram {
 public:
  static constexpr unsigned kSubBits = 7;
  static constexpr unsigned kMaxBits = 40;  // values >= 2^40 clamp into the last bucket
  static constexpr unsigned kSubCount = 1u << kSubBits;
  static constexpr unsigned kHalfSub = kSubCount / 2;
  static constexpr unsigned kBuckets = kSubCount + (kMaxBits - kSubBits) * kHalfSub;

  static unsigned bucketOf(uint64_t v) noexcept {
    if (v < kSubCount) return static_cast<unsigned>(v);
    if (v >= (uint64_t{1} << kMaxBits)) return kBuckets - 1;
    const unsigned msb = 63u - static_cast<unsigned>(__builtin_clzll(v));  // >= kSubBits
    const unsigned shift = msb - (kSubBits - 1);
    return kSubCount + (msb - kSubBits) * kHalfSub + static_cast<unsigned>((v >> shift) - kHalfSub);
  }
  // Smallest value that lands in bucket b; bucketHigh(b) is the first value of the next bucket
  // (2^kMaxBits for the last one, which also holds the clamped values). b >= kBuckets is read as
  // the last bucket.
  static uint64_t bucketLow(unsigned b) noexcept;
  static uint64_t bucketHigh(unsigned b) noexcept;

  // Single writer (the owning PMD thread). Relaxed load + store: no locked instructions.
  void record(uint64_t v) noexcept { recordN(v, 1); }
  void recordN(uint64_t v, uint64_t n) noexcept {
    auto& c = counts_[bucketOf(v)];
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    sum_.store(sum_.load(std::memory_order_relaxed) + v * n, std::memory_order_relaxed);
    if (v > max_.load(std::memory_order_relaxed)) max_.store(v, std::memory_order_relaxed);
  }

  // Reader side: adds this histogram's current content to `out`. Safe while the writer records:
  // the snapshot's count is the sum of the bucket counts read, so percentiles stay consistent.
  void addTo(HistogramSnapshot& out) const noexcept;

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  // No total count: readers sum the buckets (one load and store less per record).
  std::atomic<uint64_t> sum_{0}, max_{0};
};

// A plain copy for readers: merge (+=), subtract a baseline (for "clear"), percentiles.
class HistogramSnapshot {
 public:
  HistogramSnapshot();
  void merge(const HistogramSnapshot& other);
  // this - baseline, bucket by bucket (for counters cleared by keeping a baseline). The max cannot
  // be un-merged: it is kept from `this` unless the result is empty (then 0), see maxValid().
  HistogramSnapshot minus(const HistogramSnapshot& baseline) const;

  uint64_t count() const noexcept { return count_; }
  uint64_t sum() const noexcept { return sum_; }
  uint64_t max() const noexcept { return max_; }
  double mean() const noexcept;
  // p in [0, 100]: the value below which p% of recorded values fall, as the midpoint of the bucket
  // holding that rank (clamped to max()); the top rank is max() itself. 0 when empty.
  uint64_t percentile(double p) const noexcept;
  const std::vector<uint64_t>& buckets() const noexcept { return counts_; }

 private:
  friend class Histogram;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0, sum_ = 0, max_ = 0;
};

// A snapshot in nanoseconds, for people and JSON readers (latency.show, the probe tool).
struct LatencySummary {
  uint64_t count = 0;
  double mean_ns = 0, p50_ns = 0, p90_ns = 0, p99_ns = 0, p999_ns = 0, p9999_ns = 0, max_ns = 0;
};

// Converts a snapshot of tick values into nanoseconds. Throws std::invalid_argument if
// ticks_per_sec is 0.
LatencySummary summarize(const HistogramSnapshot& s, uint64_t ticks_per_sec);
double ticksToNs(uint64_t ticks, uint64_t ticks_per_sec) noexcept;

// JSON: {"count", "mean_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "p9999_ns", "max_ns"}.
void to_json(nlohmann::json& j, const LatencySummary& s);
void from_json(const nlohmann::json& j, LatencySummary& s);
// The non-empty buckets, ascending: [{"le_ns": <largest value of the bucket>, "count": n}]. The
// last bucket's bound is the recorded max when values were clamped into it.
nlohmann::json bucketsToJson(const HistogramSnapshot& s, uint64_t ticks_per_sec);

}  // namespace rtvs
