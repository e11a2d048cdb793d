#pragma once
// runs on a PMD thread: no locks, syscalls, allocation or logging
// The immutable view of the switch that the control thread publishes to the PMDs (one atomic
// pointer store) and frees after an RCU grace period.

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "switch/core/port_policy.h"
#include "switch/dataplane/dp_port.h"

namespace rtvs {

struct RxqRef {
  DpPort* port;
  uint16_t queue;
};

// A port that a flooded frame of some VLAN goes to, and whether it goes tagged.
struct FloodEntry {
  uint16_t port;
  bool tagged;
};

struct Snapshot {
  uint64_t generation = 0;
  std::array<DpPort*, kMaxPorts> ports{};  // by switch port index; nullptr = free index
  // VLAN and port-security settings by port index (non-null where ports[i] is); the snapshot
  // keeps them alive.
  std::array<const PortPolicy*, kMaxPorts> policy{};
  std::vector<std::shared_ptr<const PortPolicy>> policy_refs;
  // Flooding: VLAN → index into floods, the ports carrying it (VLANs nobody names share a list).
  std::array<uint16_t, 4096> flood_of{};
  std::vector<std::vector<FloodEntry>> floods;
  std::array<std::vector<RxqRef>, kMaxPmds> rxqs;  // poll list of each PMD
};

}  // namespace rtvs
