#include "switch/daemon/switch.h"

#include <pthread.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <vector>

namespace rtvs {

namespace {

constexpr uint16_t kRxDesc = 1024;
constexpr uint16_t kTxDesc = 1024;
constexpr unsigned kLearnRingSize = 4096;
constexpr unsigned kPoolCache = 256;  // mbufs each lcore keeps in its mempool cache

// The mempool driver of the packet pools. PMDs run SCHED_FIFO and the vhost library's and the
// control thread's allocations and frees reach the pool's ring directly (threads without a
// mempool cache): with the default ring (ring_mp_mc) a thread preempted between moving the ring's
// head and its tail makes every other producer (or consumer) spin until it runs again, a PMD
// among them (lock-waiter preemption). The RTS ring (relaxed tail sync) lets the others finish
// and move the tail for it, so a preempted thread stalls nobody; it is lock-free too (the
// "stack" driver takes a spinlock, HTS serialises every operation). Most operations never reach
// the ring: they stay in the lcore's cache.
constexpr const char* kPoolOps = "ring_mt_rts";

double realtimeNow() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

std::string isoTime(double t) {
  const time_t secs = static_cast<time_t>(t);
  tm tmv{};
  gmtime_r(&secs, &tmv);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tmv);
  char out[64];
  snprintf(out, sizeof out, "%s.%06dZ", buf, static_cast<int>((t - secs) * 1e6));
  return out;
}

// True when nobody accepts connections on the socket at `path` (ECONNREFUSED).
bool staleSocket(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  const bool refused =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno == ECONNREFUSED;
  close(fd);
  return refused;
}

// The PMD of each of `port`'s `queues` rx queues in `plan`.
std::vector<unsigned> pmdsOf(const std::vector<RxqSlot>& plan, uint32_t port, uint16_t queues) {
  std::vector<unsigned> pmd(queues, 0);
  for (const RxqSlot& slot : plan) {
    if (slot.port == port && slot.queue < queues) pmd[slot.queue] = slot.pmd;
  }
  return pmd;
}

int lscCallback(uint16_t port_id, rte_eth_event_type, void* arg, void*) {
  rte_eth_link link{};
  rte_eth_link_get_nowait(port_id, &link);
  static_cast<Switch*>(arg)->postLinkEvent(port_id, link.link_status == RTE_ETH_LINK_UP);
  return 0;
}

}  // namespace

Switch::Switch(const Config& cfg)
    : cfg_(cfg),
      tsc_hz_(rte_get_tsc_hz()),
      start_tsc_(rte_rdtsc()),
      start_realtime_(realtimeNow()),
      macs_(cfg.mac_table_size),
      dpdk_rules_(parseDevargsRules(cfg.dpdk_allow)) {
  const int socket = static_cast<int>(rte_socket_id());
  const unsigned n_pmds = static_cast<unsigned>(cfg_.pmd_cores.size());
  if (n_pmds > kMaxPmds) throw std::runtime_error("pmd-cores: at most 16 PMDs");
  // One packet pool per NUMA node that runs PMDs, in that node's memory: a PMD receives into its
  // own node's pool (vhost dequeue, and the NIC rx queues it polls).
  std::vector<int> pmd_nodes;
  {
    unsigned lc = rte_get_next_lcore(-1, 1, 0);
    for (unsigned i = 0; i < n_pmds && lc < RTE_MAX_LCORE; ++i) {
      pmd_nodes.push_back(static_cast<int>(rte_lcore_to_socket_id(lc)));
      lc = rte_get_next_lcore(lc, 1, 0);
    }
  }
  for (const int node : pmd_nodes) {
    if (pools_.count(node)) continue;
    const std::string name = "rtvs_mbufs_n" + std::to_string(node < 0 ? 0 : node);
    rte_mempool* pool = rte_pktmbuf_pool_create_by_ops(name.c_str(), cfg_.mbufs, kPoolCache, 0,
                                                       RTE_MBUF_DEFAULT_BUF_SIZE, node, kPoolOps);
    if (pool == nullptr && node != SOCKET_ID_ANY && rte_socket_count() > 1) {
      // No DPDK memory on that node (no hugepages there, or --no-huge): anywhere rather than not.
      spdlog::warn("numa node {}: cannot create its mbuf pool there ({}), using any node's memory",
                   node, rte_strerror(rte_errno));
      pool = rte_pktmbuf_pool_create_by_ops(name.c_str(), cfg_.mbufs, kPoolCache, 0,
                                            RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY, kPoolOps);
    }
    if (pool == nullptr) {
      throw std::runtime_error(std::string("cannot create the mbuf pool of numa node ") +
                               std::to_string(node) + " (" + std::to_string(cfg_.mbufs) +
                               " mbufs): " + rte_strerror(rte_errno) +
                               "; reserve more hugepages or lower mbufs");
    }
    pools_[node] = pool;
    spdlog::info("numa node {}: mbuf pool {} ({} mbufs, {})", node, name, cfg_.mbufs, kPoolOps);
  }
  const size_t rcu_size = rte_rcu_qsbr_get_memsize(n_pmds);
  rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("rtvs_rcu", rcu_size, RTE_CACHE_LINE_SIZE));
  if (rcu_ == nullptr || rte_rcu_qsbr_init(rcu_, n_pmds) != 0) {
    throw std::runtime_error("cannot set up RCU for the PMDs");
  }

  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  for (unsigned i = 0; i < n_pmds; ++i) {
    if (lcore >= RTE_MAX_LCORE) throw std::runtime_error("EAL has fewer worker lcores than PMDs");
    const std::string rname = "rtvs_learn" + std::to_string(i);
    rte_ring* ring = rte_ring_create_elem(rname.c_str(), sizeof(LearnEvent), kLearnRingSize, socket,
                                          RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ring == nullptr) throw std::runtime_error("cannot create the learn ring");
    learn_rings_.push_back(ring);
    Pmd::Shared shared{&snapshot_, &macs_, rcu_, tsc_hz_, cfg_.latency_accounting};
    // The PMD's working state and statistics in its own node's memory.
    const int node = pmd_nodes[i];
    pmds_.push_back(newOnNode<Pmd>("rtvs_pmd", node, i, cfg_.pmd_cores[i], shared, ring, node,
                                   pools_.at(node)));
    if (!onNode(pmds_.back()) || !pmds_.back()->statsOnNode()) {
      spdlog::warn("pmd {}: no DPDK memory on numa node {} for its state, using the heap", i, node);
    }
    pmds_.back()->setPriority(cfg_.pmd_priority);
    pmd_lcores_.push_back(lcore);
    lcore = rte_get_next_lcore(lcore, 1, 0);
  }
  current_ = std::make_unique<Snapshot>();
  snapshot_.store(current_.get(), std::memory_order_release);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + strerror(errno));
  rte_eth_dev_callback_register(RTE_ETH_ALL, RTE_ETH_EVENT_INTR_LSC, lscCallback, this);
}

