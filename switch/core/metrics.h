#pragma once
// Prometheus text exposition (format 0.0.4). The daemon fills a vector of MetricFamily on every
// scrape; renderPrometheus() is a pure function of it, so the output is golden-file tested.

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "switch/core/histogram.h"

namespace rtvs {

enum class MetricType { kCounter, kGauge, kHistogram };

using MetricLabels = std::vector<std::pair<std::string, std::string>>;  // name, value

struct MetricSample {
  MetricLabels labels;
  double value = 0;
};

// A histogram of tick values, rendered in seconds.
struct MetricHistogram {
  MetricLabels labels;
  HistogramSnapshot snapshot;
  uint64_t ticks_per_sec = 0;
};

// Counters and gauges use `samples`; histograms use `histograms`.
struct MetricFamily {
  std::string name;  // rtvswitch_<subsystem>_<name>_<unit>; counters end in _total
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<MetricSample> samples;
  std::vector<MetricHistogram> histograms;
};

// The `le` bounds of every rendered histogram, in nanoseconds (+Inf is implied). A recorded
// bucket counts under the smallest bound >= its representative value (the same midpoint that
// HistogramSnapshot::percentile reports), so a count can sit one bound off within 1.6%.
inline constexpr std::array<uint64_t, 18> kLatencyBoundsNs = {
    100,       250,       500,       1'000,      2'500,       5'000,
    10'000,    25'000,    50'000,    100'000,    250'000,     500'000,
    1'000'000, 2'500'000, 5'000'000, 10'000'000, 100'000'000, 1'000'000'000};

// Throws std::invalid_argument naming the family and the reason when the model is invalid: a
// name not of the form rtvswitch_<subsystem>_<name>_<unit> (lowercase [a-z0-9] words) or, for an
// info gauge, rtvswitch_<subsystem>[_<name>]_info, a counter
// not ending in _total, a histogram not ending in _seconds, a reserved suffix, a duplicate family,
// a bad or duplicate label name, a duplicate label set, a negative or NaN counter, samples of the
// wrong kind for the type, or ticks_per_sec 0.
std::string renderPrometheus(const std::vector<MetricFamily>& families);

// Throws std::invalid_argument if `name` is not a valid family name for `type`.
void validateMetricName(const std::string& name, MetricType type);

}  // namespace rtvs
