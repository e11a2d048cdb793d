#include "switch/core/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

namespace rtvs {
namespace {

// A bucket spans at most 1/kHalfSub of its lower bound; the midpoint reported by percentile() is
// therefore within that of any value in the bucket. The product asks for 3%.
constexpr double kBound = 1.0 / Histogram::kHalfSub;
static_assert(kBound <= 0.03);

constexpr double kPercentiles[] = {0, 1, 50, 90, 99, 99.9, 99.99, 100};

uint64_t exactPercentile(std::vector<uint64_t> v, double p) {
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<uint64_t>(std::ceil(p * static_cast<double>(v.size()) / 100.0));
  return v[std::clamp<uint64_t>(rank, 1, v.size()) - 1];
}

HistogramSnapshot snapshotOf(const std::vector<uint64_t>& values) {
  auto h = std::make_unique<Histogram>();
  for (uint64_t v : values) h->record(v);
  HistogramSnapshot s;
  h->addTo(s);
  return s;
}

void expectPercentilesClose(const std::vector<uint64_t>& values) {
  const HistogramSnapshot s = snapshotOf(values);
  ASSERT_EQ(s.count(), values.size());
  for (double p : kPercentiles) {
    const auto want = static_cast<double>(exactPercentile(values, p));
    const auto got = static_cast<double>(s.percentile(p));
    EXPECT_LE(std::fabs(got - want), kBound * want + 0.5) << "p" << p << " want " << want;
  }
  EXPECT_EQ(s.max(), *std::max_element(values.begin(), values.end()));
  EXPECT_EQ(s.percentile(100), s.max());
}

TEST(Histogram, BucketsContiguousMonotonicAndNarrow) {
  EXPECT_EQ(Histogram::bucketLow(0), 0u);
  for (unsigned b = 0; b < Histogram::kBuckets; ++b) {
    const uint64_t low = Histogram::bucketLow(b), high = Histogram::bucketHigh(b);
    ASSERT_LT(low, high) << b;
    if (b + 1 < Histogram::kBuckets) {
      ASSERT_EQ(high, Histogram::bucketLow(b + 1)) << b;
    }
    ASSERT_EQ(Histogram::bucketOf(low), b);
    ASSERT_EQ(Histogram::bucketOf(high - 1), b);
    if (b >= Histogram::kSubCount) {
      ASSERT_LE(static_cast<double>(high - low) / static_cast<double>(low), kBound) << b;
    } else {
      ASSERT_EQ(high - low, 1u) << b;  // exact below kSubCount
    }
  }
  EXPECT_EQ(Histogram::bucketHigh(Histogram::kBuckets - 1), uint64_t{1} << Histogram::kMaxBits);
}

TEST(Histogram, RangeCoversOneSecondAtFourGHz) {
  // 50 ns at 1 GHz lands in an exact bucket; 1 s at 4 GHz is below the clamp.
  EXPECT_LT(Histogram::bucketOf(50), Histogram::kSubCount);
  EXPECT_LT(Histogram::bucketOf(4'000'000'000), Histogram::kBuckets - 1);
  EXPECT_EQ(Histogram::bucketOf(~uint64_t{0}), Histogram::kBuckets - 1);
  EXPECT_EQ(Histogram::bucketOf(uint64_t{1} << Histogram::kMaxBits), Histogram::kBuckets - 1);
  EXPECT_EQ(Histogram::bucketLow(Histogram::kBuckets + 5),
            Histogram::bucketLow(Histogram::kBuckets - 1));
}

TEST(Histogram, BucketOfAtPowersOfTwo) {
  for (unsigned bit = 0; bit < Histogram::kMaxBits; ++bit) {
    const uint64_t v = uint64_t{1} << bit;
    const unsigned b = Histogram::bucketOf(v);
    EXPECT_EQ(Histogram::bucketLow(b), v) << bit;
    if (v > 1) {
      EXPECT_EQ(Histogram::bucketOf(v - 1), b - 1) << bit;
    }
  }
}

TEST(Histogram, EmptySnapshot) {
  HistogramSnapshot s;
  EXPECT_EQ(s.count(), 0u);
  EXPECT_EQ(s.max(), 0u);
  EXPECT_EQ(s.mean(), 0.0);
  for (double p : kPercentiles) EXPECT_EQ(s.percentile(p), 0u);
  EXPECT_EQ(s.buckets().size(), Histogram::kBuckets);
}

TEST(Histogram, SingleValue) {
  const HistogramSnapshot s = snapshotOf({123'456});
  for (double p : kPercentiles) {
    EXPECT_NEAR(static_cast<double>(s.percentile(p)), 123'456.0, kBound * 123'456.0);
  }
  EXPECT_EQ(s.max(), 123'456u);
  EXPECT_EQ(s.mean(), 123'456.0);
}

TEST(Histogram, Constant) {
  auto h = std::make_unique<Histogram>();
  h->recordN(7'777, 1000);
  HistogramSnapshot s;
  h->addTo(s);
  for (double p : kPercentiles) {
    EXPECT_NEAR(static_cast<double>(s.percentile(p)), 7'777.0, 7'777.0 * kBound) << p;
  }
  EXPECT_EQ(s.percentile(100), 7'777u);
  EXPECT_EQ(s.count(), 1000u);
  EXPECT_EQ(s.sum(), 7'777'000u);
}

TEST(Histogram, SmallValuesAreExact) {
  std::vector<uint64_t> v;
  for (uint64_t i = 0; i < Histogram::kSubCount; ++i) v.push_back(i);
  const HistogramSnapshot s = snapshotOf(v);
  for (double p : kPercentiles) EXPECT_EQ(s.percentile(p), exactPercentile(v, p)) << p;
}

TEST(Histogram, Uniform) {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<uint64_t> d(200, 4'000'000);
  std::vector<uint64_t> v(200'000);
  for (auto& x : v) x = d(rng);
  expectPercentilesClose(v);
}

TEST(Histogram, Exponential) {
  std::mt19937_64 rng(2);
  std::exponential_distribution<double> d(1.0 / 5000.0);
  std::vector<uint64_t> v(200'000);
  for (auto& x : v) x = 200 + static_cast<uint64_t>(d(rng));
  expectPercentilesClose(v);
}

TEST(Histogram, Bimodal) {
  // Fast path ~1 us with a 1% tail of ~2 ms at 2.5 GHz (e.g. a preempted PMD).
  std::mt19937_64 rng(3);
  std::normal_distribution<double> fast(2'500, 100), slow(5'000'000, 200'000);
  std::bernoulli_distribution tail(0.01);
  std::vector<uint64_t> v(200'000);
  for (auto& x : v) x = static_cast<uint64_t>(std::max(1.0, tail(rng) ? slow(rng) : fast(rng)));
  expectPercentilesClose(v);
}

TEST(Histogram, OneSecondAtFourGHz) {
  expectPercentilesClose({200, 4'000'000'000, 4'000'000'000, 1'000});
}

TEST(Histogram, ClampedValuesKeepTheirMax) {
  const uint64_t huge = uint64_t{1} << 50;
  const HistogramSnapshot s = snapshotOf({10, huge});
  EXPECT_EQ(s.buckets()[Histogram::kBuckets - 1], 1u);
  EXPECT_EQ(s.max(), huge);
  EXPECT_EQ(s.percentile(0), 10u);
}

TEST(Histogram, MeanAndSum) {
  const HistogramSnapshot s = snapshotOf({100, 200, 300, 1'000});
  EXPECT_EQ(s.sum(), 1'600u);
  EXPECT_DOUBLE_EQ(s.mean(), 400.0);
}

TEST(Histogram, MergeOfSeveralEqualsOneHistogramOfAll) {
  std::mt19937_64 rng(4);
  std::uniform_int_distribution<uint64_t> d(1, 10'000'000);
  std::vector<uint64_t> all;
  HistogramSnapshot merged;
  for (int pmd = 0; pmd < 4; ++pmd) {
    auto h = std::make_unique<Histogram>();
    for (int i = 0; i < 10'000 * (pmd + 1); ++i) {
      const uint64_t v = d(rng) / static_cast<uint64_t>(pmd + 1);
      h->record(v);
      all.push_back(v);
    }
    HistogramSnapshot one;
    h->addTo(one);
    merged.merge(one);
  }
  const HistogramSnapshot direct = snapshotOf(all);
  EXPECT_EQ(merged.buckets(), direct.buckets());
  EXPECT_EQ(merged.count(), all.size());
  EXPECT_EQ(merged.sum(), direct.sum());
  EXPECT_EQ(merged.max(), direct.max());
  for (double p : kPercentiles) EXPECT_EQ(merged.percentile(p), direct.percentile(p));
}

TEST(Histogram, AddToAccumulatesAcrossHistograms) {
  auto a = std::make_unique<Histogram>(), b = std::make_unique<Histogram>();
  a->record(10);
  b->record(1'000'000);
  HistogramSnapshot s;
  a->addTo(s);
  b->addTo(s);
  EXPECT_EQ(s.count(), 2u);
  EXPECT_EQ(s.max(), 1'000'000u);
  EXPECT_EQ(s.sum(), 1'000'010u);
}

TEST(Histogram, MinusBaseline) {
  auto h = std::make_unique<Histogram>();
  for (uint64_t v : {100, 5'000, 900'000}) h->record(v);
  HistogramSnapshot baseline;
  h->addTo(baseline);
  for (uint64_t v : {300, 300, 7'000}) h->record(v);
  HistogramSnapshot now;
  h->addTo(now);

  const HistogramSnapshot d = now.minus(baseline);
  EXPECT_EQ(d.count(), 3u);
  EXPECT_EQ(d.sum(), 7'600u);
  EXPECT_EQ(d.buckets(), snapshotOf({300, 300, 7'000}).buckets());
  EXPECT_NEAR(static_cast<double>(d.percentile(50)), 300.0, 300.0 * kBound);
  EXPECT_EQ(d.max(), 900'000u);  // documented: the max cannot be un-merged

  const HistogramSnapshot none = now.minus(now);
  EXPECT_EQ(none.count(), 0u);
  EXPECT_EQ(none.sum(), 0u);
  EXPECT_EQ(none.max(), 0u);
  EXPECT_EQ(none.percentile(99), 0u);
}

TEST(Histogram, MinusSaturatesWhenBaselineIsAhead) {
  const HistogramSnapshot small = snapshotOf({100}), big = snapshotOf({100, 100, 2'000});
  const HistogramSnapshot d = small.minus(big);
  EXPECT_EQ(d.count(), 0u);
  EXPECT_EQ(d.sum(), 0u);
  EXPECT_EQ(d.max(), 0u);
}

TEST(Histogram, ConcurrentWriterAndReader) {
  auto h = std::make_unique<Histogram>();
  constexpr uint64_t kN = 2'000'000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint64_t i = 0; i < kN; ++i) h->record(100 + (i * 7919) % 1'000'000);
    done.store(true, std::memory_order_release);
  });
  HistogramSnapshot prev;
  int snapshots = 0;
  while (!done.load(std::memory_order_acquire) || snapshots == 0) {
    HistogramSnapshot s;
    h->addTo(s);
    ASSERT_GE(s.count(), prev.count());
    for (unsigned b = 0; b < Histogram::kBuckets; ++b) {
      ASSERT_GE(s.buckets()[b], prev.buckets()[b]) << b;
    }
    s.percentile(99);  // consistent by construction: count is the sum of the buckets
    prev = std::move(s);
    ++snapshots;
  }
  writer.join();
  HistogramSnapshot final;
  h->addTo(final);
  EXPECT_EQ(final.count(), kN);
  uint64_t sum = 0;
  for (uint64_t i = 0; i < kN; ++i) sum += 100 + (i * 7919) % 1'000'000;
  EXPECT_EQ(final.sum(), sum);
  EXPECT_EQ(final.max(), 100u + 999'999u);
  EXPECT_GT(snapshots, 0);
}

TEST(Histogram, SummarizeConvertsTicksToNanoseconds) {
  // 2.5 GHz: 1 tick = 0.4 ns.
  auto h = std::make_unique<Histogram>();
  h->recordN(2'500, 99);  // 1 us
  h->record(25'000'000);  // 10 ms
  HistogramSnapshot s;
  h->addTo(s);
  const LatencySummary r = summarize(s, 2'500'000'000);
  EXPECT_EQ(r.count, 100u);
  EXPECT_NEAR(r.p50_ns, 1'000, 1'000 * kBound);
  EXPECT_NEAR(r.p90_ns, 1'000, 1'000 * kBound);
  EXPECT_NEAR(r.p99_ns, 1'000, 1'000 * kBound);
  EXPECT_NEAR(r.p999_ns, 10'000'000, 10'000'000 * kBound);
  EXPECT_NEAR(r.p9999_ns, 10'000'000, 10'000'000 * kBound);
  EXPECT_DOUBLE_EQ(r.max_ns, 10'000'000);
  EXPECT_DOUBLE_EQ(r.mean_ns, (99 * 1'000.0 + 10'000'000.0) / 100);
  EXPECT_DOUBLE_EQ(ticksToNs(3, 3'000'000'000), 1.0);
  EXPECT_THROW(summarize(s, 0), std::invalid_argument);

  const LatencySummary empty = summarize(HistogramSnapshot{}, 1'000'000'000);
  EXPECT_EQ(empty.count, 0u);
  EXPECT_EQ(empty.max_ns, 0.0);
}

TEST(Histogram, SummaryJsonRoundTrip) {
  const LatencySummary r{10, 1.5, 1, 2, 3, 4, 5, 6};
  const nlohmann::json j = r;
  EXPECT_EQ(j.dump(),
            R"({"count":10,"max_ns":6.0,"mean_ns":1.5,"p50_ns":1.0,"p90_ns":2.0,"p9999_ns":5.0,)"
            R"("p999_ns":4.0,"p99_ns":3.0})");
  const auto back = j.get<LatencySummary>();
  EXPECT_EQ(back.count, 10u);
  EXPECT_EQ(back.mean_ns, 1.5);
  EXPECT_EQ(back.p9999_ns, 5.0);
  EXPECT_EQ(back.max_ns, 6.0);
  EXPECT_THROW(nlohmann::json({{"count", 1}}).get<LatencySummary>(), nlohmann::json::exception);
}

TEST(Histogram, BucketsJsonListsNonEmptyBuckets) {
  auto h = std::make_unique<Histogram>();
  h->recordN(50, 3);
  h->record(1'000);  // bucket [1000, 1008)
  h->record(uint64_t{1} << 45);
  HistogramSnapshot s;
  h->addTo(s);
  const nlohmann::json j = bucketsToJson(s, 1'000'000'000);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["le_ns"], 50.0);
  EXPECT_EQ(j[0]["count"], 3);
  EXPECT_EQ(j[1]["le_ns"], 1'007.0);
  EXPECT_EQ(j[1]["count"], 1);
  EXPECT_EQ(j[2]["le_ns"], static_cast<double>(uint64_t{1} << 45));
  EXPECT_EQ(bucketsToJson(HistogramSnapshot{}, 1), nlohmann::json::array());
  EXPECT_THROW(bucketsToJson(s, 0), std::invalid_argument);
}

}  // namespace
}  // namespace rtvs