Switch::~Switch() {
  stopPmds();
  try {
    delAllPorts();
  } catch (const std::exception& e) {  // nothing may escape a destructor: say what was left
    spdlog::error("stopping: removing the ports failed: {}", e.what());
  }
  rte_eth_dev_callback_unregister(RTE_ETH_ALL, RTE_ETH_EVENT_INTR_LSC, lscCallback, this);
  for (rte_ring* r : learn_rings_) rte_ring_free(r);
  pmds_.clear();  // their state before the memory they came from goes
  rte_free(rcu_);
  for (auto& [node, pool] : pools_) rte_mempool_free(pool);
  close(wake_fd_);
}

void Switch::wake() noexcept {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
}

static int pmdEntry(void* arg) {
  // Named by role and core, so that tools such as tuned's realtime-virtual-host (which leave
  // threads matching "pmd" where they are) and people recognise it. At most 15 characters.
  auto* pmd = static_cast<Pmd*>(arg);
  const std::string name = "pmd-c" + std::to_string(pmd->core());
  pthread_setname_np(pthread_self(), name.c_str());
  return pmd->run();
}

std::vector<std::string> Switch::startPmds() {
  for (size_t i = 0; i < pmds_.size(); ++i) {
    if (rte_eal_remote_launch(pmdEntry, pmds_[i].get(), pmd_lcores_[i]) != 0) {
      throw std::runtime_error("cannot launch PMD " + std::to_string(i));
    }
  }
  pmds_running_ = true;
  std::vector<std::string> unmet;
  for (auto& pmd : pmds_) {
    while (!pmd->started()) rte_delay_us_sleep(1000);
    const char* sched = cfg_.pmd_priority > 0 ? "SCHED_FIFO" : "SCHED_OTHER";
    if (cfg_.pmd_priority > 0 && pmd->priorityError() != 0) {
      unmet.push_back("sched-fifo: pmd " + std::to_string(pmd->id()) + " on core " +
                      std::to_string(pmd->core()) + ": SCHED_FIFO priority " +
                      std::to_string(cfg_.pmd_priority) + " not applied: " +
                      strerror(pmd->priorityError()) + " (needs CAP_SYS_NICE or RLIMIT_RTPRIO)");
    } else {
      spdlog::info("pmd {} polling on core {} ({}{})", pmd->id(), pmd->core(), sched,
                   cfg_.pmd_priority > 0 ? ":" + std::to_string(cfg_.pmd_priority) : "");
    }
  }
  return unmet;
}

