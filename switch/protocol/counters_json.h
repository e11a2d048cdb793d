#pragma once
// The counters of counters.h as JSON members, under their keys (docs/api.md).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>

#include "switch/core/counters.h"

namespace rtvs {

// Sets o[info[i].key] = values[i] for each counter that has a key.
void countersJson(std::span<const CounterInfo> info, const uint64_t* values, nlohmann::json& o);

// A port's counters (stats.show, port.show's "stats"): every port counter; the drops are the
// caller's (they gather more than the drop reasons).
inline void portCountersJson(const PortTotals& t, nlohmann::json& o) {
  countersJson(kPortCounterInfo, t.n, o);
}

// A PMD's own counters that have a JSON key (pmd.show), by PmdCounter.
inline void pmdCountersJson(const uint64_t (&values)[kNumPmdCounters], nlohmann::json& o) {
  countersJson(kPmdCounterInfo, values, o);
}

}  // namespace rtvs
