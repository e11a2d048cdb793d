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
// uses a vid the library has released.
struct VhostDev {
  std::atomic<int> vid{-1};
  rte_mempool* pool = nullptr;  // receive buffers (dequeue)
};

struct DpPort {
  uint16_t index = 0;    // switch port index, 0..kMaxPorts-1
  uint16_t port_id = 0;  // DPDK ethdev port id (ethdev ports only)
  // Native vhost-user port (rte_vhost), or nullptr: an ethdev (rte_eth_rx/tx_burst on port_id).
  VhostDev* vhost = nullptr;
  uint16_t n_queues = 1;              // rx and tx queues
  uint32_t max_frame = 0;             // MTU + kL2Overhead
  uint32_t latency_budget_ticks = 0;  // 0 = no budget
  // PMD k transmits on txq_of_pmd[k]. If fewer tx queues than PMDs, a queue is shared and its
  // spinlock is taken (the only lock in the dataplane, and only in that configuration).
  uint16_t txq_of_pmd[kMaxPmds] = {};
  bool txq_shared = false;
  // vhost ports: a guest that is not connected cannot take frames, so they are not even tried.
  // NIC ports: like OVS, frames go to the driver whatever link state it reports (some devices,
  // e.g. a tap moved to another network namespace, cannot report it).
  bool gate_on_link = true;
  std::atomic<bool> link_up{false};
  // The port has learned its mac-limit MACs: frames from other sources drop (dataplane: ro,
  // ctlplane: wo).
  std::atomic<bool> at_mac_limit{false};
  // kMaxPortQueues locks, owned by the control thread's port record: a port whose settings change
  // at run time gets a new DpPort, and both versions must take the same locks while PMDs move
  // from the old snapshot to the new one.
  rte_spinlock_t* txq_lock = nullptr;
  std::string name;

  bool canSend() const noexcept { return !gate_on_link || link_up.load(std::memory_order_relaxed); }
};

}  // namespace rtvs