void Switch::stopPmds() {
  if (!pmds_running_) return;
  for (auto& pmd : pmds_) pmd->stop();
  for (unsigned lc : pmd_lcores_) rte_eal_wait_lcore(lc);
  pmds_running_ = false;
}

uint64_t Switch::mempoolInUse() const {
  uint64_t n = 0;
  for (const auto& [node, pool] : pools_) n += rte_mempool_in_use_count(pool);
  return n;
}

uint64_t Switch::mempoolSize() const { return uint64_t{cfg_.mbufs} * pools_.size(); }

rte_mempool* Switch::poolOfPmd(unsigned pmd) const { return pmds_.at(pmd)->pool(); }

RxqNodes Switch::rxqNodes() const {
  RxqNodes nodes;
  for (const auto& pmd : pmds_) nodes.pmd.push_back(pmd->node());
  for (uint32_t i = 0; i < kMaxPorts; ++i) {
    if (by_index_[i] != nullptr && by_index_[i]->numa >= 0) nodes.port[i] = by_index_[i]->numa;
  }
  return nodes;
}

Switch::Health Switch::health() const {
  Health h;
  for (const auto& pmd : pmds_) {
    h.pmd_iterations.push_back(pmd->stats().iterations.get());
    h.pmd_cores.push_back(pmd->core());
  }
  for (const auto& [name, p] : ports_) {
    ++h.ports;
    if (p->link_up) ++h.ports_up;
  }
  return h;
}

// Builds a new snapshot from the port records and publishes it; the old one is freed once every
// PMD has passed a quiescent state (it may still be reading it until then).
void Switch::publish() {
  auto next = std::make_unique<Snapshot>();
  next->generation = ++generation_;
  // Flood lists: VLANs that no port names explicitly (as tag or in trunks) reach exactly the
  // ports that trunk every VLAN, so they share one list; each named VLAN gets its own.
  VlanSet named;
  std::vector<FloodEntry> all_vlans;  // ports trunking every VLAN, for VLANs 1..4094
  std::vector<FloodEntry> untagged;   // VLAN 0
  for (uint16_t i = 0; i < kMaxPorts; ++i) {
    PortRec* p = by_index_[i];
    if (p == nullptr) continue;
    const PortVlan& v = p->policy->vlan;
    if (v.tag != 0) named.set(v.tag);
    if (!v.trunk_all) named |= v.trunks;
    if (v.egress(0) != PortVlan::kNo) untagged.push_back({i, v.egress(0) == PortVlan::kTagged});
    if (v.mode != VlanMode::kAccess && v.trunk_all) all_vlans.push_back({i, true});
  }
  next->floods.push_back(all_vlans);
  next->floods.push_back(untagged);
  next->flood_of.fill(0);
  next->flood_of[0] = 1;
  for (uint16_t vlan = 1; vlan <= kMaxVlanId; ++vlan) {
    if (!named.test(vlan)) continue;
    std::vector<FloodEntry> list;
    for (uint16_t i = 0; i < kMaxPorts; ++i) {
      const PortRec* p = by_index_[i];
      if (p == nullptr) continue;
      const PortVlan::Egress eg = p->policy->vlan.egress(vlan);
      if (eg != PortVlan::kNo) list.push_back({i, eg == PortVlan::kTagged});
    }
    next->flood_of[vlan] = static_cast<uint16_t>(next->floods.size());
    next->floods.push_back(std::move(list));
  }
  for (uint16_t i = 0; i < kMaxPorts; ++i) {
    PortRec* p = by_index_[i];
    if (p == nullptr) continue;
    next->ports[i] = p->dp.get();
    next->policy[i] = p->policy.get();
    next->policy_refs.push_back(p->policy);
    const auto n_rxq = static_cast<uint16_t>(p->rxq_pmd.size());  // at most kMaxPortQueues
    for (uint16_t q = 0; q < n_rxq; ++q) {
      if (p->rxq_pmd[q] != kMoving) next->rxqs[p->rxq_pmd[q]].push_back(RxqRef{p->dp.get(), q});
    }
  }
  snapshot_.store(next.get(), std::memory_order_release);
  if (pmds_running_) rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
  current_ = std::move(next);
}

std::vector<RxqSlot> Switch::currentPlan() const {
  std::vector<RxqSlot> plan;
  for (uint16_t i = 0; i < kMaxPorts; ++i) {
    const PortRec* p = by_index_[i];
    if (p == nullptr) continue;
    const auto n_rxq = static_cast<uint16_t>(p->rxq_pmd.size());  // at most kMaxPortQueues
    for (uint16_t q = 0; q < n_rxq; ++q) plan.push_back({i, q, p->rxq_pmd[q]});
  }
  return plan;
}

