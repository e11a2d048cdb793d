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
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "switch/core/config.h"
#include "switch/core/counters.h"
#include "switch/core/histogram.h"
#include "switch/core/mac_table.h"
#include "switch/core/port_spec.h"
#include "switch/core/port_state.h"
#include "switch/core/rxq_plan.h"
#include "switch/core/socket_policy.h"
#include "switch/daemon/state_file.h"
#include "switch/daemon/stats_reader.h"
#include "switch/dataplane/pmd.h"
#include "switch/dataplane/snapshot.h"
#include "switch/protocol/jsonrpc.h"

namespace rtvs {

class DpdkLog;

class Switch {
 public:
  // Requires an initialised EAL whose worker lcores (in order) are the PMD cores.
  explicit Switch(const Config& cfg);
  ~Switch();
  Switch(const Switch&) = delete;
  Switch& operator=(const Switch&) = delete;

  // Launches the PMDs (threads named pmd-c<core>); returns one line per PMD whose SCHED_FIFO
  // priority could not be applied ("sched-fifo: ...").
  std::vector<std::string> startPmds();
  void stopPmds();

  // Control operations. Throw RpcError (code + one-line message); on error nothing changed.
  // `options` are the options as given (saved in the state file); empty: toOptions(spec).
  nlohmann::json addPort(const PortSpec& spec, const PortOptions& options = {},
                         const ExternalIds& external_ids = {}, bool from_config = false);
  void delPort(const std::string& name);
  void delAllPorts();
  // Replaces a port's VLAN and port-security settings while it runs (every PortPolicy field can
  // change this way): republishes the PMDs' snapshot; a changed VLAN membership flushes the
  // port's learned MACs. The spec's policy is updated too.
  void setPortPolicy(const std::string& name, const PortPolicy& policy);

  // Durable state (port_api.cpp). With a state file every port.add/del/set is saved before it
  // is answered; without one (--no-state) run-time changes last until exit.
  void setStateFile(StateFile* file) { state_file_ = file; }
  // Creates the ports of `plan` in order (the start-up ports: config file and saved ones). A port
  // that cannot be created is logged and kept in the state as it was saved ("unrestored"), never
  // dropped; the others start. Then saves the state. Returns the number of ports created.
  size_t restorePorts(const std::vector<SavedPort>& plan);

  // One round of housekeeping: link events, learn events, aging, budget alarms. True when it
  // found learn events or link changes (the control thread then stays fast, ControlPacer).
  bool poll();

  // An eventfd that wake() makes readable: the control thread sleeps on it with its sockets.
  int wakeFd() const noexcept { return wake_fd_; }
  // Any thread (LSC callbacks, the metrics server): end the control thread's sleep.
  void wake() noexcept;

  // Called from DPDK threads (LSC callbacks): queue a link change for the control thread.
  void postLinkEvent(uint16_t port_id, bool up);
  // Called from the vhost library's threads (new_device/destroy_device) for the native vhost
  // port registered as `key`.
  void postVhostEvent(uint64_t key, bool up);
  // Any thread: returns once every PMD has passed a quiescent state (none still uses what was
  // unpublished or cleared before the call).
  void waitForPmds() noexcept;

  void registerMethods(RpcDispatcher& d);

  // Prometheus text exposition of the counters and histograms (switch_metrics.cpp).
  std::string renderMetrics() const;

