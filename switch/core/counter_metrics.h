#pragma once
// The counters of counters.h as Prometheus families (switch_metrics.cpp renders them).

#include <cstdint>
#include <span>
#include <vector>

#include "switch/core/counters.h"
#include "switch/core/metrics.h"

namespace rtvs {

// One family per counter, indexed like `info`: named and helped as the list says, a counter when
// the name ends in _total, else a gauge; a counter without a metric gets a family without a name.
std::vector<MetricFamily> counterFamilies(std::span<const CounterInfo> info);

// One sample per family that has a name: values[i] / divisor (e.g. ticks per second), labelled
// `labels`.
void addCounterSamples(std::vector<MetricFamily>& families, const MetricLabels& labels,
                       const uint64_t* values, double divisor = 1.0);

// Moves families [first, last) that have a name to the end of `out`, in order.
void appendFamilies(std::vector<MetricFamily>& out, std::vector<MetricFamily>& families,
                    unsigned first, unsigned last);

}  // namespace rtvs