std::vector<RxqPin> Switch::rxqPins(uint32_t index, const PortSpec* spec) const {
  std::vector<RxqPin> pins;
  const auto add = [&](uint32_t port, const PortSpec& ps) {
    for (const auto& [queue, cpu] : ps.rxq_affinity) {
      unsigned pmd = pmdCount();
      for (unsigned k = 0; k < pmdCount(); ++k) {
        if (pmds_[k]->core() == cpu) pmd = k;
      }
      if (pmd == pmdCount()) {
        throw RpcError(rpc_code::kInvalidParams,
                       "port \"" + ps.name + "\": rxq-affinity: cpu " + std::to_string(cpu) +
                           " runs no PMD (pmd-cores: " + formatCpuList(cfg_.pmd_cores) + ")");
      }
      pins.push_back({port, queue, pmd});
    }
  };
  for (uint32_t i = 0; i < kMaxPorts; ++i) {
    if (i == index && spec != nullptr) {
      add(i, *spec);
    } else if (by_index_[i] != nullptr) {
      add(i, by_index_[i]->spec);
    }
  }
  return pins;
}

std::vector<RxqSlot> Switch::planFor(uint32_t index, const PortSpec& spec, bool is_new,
                                     int numa) const {
  const std::vector<RxqPin> pins = rxqPins(index, &spec);
  RxqNodes nodes = rxqNodes();
  if (is_new) nodes.port[index] = numa;
  try {
    return is_new ? planAdd(currentPlan(), index, spec.queues, pmdCount(), pins, nodes)
                  : planPins(currentPlan(), pmdCount(), pins, nodes);
  } catch (const std::invalid_argument& e) {
    std::string why = e.what();
    if (why.starts_with("rx queue plan: ")) why = why.substr(15);
    throw RpcError(rpc_code::kInvalidParams, "port \"" + spec.name + "\": rxq-affinity: " + why);
  }
}

// After a port went away or pins changed: pinned queues go to their PMD, the others leave
// isolated PMDs and move from the busiest PMDs to idle ones. A moving queue is first taken off
// its old PMD (one grace period), then given to the new one, so that no two PMDs ever poll it at
// once.
void Switch::rebalance() {
  numa_changed_ = false;
  const std::vector<RxqSlot> before = currentPlan();
  const std::vector<RxqSlot> after =
      planPins(before, pmdCount(), rxqPins(kMaxPorts, nullptr), rxqNodes());
  std::vector<size_t> moved;
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i].pmd != after[i].pmd) moved.push_back(i);
  }
  if (moved.empty()) return;
  for (size_t i : moved) by_index_[before[i].port]->rxq_pmd[before[i].queue] = kMoving;
  publish();
  for (size_t i : moved) {
    by_index_[after[i].port]->rxq_pmd[after[i].queue] = after[i].pmd;
    spdlog::info("port {} rx queue {} moved from pmd {} to pmd {}",
                 by_index_[after[i].port]->spec.name, after[i].queue, before[i].pmd, after[i].pmd);
  }
  publish();
}

Switch::PortRec& Switch::findPort(const std::string& name) {
  auto it = ports_.find(name);
  if (it == ports_.end()) throw RpcError(rpc_code::kNotFound, "no port named \"" + name + "\"");
  return *it->second;
}

ConfinedSocket Switch::checkPortPolicy(const PortSpec& spec) const {
  try {
    if (spec.type == PortType::kDpdk) {
      checkDevargsAllowed(spec.devargs, dpdk_rules_);
      return {};
    }
    std::vector<std::string> dirs{cfg_.socket_dir};
    dirs.insert(dirs.end(), cfg_.allowed_socket_dirs.begin(), cfg_.allowed_socket_dirs.end());
    ConfinedSocket sock = confineSocketPath(spec.path, dirs, spec.type == PortType::kVhostUser);
    // The daemon's own control socket is not a guest.
    const std::string ctl = std::filesystem::path(cfg_.control_socket).filename();
    const std::vector<std::string> ctl_dir =
        realDirs({std::filesystem::path(cfg_.control_socket).parent_path()});
    if (!ctl_dir.empty() && sock.real_path == (ctl_dir[0] == "/" ? "" : ctl_dir[0]) + "/" + ctl) {
      throw ConfigError("path: " + spec.path + " is the daemon's control socket");
    }
    return sock;
  } catch (const ConfigError& e) {
    throw RpcError(rpc_code::kInvalidParams, "port \"" + spec.name + "\": " + e.what());
  }
}

