#pragma once
// The switch as the control thread sees it: ports (ethdevs), PMD threads, the MAC table, and the
// snapshots it publishes to the PMDs. Every method runs on the control thread, except
// postLinkEvent(), which DPDK's own threads call.

#include <rte_dev.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "switch/core/config.h"
#include "switch/core/histogram.h"
#include "switch/core/jsonrpc.h"
#include "switch/core/mac_table.h"
#include "switch/core/port_spec.h"
#include "switch/core/rxq_plan.h"
#include "switch/core/socket_policy.h"
#include "switch/dataplane/pmd.h"
#include "switch/dataplane/snapshot.h"

namespace rtvs {

// Port counters summed over PMDs.
struct PortTotals {
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0, tx_retries = 0;
  uint64_t drops[kNumDropReasons] = {};
  uint64_t over_budget = 0;
  PortTotals minus(const PortTotals& b) const;
  uint64_t dropSum() const;
};

class Switch {
 public:
  // Requires an initialised EAL whose worker lcores (in order) are the PMD cores.
  explicit Switch(const Config& cfg);
  ~Switch();
  Switch(const Switch&) = delete;
  Switch& operator=(const Switch&) = delete;

  void startPmds();
  void stopPmds();

  // Control operations. Throw RpcError (code + one-line message); on error nothing changed.
  nlohmann::json addPort(const PortSpec& spec);
  void delPort(const std::string& name);
  void delAllPorts();
  // Replaces a port's VLAN and port-security settings while it runs (every PortPolicy field can
  // change this way): republishes the PMDs' snapshot; a changed VLAN membership flushes the
  // port's learned MACs. The spec's policy is updated too.
  void setPortPolicy(const std::string& name, const PortPolicy& policy);

  // One round of housekeeping: link events, learn events, aging, budget alarms.
  void poll();

  // Called from DPDK threads (LSC callbacks): queue a link change for the control thread.
  void postLinkEvent(uint16_t port_id, bool up);

  void registerMethods(RpcDispatcher& d);

  // Prometheus text exposition of the counters and histograms (switch_metrics.cpp).
  std::string renderMetrics() const;

  const Config& config() const { return cfg_; }
  unsigned pmdCount() const { return static_cast<unsigned>(pmds_.size()); }
  uint64_t mempoolInUse() const;

  // For supervision (watchdog.cpp): each PMD's iteration counter and core, ports up and in all.
  struct Health {
    std::vector<uint64_t> pmd_iterations;
    std::vector<unsigned> pmd_cores;
    unsigned ports = 0, ports_up = 0;
  };
  Health health() const;

 private:
  struct PortRec {
    PortSpec spec;
    std::unique_ptr<DpPort> dp;
    rte_device* device = nullptr;
    ConfinedSocket sock;  // vhost ports: the socket's directory, held until the port is gone
    bool link_up = false;
    bool ever_up = false;
    uint64_t reconnects = 0;
    uint64_t learn_full = 0;
    uint64_t learn_limited = 0;  // learns refused by mac-limit
    std::shared_ptr<const PortPolicy> policy;  // what the PMDs see (spec.policy when published)
    std::vector<unsigned> rxq_pmd;  // PMD polling each rx queue
    PortTotals baseline;
    HistogramSnapshot lat_in_base, lat_out_base;
  };

  static constexpr unsigned kMoving = ~0u;  // rxq_pmd of a queue between two PMDs

  PortRec& findPort(const std::string& name);
  // Issue 15: the vhost socket path confined to the socket directories, or the dpdk devargs
  // checked against dpdk-allow. Throws RpcError; returns the confined socket (vhost ports).
  ConfinedSocket checkPortPolicy(const PortSpec& spec) const;
  std::vector<RxqSlot> currentPlan() const;
  void rebalance();
  void publish();
  void setLink(PortRec& p, bool up);
  void drainLearnRings(bool discard_for_removed, uint16_t removed_index);
  // Sets each port's at_mac_limit flag from its learned-MAC count.
  void updateMacLimits();
  PortTotals totals(uint16_t index) const;
  PortTotals current(const PortRec& p) const { return totals(p.dp->index).minus(p.baseline); }
  void latency(uint16_t index, HistogramSnapshot& in, HistogramSnapshot& out) const;
  nlohmann::json portSummary(const PortRec& p) const;
  nlohmann::json portObject(const PortRec& p) const;
  nlohmann::json portStats(const PortRec& p) const;
  nlohmann::json portLatency(const PortRec& p, bool buckets) const;
  nlohmann::json pmdObject(const Pmd& pmd) const;
  nlohmann::json pmdPerf(const Pmd& pmd) const;
  std::vector<PortRec*> selectPorts(const nlohmann::json& params);
  double ticksToUs(uint64_t ticks) const { return static_cast<double>(ticks) * 1e6 / tsc_hz_; }

  Config cfg_;
  uint64_t tsc_hz_;
  uint64_t start_tsc_;
  double start_realtime_;
  rte_mempool* pool_ = nullptr;
  rte_rcu_qsbr* rcu_ = nullptr;
  MacTable macs_;
  uint64_t learn_failed_ = 0, learn_events_ = 0;
  std::vector<std::unique_ptr<Pmd>> pmds_;
  std::vector<rte_ring*> learn_rings_;
  std::vector<unsigned> pmd_lcores_;
  bool pmds_running_ = false;

  std::map<std::string, std::unique_ptr<PortRec>> ports_;
  std::array<PortRec*, kMaxPorts> by_index_{};
  std::map<uint16_t, PortRec*> by_port_id_;
  std::atomic<const Snapshot*> snapshot_{nullptr};
  std::unique_ptr<Snapshot> current_;
  uint64_t generation_ = 0;
  uint64_t vdev_counter_ = 0;
  std::vector<DevargsRule> dpdk_rules_;  // cfg_.dpdk_allow, parsed

  std::mutex events_mu_;
  std::vector<std::pair<uint16_t, bool>> events_;

  uint64_t last_age_tsc_ = 0, last_link_poll_tsc_ = 0, last_budget_tsc_ = 0;
  std::array<uint64_t, kMaxPorts> budget_seen_{};
  uint64_t pmd_busy_base_[kMaxPmds] = {}, pmd_idle_base_[kMaxPmds] = {};
  uint64_t pmd_rx_base_[kMaxPmds] = {};
  // rx queue busy cycles at the last stats.clear, per PMD, port index and queue.
  std::vector<uint64_t> rxq_busy_base_ =
      std::vector<uint64_t>(size_t{kMaxPmds} * kMaxPorts * kMaxPortQueues);
  uint64_t& rxqBusyBase(unsigned pmd, unsigned port, unsigned queue) {
    return rxq_busy_base_[(size_t{pmd} * kMaxPorts + port) * kMaxPortQueues + queue];
  }
  uint64_t rxqBusyBase(unsigned pmd, unsigned port, unsigned queue) const {
    return rxq_busy_base_[(size_t{pmd} * kMaxPorts + port) * kMaxPortQueues + queue];
  }
  std::vector<HistogramSnapshot> pmd_iter_base_, pmd_gap_base_;
};

}  // namespace rtvs
