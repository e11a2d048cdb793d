#pragma once
// runs on a PMD thread: no locks, syscalls, allocation or logging
// What a PMD needs to know about a port. Created by the control thread; immutable while published
// except the link flag (written by the control thread) and the tx locks. Freed only after an RCU
// grace period once no snapshot refers to it.

#include <rte_mempool.h>
#include <rte_spinlock.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "switch/dataplane/dp_types.h"

namespace rtvs {

// A vhost-user port driven through DPDK's vhost library (no ethdev). Owned by the control
// thread's port record and shared by every DpPort version of the port. `vid` is the vhost
// library's device id while a guest is connected (new_device .. destroy_device), else -1; the
// destroy_device callback sets -1 and waits for an RCU grace period before it returns, so no PMD
// uses a vid the library has released. Received frames go to the polling PMD's pool (Pmd::pool).
struct VhostDev {
  std::atomic<int> vid{-1};  // dataplane: ro, ctlplane: ro, vhost callbacks: wo
};

struct DpPort {
  uint16_t index = 0;    // switch port index, 0..kMaxPorts-1
  uint16_t port_id = 0;  // DPDK ethdev port id (ethdev ports only)
  // Native vhost-user port (rte_vhost), or nullptr: an ethdev (rte_eth_rx/tx_burst on port_id).
  VhostDev* vhost = nullptr;
  uint16_t n_queues = 1;              // rx and tx queues
  uint32_t max_frame = 0;             // MTU + kL2Overhead
  uint32_t latency_budget_ticks = 0;  // 0 = no budget
  // How long a frame the tx queue did not take may wait in a PMD's tx buffer to be offered again
  // (the port's tx-retry-us); 0 = dropped at once.
  uint64_t tx_retry_ticks = 0;
  // The port, across the DpPort versions `port set` makes; never reused for another port while
  // the daemon runs (a PMD's buffered frames must not go to a port that took a freed index).
  uint32_t uid = 0;
  // PMD k transmits on txq_of_pmd[k]. When fewer tx queues than PMDs, PMDs that share a queue
  // (txq_shared[k]) take its spinlock with a trylock only: busy → the frames wait for the next
  // iteration (the only lock in the dataplane, and only in that configuration).
  uint16_t txq_of_pmd[kMaxPmds] = {};
  bool txq_shared[kMaxPmds] = {};
  // vhost ports: a guest that is not connected cannot take frames, so they are not even tried.
  // NIC ports: like OVS, frames go to the driver whatever link state it reports (some devices,
  // e.g. a tap moved to another network namespace, cannot report it).
  bool gate_on_link = true;
  std::atomic<bool> link_up{false};  // dataplane: ro, ctlplane: wo
  // The port has learned its mac-limit MACs: frames from other sources drop.
  std::atomic<bool> at_mac_limit{false};  // dataplane: ro, ctlplane: wo
  // kMaxPortQueues locks, owned by the control thread's port record: a port whose settings change
  // at run time gets a new DpPort, and both versions must take the same locks while PMDs move
  // from the old snapshot to the new one. dataplane: rw (trylock), ctlplane: none.
  rte_spinlock_t* txq_lock = nullptr;
  std::string name;

  bool canSend() const noexcept { return !gate_on_link || link_up.load(std::memory_order_relaxed); }

  // A tx queue of its own for each of `n_pmds` PMDs while the port has that many; else PMD k uses
  // queue k % queues, and only PMDs whose queue another PMD also uses take its lock.
  void assignTxqs(uint16_t queues, size_t n_pmds) noexcept {
    for (unsigned k = 0; k < kMaxPmds; ++k) {
      txq_of_pmd[k] = static_cast<uint16_t>(k % queues);
      txq_shared[k] = k < n_pmds && txq_of_pmd[k] + size_t{queues} < n_pmds;
    }
  }
};

}  // namespace rtvs