void Switch::fillDpPort(DpPort& dp, const PortSpec& spec) const {
  dp.n_queues = spec.queues;
  dp.max_frame = spec.mtu + kL2Overhead;
  dp.latency_budget_ticks = static_cast<uint32_t>(
      std::min<uint64_t>(UINT32_MAX, spec.latency_budget_us * tsc_hz_ / 1000000));
  dp.tx_retry_ticks = uint64_t{spec.tx_retry_us} * tsc_hz_ / 1000000;
  dp.name = spec.name;
  dp.gate_on_link = spec.type != PortType::kDpdk;
  dp.assignTxqs(spec.queues, pmds_.size());
}

nlohmann::json Switch::addPort(const PortSpec& spec, const PortOptions& options,
                               const ExternalIds& external_ids, bool from_config) {
  if (ports_.count(spec.name)) {
    throw RpcError(rpc_code::kExists, "port \"" + spec.name + "\" exists");
  }
  const bool vhost = spec.type != PortType::kDpdk;
  ConfinedSocket sock = checkPortPolicy(spec);
  if (vhost) {
    for (const auto& [n, p] : ports_) {
      if (p->spec.type != PortType::kDpdk &&
          (p->spec.path == spec.path || p->sock.real_path == sock.real_path)) {
        throw RpcError(rpc_code::kExists,
                       "path " + spec.path + " is already used by port \"" + n + "\"");
      }
    }
    if (spec.type == PortType::kVhostUser && sock.exists) {
      // A socket left behind by a switch that was killed: nobody listens on it any more.
      struct stat st {};
      if (lstat(sock.fd_path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode) ||
          !staleSocket(sock.fd_path)) {
        throw RpcError(rpc_code::kExists, "path " + spec.path + ": socket path exists");
      }
      spdlog::info("port {}: removing stale socket {} (nobody listens on it)", spec.name,
                   spec.path);
      unlink(sock.fd_path.c_str());
    }
  }
  uint16_t index = kMaxPorts;
  for (uint16_t i = 0; i < kMaxPorts; ++i) {
    if (by_index_[i] == nullptr) {
      index = i;
      break;
    }
  }
  if (index == kMaxPorts) {
    throw RpcError(rpc_code::kFailed, "the switch has " + std::to_string(kMaxPorts) + " ports");
  }

  std::vector<RxqSlot> planned = planFor(index, spec, true);  // checks rxq-affinity first

  auto rec = std::make_unique<PortRec>();
  rec->spec = spec;
  uint16_t port_id = 0;
  rte_device* device = nullptr;
  if (vhost) {
    // Native vhost-user: DPDK's vhost library directly, no ethdev (RTE_MAX_ETHPORTS, 32 in
    // Debian's DPDK 22.11, limits only `dpdk` ports). Through the directory held open: what was
    // checked is what the library binds or connects in.
    rec->vhost = std::make_unique<VhostDev>();
    startVhost(*rec, sock.fd_path);
    // Guests (QEMU) often run as another user in the switch's group.
    if (spec.type == PortType::kVhostUser) {
      if (const int err = chmodSocketAt(sock, 0660); err != 0) {
        stopVhost(*rec);
        throw RpcError(rpc_code::kFailed,
                       "port \"" + spec.name + "\": cannot chmod the socket: " + strerror(err));
      }
    }
  } else {
    // Create the ethdev: the DPDK build's RTE_MAX_ETHPORTS (32 in Debian's DPDK 22.11) caps the
    // `dpdk` ports.
    const auto ethdevLimit = [] {
      return RpcError(rpc_code::kFailed,
                      "no free ethdev: this DPDK is built for " + std::to_string(RTE_MAX_ETHPORTS) +
                          " ethdev ports per process (RTE_MAX_ETHPORTS), all in use");
    };
    std::string ethname;
    {
      ethname = spec.devargs.substr(0, spec.devargs.find(','));
      uint16_t existing = 0;
      if (rte_eth_dev_get_port_by_name(ethname.c_str(), &existing) == 0) {
        // Probed already (a NIC found at start-up): usable unless another port has it.
        if (by_port_id_.count(existing)) {
          throw RpcError(rpc_code::kExists, "device " + ethname + " is already used by port \"" +
                                                by_port_id_[existing]->spec.name + "\"");
        }
      } else if (rte_eth_dev_count_total() >= RTE_MAX_ETHPORTS) {
        throw ethdevLimit();
      } else if (rte_dev_probe(spec.devargs.c_str()) != 0) {
        throw RpcError(rpc_code::kFailed, "devargs: cannot probe \"" + spec.devargs + "\"");
      }
    }
    if (rte_eth_dev_get_port_by_name(ethname.c_str(), &port_id) != 0) {
      throw RpcError(rpc_code::kFailed, "device " + ethname + " has no ethdev port");
    }
    rte_eth_dev_info info{};
    rte_eth_dev_info_get(port_id, &info);
    device = info.device;
    auto fail = [&](const std::string& msg) -> RpcError {
      rte_eth_dev_stop(port_id);
      rte_eth_dev_close(port_id);
      if (device) rte_dev_remove(device);
      return RpcError(rpc_code::kFailed, "port \"" + spec.name + "\": " + msg);
    };

    // Configure it: one rx and one tx queue per requested queue pair.
    if (spec.queues > info.max_rx_queues || spec.queues > info.max_tx_queues) {
      throw fail("queues: the device supports at most " +
                 std::to_string(std::min(info.max_rx_queues, info.max_tx_queues)));
    }
    if (spec.mtu > info.max_mtu || spec.mtu < info.min_mtu) {
      throw fail("mtu: the device supports " + std::to_string(info.min_mtu) + ".." +
                 std::to_string(info.max_mtu));
    }
    rte_eth_conf conf{};
    if (*info.dev_flags & RTE_ETH_DEV_INTR_LSC) conf.intr_conf.lsc = 1;
    conf.rxmode.mtu = spec.mtu;
    if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) {
      conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
    }
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
      conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    }
    int rc = rte_eth_dev_configure(port_id, spec.queues, spec.queues, &conf);
    if (rc != 0) throw fail(std::string("cannot configure: ") + rte_strerror(-rc));
    const int socket = rte_eth_dev_socket_id(port_id) < 0 ? 0 : rte_eth_dev_socket_id(port_id);
    // Placed again on its node's PMDs; rx queues fill from their PMD's node's pool (api.md).
    rec->numa = rte_eth_dev_socket_id(port_id);
    planned = planFor(index, spec, true, rec->numa);
    const std::vector<unsigned> rx_pmd = pmdsOf(planned, index, spec.queues);
    for (uint16_t q = 0; q < spec.queues; ++q) {
      rte_eth_rxconf rxconf = info.default_rxconf;
      rxconf.offloads = conf.rxmode.offloads;
      rc = rte_eth_rx_queue_setup(port_id, q, kRxDesc, socket, &rxconf, poolOfPmd(rx_pmd[q]));
      if (rc != 0) throw fail(std::string("rx queue setup: ") + rte_strerror(-rc));
      rte_eth_txconf txconf = info.default_txconf;
      txconf.offloads = conf.txmode.offloads;
      rc = rte_eth_tx_queue_setup(port_id, q, kTxDesc, socket, &txconf);
      if (rc != 0) throw fail(std::string("tx queue setup: ") + rte_strerror(-rc));
    }
    rc = rte_eth_dev_start(port_id);
    if (rc != 0) throw fail(std::string("cannot start: ") + rte_strerror(-rc));
    rte_eth_promiscuous_enable(port_id);  // a bridge port receives every frame; vhost ignores it
  }

  rec->spec = spec;
  rec->options = options.empty() ? toOptions(spec) : options;
  rec->external_ids = external_ids;
  rec->from_config = from_config;
  rec->device = device;
  rec->sock = std::move(sock);
  rec->txq_locks = std::make_unique<rte_spinlock_t[]>(kMaxPortQueues);
  for (unsigned q = 0; q < kMaxPortQueues; ++q) rte_spinlock_init(&rec->txq_locks[q]);
  rec->dp = std::make_unique<DpPort>();
  DpPort& dp = *rec->dp;
  dp.index = index;
  dp.uid = ++last_port_uid_;
  dp.port_id = port_id;
  dp.vhost = rec->vhost.get();
  dp.txq_lock = rec->txq_locks.get();
  fillDpPort(dp, spec);

  // Each rx queue goes to its pinned PMD or to the PMD that polls the fewest queues now (queues
  // of other ports that leave a PMD the new pins isolate move after the port is published).
  rec->rxq_pmd = pmdsOf(planned, index, spec.queues);
  rec->policy = std::make_shared<const PortPolicy>(spec.policy);
  stats_.clearPort(index, totals(index));
  stats_.clearLatency(index);
  budget_seen_[index] = 0;

  bool up = false;
  if (vhost) {
    up = rec->vhost->vid.load(std::memory_order_acquire) >=
         0;  // a guest may connect at once; its event follows anyway
  } else {
    rte_eth_link link{};
    rte_eth_link_get_nowait(port_id, &link);
    up = link.link_status == RTE_ETH_LINK_UP;
  }
  PortRec* raw = rec.get();
  by_index_[index] = raw;
  if (vhost) {
    by_vhost_key_[raw->vhost_key] = raw;
  } else {
    by_port_id_[port_id] = raw;
  }
  ports_[spec.name] = std::move(rec);
  if (up) setLink(*raw, true);
  publish();
  rebalance();  // queues on a PMD that this port's pins isolate move off it
  spdlog::info("port {} added: type={} {}{} queues={} mtu={} (index {}, {})", spec.name,
               portTypeName(spec.type),
               vhost ? "path=" : "devargs=", vhost ? spec.path : spec.devargs, spec.queues,
               spec.mtu, index,
               vhost ? std::string("vhost library") : "ethdev " + std::to_string(port_id));
  return portObject(*raw);
}

