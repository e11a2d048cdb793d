#include "switch/core/histogram.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace rtvs {

namespace {

// Power-of-two exponent of the width of bucket b (0 for the exact buckets below kSubCount).
unsigned widthShift(unsigned b) noexcept {
  if (b < Histogram::kSubCount) return 0;
  return (b - Histogram::kSubCount) / Histogram::kHalfSub + 1;
}

}  // namespace

uint64_t Histogram::bucketLow(unsigned b) noexcept {
  b = std::min(b, kBuckets - 1);
  if (b < kSubCount) return b;
  const unsigned sub = (b - kSubCount) % kHalfSub;
  return uint64_t{kHalfSub + sub} << widthShift(b);
}

uint64_t Histogram::bucketHigh(unsigned b) noexcept {
  b = std::min(b, kBuckets - 1);
  return bucketLow(b) + (uint64_t{1} << widthShift(b));
}

void Histogram::addTo(HistogramSnapshot& out) const noexcept {
  uint64_t total = 0;
  for (unsigned b = 0; b < kBuckets; ++b) {
    const uint64_t c = counts_[b].load(std::memory_order_relaxed);
    out.counts_[b] += c;
    total += c;
  }
  out.count_ += total;
  out.sum_ += sum_.load(std::memory_order_relaxed);
  out.max_ = std::max(out.max_, max_.load(std::memory_order_relaxed));
}

HistogramSnapshot::HistogramSnapshot() : counts_(Histogram::kBuckets, 0) {}

void HistogramSnapshot::merge(const HistogramSnapshot& other) {
  for (unsigned b = 0; b < Histogram::kBuckets; ++b) counts_[b] += other.counts_[b];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

HistogramSnapshot HistogramSnapshot::minus(const HistogramSnapshot& baseline) const {
  // Saturate: a baseline taken from a source that has since gone (a removed PMD) may exceed the
  // current content; a count never goes negative.
  HistogramSnapshot r;
  for (unsigned b = 0; b < Histogram::kBuckets; ++b) {
    r.counts_[b] = counts_[b] > baseline.counts_[b] ? counts_[b] - baseline.counts_[b] : 0;
    r.count_ += r.counts_[b];
  }
  r.sum_ = r.count_ != 0 && sum_ > baseline.sum_ ? sum_ - baseline.sum_ : 0;
  r.max_ = r.count_ != 0 ? max_ : 0;
  return r;
}

double HistogramSnapshot::mean() const noexcept {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
}

uint64_t HistogramSnapshot::percentile(double p) const noexcept {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // Nearest rank: the smallest recorded value with at least p% of the values at or below it.
  const double want = std::ceil(p * static_cast<double>(count_) / 100.0);
  const uint64_t rank = std::clamp<uint64_t>(static_cast<uint64_t>(want), 1, count_);
  if (rank == count_) return max_;
  uint64_t seen = 0;
  for (unsigned b = 0; b < Histogram::kBuckets; ++b) {
    seen += counts_[b];
    if (seen >= rank) {
      const uint64_t low = Histogram::bucketLow(b);
      const uint64_t mid = low + (Histogram::bucketHigh(b) - low) / 2;
      return std::min(mid, max_);
    }
  }
  return max_;  // unreachable while count_ is the sum of the buckets
}

double ticksToNs(uint64_t ticks, uint64_t ticks_per_sec) noexcept {
  return static_cast<double>(ticks) * 1e9 / static_cast<double>(ticks_per_sec);
}

LatencySummary summarize(const HistogramSnapshot& s, uint64_t ticks_per_sec) {
  if (ticks_per_sec == 0) throw std::invalid_argument("ticks_per_sec: must be > 0");
  LatencySummary r;
  r.count = s.count();
  r.mean_ns = s.mean() * 1e9 / static_cast<double>(ticks_per_sec);
  r.p50_ns = ticksToNs(s.percentile(50), ticks_per_sec);
  r.p90_ns = ticksToNs(s.percentile(90), ticks_per_sec);
  r.p99_ns = ticksToNs(s.percentile(99), ticks_per_sec);
  r.p999_ns = ticksToNs(s.percentile(99.9), ticks_per_sec);
  r.p9999_ns = ticksToNs(s.percentile(99.99), ticks_per_sec);
  r.max_ns = ticksToNs(s.max(), ticks_per_sec);
  return r;
}

void to_json(nlohmann::json& j, const LatencySummary& s) {
  j = nlohmann::json{{"count", s.count},       {"mean_ns", s.mean_ns}, {"p50_ns", s.p50_ns},
                     {"p90_ns", s.p90_ns},     {"p99_ns", s.p99_ns},   {"p999_ns", s.p999_ns},
                     {"p9999_ns", s.p9999_ns}, {"max_ns", s.max_ns}};
}

void from_json(const nlohmann::json& j, LatencySummary& s) {
  j.at("count").get_to(s.count);
  j.at("mean_ns").get_to(s.mean_ns);
  j.at("p50_ns").get_to(s.p50_ns);
  j.at("p90_ns").get_to(s.p90_ns);
  j.at("p99_ns").get_to(s.p99_ns);
  j.at("p999_ns").get_to(s.p999_ns);
  j.at("p9999_ns").get_to(s.p9999_ns);
  j.at("max_ns").get_to(s.max_ns);
}

nlohmann::json bucketsToJson(const HistogramSnapshot& s, uint64_t ticks_per_sec) {
  if (ticks_per_sec == 0) throw std::invalid_argument("ticks_per_sec: must be > 0");
  nlohmann::json out = nlohmann::json::array();
  const auto& counts = s.buckets();
  for (unsigned b = 0; b < Histogram::kBuckets; ++b) {
    if (counts[b] == 0) continue;
    uint64_t le = Histogram::bucketHigh(b) - 1;
    if (b == Histogram::kBuckets - 1) le = std::max(le, s.max());
    out.push_back({{"le_ns", ticksToNs(le, ticks_per_sec)}, {"count", counts[b]}});
  }
  return out;
}

}  // namespace rtvs
