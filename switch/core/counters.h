#pragma once
// The switch's counters, defined once, as drop_reasons.h defines the drop reasons. Each list gives
// the counter's id (an enum), its name (the dataplane's field and the JSON key), vswitchctl's
// column heading, the Prometheus family and its help. From the lists come the PMD's counter
// fields (dp_types.h, pmd.h), the reader's totals (PortTotals), the JSON (protocol/
// counters_json.h), the metrics (counter_metrics.h) and vswitchctl's columns. Add a counter here
// and where it is counted, nowhere else. "" = not shown there.

#include <cstddef>
#include <cstdint>

#include "switch/core/drop_reasons.h"  // kNumDropReasons

// Counted by the PMDs, per switch port, in PortCounters (dp_types.h). Rx counts on the ingress
// port, tx on the egress port. X(id, name, column, metric, help)
#define RTVS_PORT_PMD_COUNTERS(X)                                                                 \
  X(kRxPackets, rx_packets, "RX-PKTS", "rtvswitch_port_rx_packets_total",                         \
    "Frames received on the port.")                                                               \
  X(kRxBytes, rx_bytes, "RX-BYTES", "rtvswitch_port_rx_bytes_total",                              \
    "Bytes received on the port.")                                                                \
  X(kTxPackets, tx_packets, "TX-PKTS", "rtvswitch_port_tx_packets_total",                         \
    "Frames handed to the port for sending.")                                                     \
  X(kTxBytes, tx_bytes, "TX-BYTES", "rtvswitch_port_tx_bytes_total",                              \
    "Bytes handed to the port for sending.")                                                      \
  X(kTxRetries, tx_retries, "TX-RETRIES", "rtvswitch_port_tx_retries_total",                      \
    "Transmit attempts that offered again frames an earlier attempt on the full egress queue "    \
    "left in a PMD's tx buffer.")                                                                 \
  X(kTxDeferred, tx_deferred, "TX-DEFERRED", "rtvswitch_port_tx_deferred_total",                  \
    "Transmit attempts put off to the next PMD iteration because another PMD held the shared tx " \
    "queue.")

// Every port counter a reader reports (stats.show, metrics): the PMDs' above, then those counted
// elsewhere. guest_notifications: the vhost library's per-virtqueue eventfd writes (each one a
// syscall on the PMD), read by the control thread; over_budget: PmdStats::over_budget, by egress
// port. The metrics render the port's drops between these two (switch_metrics.cpp).
#define RTVS_PORT_COUNTERS(X)                                                                   \
  RTVS_PORT_PMD_COUNTERS(X)                                                                     \
  X(kGuestNotifications, guest_notifications, "GUEST-NOTIFS",                                   \
    "rtvswitch_port_guest_notifications_total",                                                 \
    "Guest notifications (eventfd writes by the PMD that wake an interrupt-driven guest) on a " \
    "vhost port.")                                                                              \
  X(kOverBudget, over_budget, "OVER-BUDGET", "rtvswitch_port_over_budget_packets_total",        \
    "Frames whose residence time exceeded the port's latency budget.")

// A PMD's own counters, in PmdStats (pmd.h), all written by the PMD only. Their metrics are in
// seconds (the counters in TSC ticks), counters when the name ends in _total, else gauges.
// X(id, field, JSON key, column, metric, help)
#define RTVS_PMD_COUNTERS(X)                                                                   \
  X(kIterations, iterations, "iterations", "ITERATIONS", "", "Loop iterations since start.")   \
  X(kBusyCycles, busy_cycles, "", "", "rtvswitch_pmd_busy_seconds_total",                      \
    "Time the PMD spent in iterations that received frames.")                                  \
  X(kIdleCycles, idle_cycles, "", "", "rtvswitch_pmd_idle_seconds_total",                      \
    "Time the PMD spent in iterations that received nothing.")                                 \
  X(kLearnPosted, learn_posted, "learn_events", "", "",                                        \
    "MAC-learn events posted on the PMD's learn ring.")                                        \
  X(kLearnRingFull, learn_ring_full, "learn_events_dropped", "", "",                           \
    "MAC-learn events dropped because the learn ring was full.")                               \
  X(kVlanCopies, vlan_copies, "vlan_copies", "", "",                                           \
    "Flooded frames whose egress ports wanted both tagged and untagged copies: one mbuf copy " \
    "each.")                                                                                   \
  X(kLongestGap, longest_gap, "", "", "rtvswitch_pmd_longest_stall_seconds",                   \
    "Longest poll gap seen since start.")                                                      \
  X(kLongestGapTsc, longest_gap_tsc, "", "", "", "The TSC at the end of the longest poll gap.")

namespace rtvs {

enum PortCounter : unsigned {
#define RTVS_PORT_COUNTER_ENUM(id, name, column, metric, help) id,
  RTVS_PORT_COUNTERS(RTVS_PORT_COUNTER_ENUM)
#undef RTVS_PORT_COUNTER_ENUM
      kNumPortCounters
};

// The first kNumPmdPortCounters port counters are the PMDs' (PortCounters' fields): the same
// list counted in a scoped enum of its own.
enum class PmdPortCounterCount : unsigned {
#define RTVS_PORT_PMD_COUNTER_ENUM(id, name, column, metric, help) id,
  RTVS_PORT_PMD_COUNTERS(RTVS_PORT_PMD_COUNTER_ENUM)
#undef RTVS_PORT_PMD_COUNTER_ENUM
      kCount
};
inline constexpr unsigned kNumPmdPortCounters = static_cast<unsigned>(PmdPortCounterCount::kCount);

enum PmdCounter : unsigned {
#define RTVS_PMD_COUNTER_ENUM(id, field, key, column, metric, help) id,
  RTVS_PMD_COUNTERS(RTVS_PMD_COUNTER_ENUM)
#undef RTVS_PMD_COUNTER_ENUM
      kNumPmdCounters
};

// How a counter is shown: JSON key, vswitchctl column, Prometheus family and help.
struct CounterInfo {
  const char* key;
  const char* column;
  const char* metric;
  const char* help;
};

inline constexpr CounterInfo kPortCounterInfo[kNumPortCounters] = {
#define RTVS_PORT_COUNTER_INFO(id, name, column, metric, help) {#name, column, metric, help},
    RTVS_PORT_COUNTERS(RTVS_PORT_COUNTER_INFO)
#undef RTVS_PORT_COUNTER_INFO
};

inline constexpr CounterInfo kPmdCounterInfo[kNumPmdCounters] = {
#define RTVS_PMD_COUNTER_INFO(id, field, key, column, metric, help) {key, column, metric, help},
    RTVS_PMD_COUNTERS(RTVS_PMD_COUNTER_INFO)
#undef RTVS_PMD_COUNTER_INFO
};

// A port's counters summed over PMDs (and the other sources), as a reader reports them: by
// PortCounter, and the drops by DropReason.
struct PortTotals {
  uint64_t n[kNumPortCounters] = {};
  uint64_t drops[kNumDropReasons] = {};

  uint64_t operator[](PortCounter c) const { return n[c]; }
  uint64_t& operator[](PortCounter c) { return n[c]; }
  PortTotals minus(const PortTotals& b) const {
    PortTotals r;
    for (unsigned i = 0; i < kNumPortCounters; ++i) r.n[i] = n[i] - b.n[i];
    for (unsigned i = 0; i < kNumDropReasons; ++i) r.drops[i] = drops[i] - b.drops[i];
    return r;
  }
  uint64_t dropSum() const {
    uint64_t s = 0;
    for (uint64_t d : drops) s += d;
    return s;
  }
};

}  // namespace rtvs