void Switch::delPort(const std::string& name) {
  PortRec& p = findPort(name);
  const uint16_t index = p.dp->index;
  const uint16_t port_id = p.dp->port_id;
  by_index_[index] = nullptr;
  publish();  // after this no PMD touches the port
  drainLearnRings(true, index);
  macs_.flushPort(index);
  if (p.vhost) {
    stopVhost(p);  // the guest's connection too (destroy_device runs in this thread)
    by_vhost_key_.erase(p.vhost_key);
  } else {
    rte_eth_dev_stop(port_id);
    rte_eth_dev_close(port_id);
    if (p.device) rte_dev_remove(p.device);
    by_port_id_.erase(port_id);
  }
  spdlog::info("port {} removed", name);
  ports_.erase(name);
  rebalance();
}

void Switch::setPortPolicy(const std::string& name, const PortPolicy& policy) {
  PortRec& p = findPort(name);
  const bool vlans_changed = !(p.policy->vlan == policy.vlan);
  p.spec.policy = policy;
  p.policy = std::make_shared<const PortPolicy>(policy);
  publish();  // after this no PMD uses the old settings
  if (vlans_changed) {
    drainLearnRings(false, 0);
    const size_t flushed = macs_.flushPort(p.dp->index);
    spdlog::info("port {}: VLANs changed, {} MAC entries flushed", name, flushed);
  }
  updateMacLimits();
  spdlog::info("port {}: policy set", name);
}

