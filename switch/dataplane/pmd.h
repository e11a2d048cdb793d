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
#include "switch/dataplane/node_alloc.h"
#include "switch/dataplane/port_security.h"
#include "switch/dataplane/snapshot.h"

struct rte_mbuf;

namespace rtvs {

// One PMD's counters and histograms: dataplane: wo (the PMD only), ctlplane: ro (readers sum
// them across PMDs and keep the baselines of "clear", StatsReader).
struct PmdStats {
  PortCounters ports[kMaxPorts];
  // The PMD's own counters (RTVS_PMD_COUNTERS, counters.h).
#define RTVS_PMD_COUNTER_FIELD(id, field, key, column, metric, help) Counter field;
  RTVS_PMD_COUNTERS(RTVS_PMD_COUNTER_FIELD)
#undef RTVS_PMD_COUNTER_FIELD
  Counter rxq_busy_cycles[kMaxPorts][kMaxPortQueues];
  Counter over_budget[kMaxPorts];        // packets whose residence exceeded the egress budget
  Counter worst_over_budget[kMaxPorts];  // largest residence over budget, ticks
  // Residence time (rx burst stamp to handing to the egress port), by ingress and egress port.
  Histogram residence_in[kMaxPorts];
  Histogram residence_out[kMaxPorts];
  Histogram iteration;  // wall time of one loop iteration
  Histogram poll_gap;   // time between two polls of the same queue
};

// A reader's way to each of the PMD's own counters, by PmdCounter.
inline constexpr Counter PmdStats::*kPmdCounterField[kNumPmdCounters] = {
#define RTVS_PMD_COUNTER_MEMBER(id, field, key, column, metric, help) &PmdStats::field,
    RTVS_PMD_COUNTERS(RTVS_PMD_COUNTER_MEMBER)
#undef RTVS_PMD_COUNTER_MEMBER
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
  // What the PMDs share with the control thread; the pointers themselves never change.
  struct Shared {
    const std::atomic<const Snapshot*>* snapshot;  // dataplane: ro, ctlplane: wo (publish)
    MacTable* macs;     // entries: dataplane: ro (entry ages: rw), ctlplane: rw (mac_table.h)
    rte_rcu_qsbr* rcu;  // dataplane: quiescent states, ctlplane: synchronize
    uint64_t tsc_hz;
    bool accounting;  // record residence, iteration and poll-gap histograms
  };
  // `node`: the NUMA node of the PMD's core, where its statistics are allocated
  // (SOCKET_ID_ANY: anywhere); `pool`: its node's packet pool, which vhost ports dequeue into.
  Pmd(unsigned id, unsigned core, const Shared& shared, rte_ring* learn_ring,
      int node = SOCKET_ID_ANY, rte_mempool* pool = nullptr);

  // The thread body (launched on an EAL lcore). Returns when stop() was called.
  int run() noexcept;
  void stop() noexcept { stop_.store(true, std::memory_order_relaxed); }

  unsigned id() const noexcept { return id_; }
  unsigned core() const noexcept { return core_; }
  const PmdStats& stats() const noexcept { return *stats_; }
  int node() const noexcept { return node_; }
  rte_mempool* pool() const noexcept { return pool_; }
  // False when the node had no DPDK memory for the statistics (they are on the heap).
  bool statsOnNode() const noexcept { return onNode(stats_); }
  rte_ring* learnRing() const noexcept { return learn_ring_; }
  // Before launch, on the control thread: the SCHED_FIFO priority the thread applies (0: none).
  void setPriority(int prio) noexcept { priority_ = prio; }
  // Set by the thread itself when it starts: 0 or the errno of applying SCHED_FIFO.
  int priorityError() const noexcept { return prio_error_.load(std::memory_order_acquire); }
  bool started() const noexcept { return started_.load(std::memory_order_acquire); }

  // Frees the frames still waiting in the tx buffers (counted as link_down drops). run() does it
  // when it returns; never while run() is active.
  void dropPending() noexcept;

  // Tests only (tests/dataplane/pmd_burst_test.cpp), on the calling thread, never while run() is
  // active. processBurstForTest switches and transmits one burst received on `q` as run() does
  // within an iteration; endIterationForTest ends the iteration as run() does (buffered frames
  // not yet offered in it are offered) and starts the next one.
  void processBurstForTest(const Snapshot& s, const RxqRef& q, rte_mbuf** pkts,
                           uint16_t n) noexcept;
  void endIterationForTest(const Snapshot& s) noexcept;
  uint16_t pendingForTest(uint16_t port) const noexcept { return tx_[port].n; }

 private:
  void processBurst(const Snapshot& s, const RxqRef& q, rte_mbuf** pkts, uint16_t n,
                    uint64_t rx_tsc) noexcept;
  void endIteration(const Snapshot& s) noexcept;
  void enqueueTx(const DpPort& out, rte_mbuf* m, uint16_t ingress, uint64_t rx_tsc) noexcept;
  // Offers every non-empty tx buffer to its queue once (all of them, or those not yet offered in
  // this iteration), then ages what is left.
  void flushTx(const Snapshot& s, bool untried_only) noexcept;
  bool flushPort(const Snapshot& s, uint16_t p) noexcept;  // true: the buffer is empty
  void accountSent(uint16_t p, const DpPort& out, uint16_t sent, uint64_t bytes,
                   uint64_t tx_tsc) noexcept;
  void postLearn(uint16_t vlan, MacAddr mac, uint16_t port, uint64_t now) noexcept;
  void flood(const Snapshot& s, rte_mbuf* m, uint16_t in, uint16_t vlan, bool frame_tagged,
             uint32_t untagged_len, uint64_t rx_tsc) noexcept;

  const unsigned id_, core_;
  const Shared shared_;
  rte_ring* const learn_ring_;        // SP/SC: dataplane: enqueues, ctlplane: dequeues
  const int node_;                    // set at construction
  rte_mempool* const pool_;           // set at construction: this node's packet pool
  NodePtr<PmdStats> stats_;           // dataplane: wo, ctlplane: ro
  std::atomic<bool> stop_{false};     // dataplane: ro, ctlplane: wo
  std::atomic<bool> started_{false};  // dataplane: wo, ctlplane: ro
  std::atomic<int> prio_error_{0};    // dataplane: wo, ctlplane: ro
  int priority_ = 0;                  // ctlplane: wo before launch, dataplane: ro

  // PMD-private working state.
  // The frames for one egress port, oldest first, each with its rx burst's TSC (residence time
  // and ageing) and ingress port (residence by ingress). Bounded: a frame that finds it full is
  // dropped (tx_full).
  struct TxBuf {
    uint16_t n = 0;
    bool offered = false;     // the frames at the front were offered before (a retry)
    uint32_t uid = 0;         // DpPort::uid of the port the frames are for
    uint64_t tried_iter = 0;  // iteration of the last attempt
    uint64_t stuck_iter = 0;  // iteration of the last attempt that sent nothing (or lock busy)
    rte_mbuf* pkts[kTxBufFrames];
    uint64_t rx_tsc[kTxBufFrames];
    uint16_t ingress[kTxBufFrames];
  };
  TxBuf tx_[kMaxPorts];
  uint16_t tx_dirty_[kMaxPorts];  // the ports whose tx buffer is not empty
  uint16_t n_dirty_ = 0;
  uint64_t iter_ = 1;  // this PMD's iteration number (0 in a TxBuf: never)
  uint64_t last_poll_[kMaxPorts][kMaxPortQueues] = {};
  struct Posted {
    uint64_t key = 0, tsc = 0;
    uint16_t port = kNoPort;
  };
  Posted posted_[256];
  StormBucket storm_[kMaxPorts][kNumStorm];
};

}  // namespace rtvs
