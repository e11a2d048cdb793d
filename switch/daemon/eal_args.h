#pragma once
// EAL start-up from the configuration.

#include <string>
#include <vector>

#include "switch/core/config.h"

namespace rtvs {

// The host's NUMA topology as libnuma gives it (a host without NUMA support: one node 0).
struct NumaTopology {
  unsigned nodes = 1;
  std::vector<int> cpu_node;  // node of each cpu; cpus beyond it: node 0
  int nodeOf(unsigned cpu) const { return cpu < cpu_node.size() ? cpu_node[cpu] : 0; }
  static NumaTopology probe();
};

// The EAL argument vector: lcore 0 (the main/control thread) floats over the housekeeping
// cores, lcores 1..N are the PMDs, one per PMD core. With hugepages, memory-mb (and
// memory-limit-mb) on each NUMA node of the PMD and housekeeping cores (socketMemArgs).
std::vector<std::string> ealArgs(const Config& cfg, const std::string& argv0,
                                 const NumaTopology& topo = NumaTopology::probe());

// Restricts the calling thread (before rte_eal_init: the whole process) to the housekeeping
// cores, so that threads DPDK creates later never land on a PMD core. Throws on failure.
void pinToHousekeeping(const Config& cfg);

}  // namespace rtvs