void Switch::updateMacLimits() {
  for (auto& [n, p] : ports_) {
    const uint32_t limit = p->policy->mac_limit;
    const bool at = limit != 0 && macs_.portCount(p->dp->index) >= limit;
    p->dp->at_mac_limit.store(at, std::memory_order_relaxed);
  }
}

void Switch::delAllPorts() {
  std::vector<std::string> names;
  for (const auto& [n, p] : ports_) names.push_back(n);
  for (const auto& n : names) delPort(n);
}

void Switch::postLinkEvent(uint16_t port_id, bool up) {
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    events_.emplace_back(port_id, up);
  }
  wake();  // the control thread may be asleep for up to ControlPacer::kMaxMs
}

void Switch::postVhostEvent(uint64_t key, bool up) {
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    vhost_events_.emplace_back(key, up);
  }
  wake();
}

void Switch::waitForPmds() noexcept {
  // Threads that are not online (PMDs not started or stopped) are not waited for.
  rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
}

void Switch::setLink(PortRec& p, bool up) {
  if (p.link_up == up) return;
  p.link_up = up;
  p.dp->link_up.store(up, std::memory_order_relaxed);
  if (up) {
    if (p.ever_up) ++p.reconnects;
    p.ever_up = true;
    // The vhost library has moved the device to the guest memory's node (numa_realloc): the
    // port's queues go to PMDs there (rebalance, by poll() or the adding port.add).
    if (const int node = vhostNumaNode(p); p.vhost && node >= 0 && node != p.numa) {
      spdlog::info("port {}: guest memory on numa node {}", p.spec.name, node);
      p.numa = node;
      numa_changed_ = true;
    }
    spdlog::info("port {}: link up{}", p.spec.name,
                 p.reconnects ? " (reconnect " + std::to_string(p.reconnects) + ")" : "");
  } else {
    const size_t flushed = macs_.flushPort(p.dp->index);
    p.dp->at_mac_limit.store(false, std::memory_order_relaxed);
    spdlog::info("port {}: link down, {} MAC entries flushed", p.spec.name, flushed);
  }
}

size_t Switch::drainLearnRings(bool discard_for_removed, uint16_t removed_index) {
  const uint64_t now = rte_rdtsc();
  size_t drained = 0;
  LearnEvent evs[64];
  bool limited = false;
  for (rte_ring* ring : learn_rings_) {
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst_elem(ring, evs, sizeof(LearnEvent), 64, nullptr)) > 0) {
      drained += n;
      for (unsigned i = 0; i < n; ++i) {
        const LearnEvent& ev = evs[i];
        if (ev.port >= kMaxPorts || by_index_[ev.port] == nullptr) continue;
        if (discard_for_removed && ev.port == removed_index) continue;
        PortRec& p = *by_index_[ev.port];
        ++learn_events_;
        const uint32_t limit = p.policy->mac_limit;
        switch (macs_.learn(ev.vlan, ev.mac, ev.port, now, limit)) {
          case MacTable::LearnResult::kFull:
            ++learn_failed_;
            ++p.learn_full;
            break;
          case MacTable::LearnResult::kLimit:
            ++p.learn_limited;
            break;
          default:
            break;
        }
        limited |= limit != 0;
      }
    }
  }
  if (limited) updateMacLimits();
  return drained;
}

