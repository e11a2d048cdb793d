// Native vhost-user ports: DPDK's vhost library driven directly (as Open vSwitch's netdev-dpdk
// does), so that a guest port uses no ethdev. The library's callbacks run on its own threads
// (vhost-events, vhost-reconnect) or, for a guest still connected when its port is deleted, on
// the control thread inside rte_vhost_driver_unregister().
#include <rte_vhost.h>

#include <climits>
#include <map>
#include <mutex>
#include <optional>

#include "switch/daemon/switch.h"

namespace rtvs {

namespace {

// Feature bits of the virtio spec (linux/virtio_net.h does not compile as C++).
// Offloads the switch does not offer: it forwards frames as they are and computes no checksum,
// so a guest must hand over complete ones (without VIRTIO_NET_F_CSUM it cannot use TSO, UFO or
// ECN either). net_vhost computed missing TCP/UDP checksums on the PMD instead; Open vSwitch
// turns these features off the same way unless its userspace TSO is on.
constexpr uint64_t kOffloadsOff = (1ULL << 0) /* CSUM */ | (1ULL << 11) /* HOST_TSO4 */ |
                                  (1ULL << 12) /* HOST_TSO6 */ | (1ULL << 13) /* HOST_ECN */ |
                                  (1ULL << 14) /* HOST_UFO */;

// Registered sockets by the path given to the library (what rte_vhost_get_ifname returns). The
// mutex also orders the control thread's statistics reads against destroy_device: a vid read
// under it stays valid until it is released.
struct VhostReg {
  Switch* sw;
  uint64_t key;
  VhostDev* dev;
};
std::mutex g_vhost_mu;
std::map<std::string, VhostReg>& registry() {
  static std::map<std::string, VhostReg> r;
  return r;
}

std::string ifname(int vid) {
  char path[PATH_MAX];
  if (rte_vhost_get_ifname(vid, path, sizeof path) != 0) return {};
  return path;
}

// Finds vid's socket in the registry and links its device (up: the guest's vid, else -1) under
// the registry's lock; nothing when the socket is not (or no longer) registered.
std::optional<VhostReg> linkDevice(int vid, bool up) {
  const std::string path = ifname(vid);
  std::lock_guard<std::mutex> lock(g_vhost_mu);
  auto it = registry().find(path);
  if (it == registry().end()) return std::nullopt;
  if (up) {
    // Like net_vhost: the guest need not kick the switch, whose PMDs poll.
    for (uint16_t q = 0; q < rte_vhost_get_vring_num(vid); ++q) {
      rte_vhost_enable_guest_notification(vid, q, 0);
    }
  }
  it->second.dev->vid.store(up ? vid : -1, std::memory_order_release);
  return it->second;
}

int newDevice(int vid) {
  const auto reg = linkDevice(vid, true);
  if (!reg) return -1;
  reg->sw->postVhostEvent(reg->key, true);
  return 0;
}

void destroyDevice(int vid) {
  const auto reg = linkDevice(vid, false);
  if (!reg) return;
  // The library frees the device when this returns: no PMD may still be inside a burst on it.
  reg->sw->waitForPmds();
  reg->sw->postVhostEvent(reg->key, false);
}

int vringStateChanged(int, uint16_t, int) {
  // The library skips disabled virtqueues itself (a burst on one moves nothing).
  return 0;
}

const rte_vhost_device_ops kOps = {
    .new_device = newDevice,
    .destroy_device = destroyDevice,
    .vring_state_changed = vringStateChanged,
    .features_changed = nullptr,
    .new_connection = nullptr,
    .destroy_connection = nullptr,
    .guest_notified = nullptr,
    .reserved = {nullptr},
};

}  // namespace

void Switch::startVhost(PortRec& rec, const std::string& path) {
  // The flags net_vhost used (its defaults), and no checksum or segmentation offloads
  // (kOffloadsOff); the library's per-virtqueue statistics give port.xstats and
  // guest_notifications.
  uint64_t flags = RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS | RTE_VHOST_USER_NET_STATS_ENABLE;
  if (rec.spec.type == PortType::kVhostUserClient) flags |= RTE_VHOST_USER_CLIENT;
  const std::string where = "port \"" + rec.spec.name + "\": ";
  if (rte_vhost_driver_register(path.c_str(), flags) != 0) {
    throw RpcError(rpc_code::kFailed, where + "cannot create vhost-user port on " + rec.spec.path +
                                          " (see the daemon log)");
  }
  rec.vhost_path = path;
  rec.vhost_key = ++vhost_keys_;
  {
    std::lock_guard<std::mutex> lock(g_vhost_mu);
    registry()[path] = VhostReg{this, rec.vhost_key, rec.vhost.get()};
  }
  const char* step = nullptr;
  if (rte_vhost_driver_callback_register(path.c_str(), &kOps) != 0) {
    step = "callbacks";
  } else if (rte_vhost_driver_disable_features(path.c_str(), kOffloadsOff) != 0) {
    step = "features";
  } else if (rte_vhost_driver_start(path.c_str()) != 0) {
    step = "start";
  }
  if (step != nullptr) {
    stopVhost(rec);
    throw RpcError(rpc_code::kFailed, where + "cannot create vhost-user port on " + rec.spec.path +
                                          " (" + step + "; see the daemon log)");
  }
}

void Switch::stopVhost(PortRec& rec) {
  if (rec.vhost_path.empty()) return;
  // Closes the guest's connection (destroy_device, which finds the registry entry still there)
  // and, for a server, removes the socket.
  rte_vhost_driver_unregister(rec.vhost_path.c_str());
  {
    std::lock_guard<std::mutex> lock(g_vhost_mu);
    registry().erase(rec.vhost_path);
  }
  rec.vhost->vid.store(-1, std::memory_order_release);
  rec.vhost_path.clear();
}

int Switch::vhostNumaNode(const PortRec& p) const {
  if (!p.vhost) return -1;
  std::lock_guard<std::mutex> lock(g_vhost_mu);  // the vid stays valid while it is held
  const int vid = p.vhost->vid.load(std::memory_order_acquire);
  return vid < 0 ? -1 : rte_vhost_get_numa_node(vid);
}

std::vector<std::pair<std::string, uint64_t>> Switch::vhostVringStats(const PortRec& p) const {
  std::vector<std::pair<std::string, uint64_t>> out;
  if (!p.vhost) return out;
  std::lock_guard<std::mutex> lock(g_vhost_mu);
  const int vid = p.vhost->vid.load(std::memory_order_acquire);
  if (vid < 0) return out;
  const uint16_t n_vrings = rte_vhost_get_vring_num(vid);
  std::vector<rte_vhost_stat_name> names;
  std::vector<rte_vhost_stat> values;
  // Virtqueue 2q is the guest's rx queue q (the switch transmits), 2q+1 its tx queue q.
  for (uint16_t vq = 0; vq < n_vrings && vq < 2 * p.spec.queues; ++vq) {
    const int n = rte_vhost_vring_stats_get_names(vid, vq, nullptr, 0);
    if (n <= 0) continue;
    names.resize(n);
    values.resize(n);
    if (rte_vhost_vring_stats_get_names(vid, vq, names.data(), n) != n ||
        rte_vhost_vring_stats_get(vid, vq, values.data(), n) != n) {
      continue;
    }
    const std::string prefix = std::string(vq % 2 ? "rx_q" : "tx_q") + std::to_string(vq / 2) + "_";
    for (const rte_vhost_stat& v : values) {
      if (v.id >= static_cast<uint64_t>(n)) continue;
      const std::string name = names[v.id].name;
      // The library names them "<rx|tx>_q<N>_<counter>" already.
      out.emplace_back(name.rfind(prefix, 0) == 0 ? name : prefix + name, v.value);
    }
  }
  return out;
}

}  // namespace rtvs
