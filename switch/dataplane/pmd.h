#pragma once
// runs on a PMD thread: no locks, syscalls, allocation or logging
// A poll-mode thread: polls the rx queues the current snapshot assigns to it, switches each burst
// through the MAC table and transmits, then reports an RCU quiescent state. Everything it writes
// (counters, histograms, its learn ring) has it as the only writer.

#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "switch/core/histogram.h"
#include "switch/core/mac_table.h"
#include "switch/dataplane/dp_types.h"
#include "switch/dataplane/port_security.h"
#include "switch/dataplane/snapshot.h"

struct rte_mbuf;

namespace rtvs {

struct PmdStats {
  PortCounters ports[kMaxPorts];
  Counter iterations, busy_cycles, idle_cycles;
  Counter learn_posted, learn_ring_full;
  // Flooded frames whose egress ports wanted both tagged and untagged copies: one mbuf copy each.
  Counter vlan_copies;
  Counter rxq_busy_cycles[kMaxPorts][kMaxPortQueues];
  Counter over_budget[kMaxPorts];        // packets whose residence exceeded the egress budget
  Counter worst_over_budget[kMaxPorts];  // largest residence over budget, ticks
  Counter longest_gap, longest_gap_tsc;  // longest poll gap (ticks) and the TSC at its end
  // Residence time (rx burst stamp to handing to the egress port), by ingress and egress port.
  Histogram residence_in[kMaxPorts];
  Histogram residence_out[kMaxPorts];
  Histogram iteration;  // wall time of one loop iteration
  Histogram poll_gap;   // time between two polls of the same queue
};

// A learn event on the PMD → control ring (an rte_ring of 16-byte elements).
struct LearnEvent {
  MacAddr mac;
  uint16_t vlan;
  uint16_t port;
  uint32_t pad;
};
static_assert(sizeof(LearnEvent) == 16);

class Pmd {
 public:
  struct Shared {
    const std::atomic<const Snapshot*>* snapshot;
    MacTable* macs;
    rte_rcu_qsbr* rcu;
    uint64_t tsc_hz;
    bool accounting;  // record residence, iteration and poll-gap histograms
  };
  Pmd(unsigned id, unsigned core, const Shared& shared, rte_ring* learn_ring);

  // The thread body (launched on an EAL lcore). Returns when stop() was called.
  int run() noexcept;
  void stop() noexcept { stop_.store(true, std::memory_order_relaxed); }

  unsigned id() const noexcept { return id_; }
  unsigned core() const noexcept { return core_; }
  const PmdStats& stats() const noexcept { return *stats_; }
  rte_ring* learnRing() const noexcept { return learn_ring_; }
  // Set by the thread itself when it starts: 0 or the errno of applying SCHED_FIFO.
  void setPriority(int prio) noexcept { priority_ = prio; }
  int priorityError() const noexcept { return prio_error_.load(std::memory_order_acquire); }
  bool started() const noexcept { return started_.load(std::memory_order_acquire); }

  // Tests only (tests/dataplane/pmd_burst_test.cpp): switches and transmits one burst received
  // on `q` as run() does, on the calling thread. Never while run() is active.
  void processBurstForTest(const Snapshot& s, const RxqRef& q, rte_mbuf** pkts,
                           uint16_t n) noexcept;

 private:
  void processBurst(const Snapshot& s, const RxqRef& q, rte_mbuf** pkts, uint16_t n,
                    uint64_t rx_tsc) noexcept;
  void enqueueTx(uint16_t port, rte_mbuf* m) noexcept;
  void flushTx(const Snapshot& s, uint16_t ingress, uint64_t rx_tsc) noexcept;
  void postLearn(uint16_t vlan, MacAddr mac, uint16_t port, uint64_t now) noexcept;
  void flood(const Snapshot& s, rte_mbuf* m, uint16_t in, uint16_t vlan, bool frame_tagged,
             uint32_t untagged_len) noexcept;

  const unsigned id_, core_;
  const Shared shared_;
  rte_ring* const learn_ring_;
  std::unique_ptr<PmdStats> stats_;
  std::atomic<bool> stop_{false}, started_{false};
  std::atomic<int> prio_error_{0};
  int priority_ = 0;

  // PMD-private working state.
  struct TxBuf {
    uint16_t n = 0;
    rte_mbuf* pkts[kBurst];
  };
  TxBuf tx_[kMaxPorts];
  uint16_t tx_dirty_[kMaxPorts];
  uint16_t n_dirty_ = 0;
  uint64_t last_poll_[kMaxPorts][kMaxPortQueues] = {};
  struct Posted {
    uint64_t key = 0, tsc = 0;
    uint16_t port = kNoPort;
  };
  Posted posted_[256];
  StormBucket storm_[kMaxPorts][kNumStorm];
};

}  // namespace rtvs