bool Switch::poll() {
  std::vector<std::pair<uint16_t, bool>> events;
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    events.swap(events_);
  }
  std::vector<std::pair<uint64_t, bool>> vevents;
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    vevents.swap(vhost_events_);
  }
  bool busy = !events.empty() || !vevents.empty();
  for (auto [port_id, up] : events) {
    auto it = by_port_id_.find(port_id);
    if (it == by_port_id_.end()) continue;
    // A down+up pair that arrived together is a reconnect: replay both transitions.
    setLink(*it->second, up);
  }
  for (auto [key, up] : vevents) {
    auto it = by_vhost_key_.find(key);
    if (it != by_vhost_key_.end()) setLink(*it->second, up);
  }
  if (numa_changed_) {
    numa_changed_ = false;
    rebalance();
  }
  busy |= drainLearnRings(false, 0) > 0;

  const uint64_t now = rte_rdtsc();
  if (now - last_link_poll_tsc_ > tsc_hz_ / 10) {
    // Devices without link-change interrupts (net_ring, some NICs) are polled.
    last_link_poll_tsc_ = now;
    for (auto& [id, p] : by_port_id_) {
      rte_eth_link link{};
      if (rte_eth_link_get_nowait(id, &link) != 0) continue;
      const bool up = link.link_status == RTE_ETH_LINK_UP;
      if (up == p->link_up) continue;
      setLink(*p, up);
      busy = true;
    }
  }
  if (cfg_.mac_aging_s > 0 && now - last_age_tsc_ > tsc_hz_) {
    last_age_tsc_ = now;
    const size_t aged = macs_.age(now, uint64_t{cfg_.mac_aging_s} * tsc_hz_);
    if (aged) {
      spdlog::debug("{} MAC entries aged out", aged);
      updateMacLimits();
    }
  }
  if (now - last_budget_tsc_ > tsc_hz_) {
    // Latency budget alarms, rate-limited to one line per port per second.
    last_budget_tsc_ = now;
    for (auto& [name, p] : ports_) {
      const uint16_t i = p->dp->index;
      uint64_t over = 0, worst = 0;
      for (const auto& pmd : pmds_) {
        over += pmd->stats().over_budget[i].get();
        worst = std::max(worst, pmd->stats().worst_over_budget[i].get());
      }
      if (over > budget_seen_[i]) {
        spdlog::warn(
            "port {}: {} packets over the latency budget of {} us in the last second "
            "(worst residence so far {:.1f} us) at {}",
            name, over - budget_seen_[i], p->spec.latency_budget_us, ticksToUs(worst),
            isoTime(realtimeNow()));
        budget_seen_[i] = over;
      }
    }
  }
  return busy;
}

PortTotals Switch::totals(uint16_t index) const {
  PortTotals t = stats_.portSum(index);
  if (by_index_[index] != nullptr && by_index_[index]->vhost) {
    t[kGuestNotifications] = guestNotifications(*by_index_[index]);
  } else if (by_index_[index] != nullptr) {
    // The driver counts receive buffers it could not allocate (the pool ran dry).
    rte_eth_stats es{};
    if (rte_eth_stats_get(by_index_[index]->dp->port_id, &es) == 0) {
      t.drops[kDropNoMbuf] += es.rx_nombuf;
    }
    t[kGuestNotifications] = guestNotifications(*by_index_[index]);
  }
  return t;
}

// The vhost library's per-virtqueue guest_notifications (both directions), summed.
uint64_t Switch::guestNotifications(const PortRec& p) const {
  if (!p.vhost) return 0;
  // Without a guest there is no device to ask: the count so far stays.
  const auto stats = vhostVringStats(p);
  if (stats.empty()) return p.notif_before + p.notif_raw;
  static constexpr std::string_view kSuffix = "_guest_notifications";
  uint64_t raw = 0;
  for (const auto& [name, value] : stats) {
    if (name.size() > kSuffix.size() && name.substr(name.size() - kSuffix.size()) == kSuffix) {
      raw += value;
    }
  }
  if (raw < p.notif_raw) p.notif_before += p.notif_raw;  // a new guest connection restarted them
  p.notif_raw = raw;
  return p.notif_before + raw;
}

}  // namespace rtvs