  const Config& config() const { return cfg_; }
  unsigned pmdCount() const { return static_cast<unsigned>(pmds_.size()); }
  uint64_t mempoolInUse() const;  // over every node's pool
  uint64_t mempoolSize() const;   // mbufs in all pools
  // The DPDK log's counters shown in stats and metrics (owned by main, outlives the switch).
  void setDpdkLog(const DpdkLog* log) { dpdk_log_ = log; }
  // Real-time preconditions the switch runs without (--allow-degraded), one line each,
  // "<id>: <reason>": shown by pmd.show and the metrics.
  void setDegraded(std::vector<std::string> reasons) { degraded_ = std::move(reasons); }

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
    PortOptions options;  // as given, port.set changes merged in (what the state file keeps)
    ExternalIds external_ids;
    bool from_config = false;
    std::unique_ptr<rte_spinlock_t[]> txq_locks;  // shared by every DpPort version of the port
    std::unique_ptr<DpPort> dp;
    rte_device* device = nullptr;
    // Native vhost-user ports (no ethdev): the vhost library's device, the path registered with
    // it and the key of its link events.
    std::unique_ptr<VhostDev> vhost;
    std::string vhost_path;
    uint64_t vhost_key = 0;
    ConfinedSocket sock;  // vhost ports: the socket's directory, held until the port is gone
    bool link_up = false;
    bool ever_up = false;
    uint64_t reconnects = 0;
    uint64_t learn_full = 0;
    uint64_t learn_limited = 0;                // learns refused by mac-limit
    std::shared_ptr<const PortPolicy> policy;  // what the PMDs see (spec.policy when published)
    // The vhost library's counters restart with each guest connection: the sum is kept
    // monotonic across them (control thread only).
    mutable uint64_t notif_raw = 0, notif_before = 0;
    std::vector<unsigned> rxq_pmd;  // PMD polling each rx queue
    // NUMA node of the port (a NIC's, a guest's memory once connected), -1 while unknown.
    int numa = -1;
  };

  static constexpr unsigned kMoving = ~0u;  // rxq_pmd of a queue between two PMDs

  struct Unrestored {
    SavedPort saved;
    std::string error;
  };

  PortRec& findPort(const std::string& name);
  // Issue 15: the vhost socket path confined to the socket directories, or the dpdk devargs
  // checked against dpdk-allow. Throws RpcError; returns the confined socket (vhost ports).
  ConfinedSocket checkPortPolicy(const PortSpec& spec) const;
  void fillDpPort(DpPort& dp, const PortSpec& spec) const;
  // Applies a new spec of settable options to a running port (new DpPort, published; the old
  // one freed after the grace period). Throws RpcError, nothing changed.
  void applySpec(PortRec& p, const PortSpec& spec);
  std::vector<SavedPort> savedPorts() const;
  // Writes the state file (if any). Throws RpcError kFailed.
  void saveState();
  void registerPortMethods(RpcDispatcher& d);
  std::vector<RxqSlot> currentPlan() const;
  // Every port's rxq-affinity pins by PMD id, with `spec` in place of port `index`'s (nullptr:
  // as they are). Throws RpcError (invalid params) for a CPU that runs no PMD.
  std::vector<RxqPin> rxqPins(uint32_t index, const PortSpec* spec) const;
  // The plan for `spec` at `index` (a new port on node `numa`, -1: unknown; or new pins), or
  // RpcError naming the port.
  std::vector<RxqSlot> planFor(uint32_t index, const PortSpec& spec, bool is_new,
                               int numa = -1) const;
  // The NUMA nodes of the PMDs and of the ports whose node is known.
  RxqNodes rxqNodes() const;
  rte_mempool* poolOfPmd(unsigned pmd) const;
  int vhostNumaNode(const PortRec& p) const;  // a connected guest's memory's node, or -1
  void rebalance();
  void publish();
  void setLink(PortRec& p, bool up);
  size_t drainLearnRings(bool discard_for_removed, uint16_t removed_index);
  // Sets each port's at_mac_limit flag from its learned-MAC count.
  void updateMacLimits();
  // Port `index`'s counters since start: the PMDs' (stats_) and the vhost library's or driver's.
  PortTotals totals(uint16_t index) const;
  uint64_t guestNotifications(const PortRec& p) const;
  // A connected native vhost port's per-virtqueue statistics (vhost library, stats enabled):
  // "rx_q<N>_<name>" for the guest's tx virtqueue N (what the switch receives), "tx_q<N>_..."
  // for its rx virtqueue. Empty without a guest.
  std::vector<std::pair<std::string, uint64_t>> vhostVringStats(const PortRec& p) const;
  nlohmann::json vhostXstats(const PortRec& p) const;
  // Creates the vhost-user socket of a native vhost port (server or client). Throws RpcError.
  void startVhost(PortRec& rec, const std::string& path);
  void stopVhost(PortRec& rec);
  // Since the port's last stats.clear (or its creation).
  PortTotals current(const PortRec& p) const {
    return stats_.portSince(p.dp->index, totals(p.dp->index));
  }
  nlohmann::json portSummary(const PortRec& p) const;
  nlohmann::json portObject(const PortRec& p) const;
  nlohmann::json portStats(const PortRec& p) const;
  nlohmann::json portLatency(const PortRec& p, bool buckets) const;
  nlohmann::json pmdObject(const Pmd& pmd) const;
  nlohmann::json pmdPerf(const Pmd& pmd) const;
  std::vector<PortRec*> selectPorts(const nlohmann::json& params);
  double ticksToUs(uint64_t ticks) const { return static_cast<double>(ticks) * 1e6 / tsc_hz_; }

