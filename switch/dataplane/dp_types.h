#pragma once
// runs on a PMD thread: no locks, syscalls, allocation or logging
// Limits and per-PMD counters shared by the dataplane and the control thread that reads them
// (counters: dataplane: wo, ctlplane: ro).

#include <atomic>
#include <cstdint>

#include "switch/core/counters.h"  // RTVS_PORT_PMD_COUNTERS, DropReason, kNumDropReasons

namespace rtvs {

inline constexpr unsigned kMaxPorts = 256;  // switch port indices 0..kMaxPorts-1
inline constexpr unsigned kMaxPmds = 16;
inline constexpr unsigned kMaxPortQueues = 16;
inline constexpr unsigned kBurst = 32;
// Frames a PMD holds for one egress port while its queue does not take them (Pmd::TxBuf): four
// bursts, so a port that drains slowly still takes whole new bursts behind what it left.
inline constexpr unsigned kTxBufFrames = 4 * kBurst;
inline constexpr unsigned kEthHdrLen = 14;
inline constexpr unsigned kL2Overhead = 18;  // Ethernet header + one VLAN tag, no FCS

// A counter with one writer (the owning PMD): relaxed load + store, no locked instruction. Readers
// on other threads see a recent value, never a torn one.
struct Counter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n) noexcept {
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
};

// One PMD's counters for one switch port (the fields of RTVS_PORT_PMD_COUNTERS, counters.h, then
// the drops by reason): dataplane: wo (the owning PMD), ctlplane: ro. Rx-side drops (runt,
// hairpin) count on the ingress port, tx-side drops on the egress port.
struct alignas(64) PortCounters {
#define RTVS_PORT_COUNTER_FIELD(id, name, column, metric, help) Counter name;
  RTVS_PORT_PMD_COUNTERS(RTVS_PORT_COUNTER_FIELD)
#undef RTVS_PORT_COUNTER_FIELD
  Counter drops[kNumDropReasons];
};

// A reader's way to the field of each of the PMDs' port counters, by PortCounter.
inline constexpr Counter PortCounters::*kPortCounterField[kNumPmdPortCounters] = {
#define RTVS_PORT_COUNTER_MEMBER(id, name, column, metric, help) &PortCounters::name,
    RTVS_PORT_PMD_COUNTERS(RTVS_PORT_COUNTER_MEMBER)
#undef RTVS_PORT_COUNTER_MEMBER
};

}  // namespace rtvs
