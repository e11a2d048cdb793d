#pragma once
// runs on a PMD thread: no locks, syscalls, allocation or logging
// Limits and per-PMD counters shared by the dataplane and the control thread that reads them.

#include <atomic>
#include <cstdint>

#include "switch/core/drop_reasons.h"  // DropReason, kNumDropReasons

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

// One PMD's counters for one switch port. Rx-side drops (runt, hairpin) count on the ingress port,
// tx-side drops on the egress port. tx_retries: transmit attempts that offered frames again which
// an earlier attempt had left in the PMD's tx buffer; tx_deferred: attempts not made because
// another PMD held the shared tx queue (the frames waited in the buffer).
struct alignas(64) PortCounters {
  Counter rx_packets, rx_bytes, tx_packets, tx_bytes, tx_retries, tx_deferred;
  Counter drops[kNumDropReasons];
};

}  // namespace rtvs