  Config cfg_;
  const DpdkLog* dpdk_log_ = nullptr;
  std::vector<std::string> degraded_;
  uint64_t tsc_hz_;
  uint64_t start_tsc_;
  double start_realtime_;
  std::map<int, rte_mempool*> pools_;  // the packet pool of each NUMA node with PMDs
  rte_rcu_qsbr* rcu_ = nullptr;        // dataplane: quiescent states, ctlplane: synchronize
  MacTable macs_;                      // dataplane: ro (entry ages: rw), ctlplane: rw (mac_table.h)
  uint64_t learn_failed_ = 0, learn_events_ = 0;
  // Each in its own node's memory; their stats: dataplane: wo, ctlplane: ro.
  std::vector<NodePtr<Pmd>> pmds_;
  StatsReader stats_{pmds_};  // sums and clear-baselines of the PMDs' counters and histograms
  std::vector<rte_ring*> learn_rings_;  // SP/SC: dataplane: enqueues, ctlplane: dequeues
  std::vector<unsigned> pmd_lcores_;
  bool pmds_running_ = false;
  bool numa_changed_ = false;  // a port's node became known or changed: rebalance (poll)

  std::map<std::string, std::unique_ptr<PortRec>> ports_;
  std::array<PortRec*, kMaxPorts> by_index_{};
  std::map<uint16_t, PortRec*> by_port_id_;    // ethdev ports
  std::map<uint64_t, PortRec*> by_vhost_key_;  // native vhost ports
  uint64_t vhost_keys_ = 0;
  std::atomic<const Snapshot*> snapshot_{nullptr};  // dataplane: ro, ctlplane: wo (publish)
  std::unique_ptr<Snapshot> current_;
  uint64_t generation_ = 0;
  uint32_t last_port_uid_ = 0;  // DpPort::uid of the last port added
  uint64_t vdev_counter_ = 0;
  std::vector<DevargsRule> dpdk_rules_;  // cfg_.dpdk_allow, parsed
  StateFile* state_file_ = nullptr;
  std::map<std::string, Unrestored> unrestored_;  // saved ports that could not be recreated

  int wake_fd_ = -1;
  // Link and vhost events: DPDK's threads post (postLinkEvent, postVhostEvent), the control
  // thread takes them, both under events_mu_ (no PMD involved).
  std::mutex events_mu_;
  std::vector<std::pair<uint16_t, bool>> events_;
  std::vector<std::pair<uint64_t, bool>> vhost_events_;

  uint64_t last_age_tsc_ = 0, last_link_poll_tsc_ = 0, last_budget_tsc_ = 0;
  std::array<uint64_t, kMaxPorts> budget_seen_{};
};

}  // namespace rtvs
