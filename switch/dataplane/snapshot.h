#pragma once
// runs on a PMD thread: no locks, syscalls, allocation or logging
// The immutable view of the switch that the control thread publishes to the PMDs (one atomic
// pointer store) and frees after an RCU grace period.

#include <array>
#include <cstdint>
#include <vector>

#include "switch/dataplane/dp_port.h"

namespace rtvs {

struct RxqRef {
  DpPort* port;
  uint16_t queue;
};

struct Snapshot {
  uint64_t generation = 0;
  std::array<DpPort*, kMaxPorts> ports{};  // by switch port index; nullptr = free index
  std::vector<uint16_t> port_list;          // indices in use, for flooding
  std::array<std::vector<RxqRef>, kMaxPmds> rxqs;  // poll list of each PMD
};

}  // namespace rtvs
