#include "switch/daemon/eal_args.h"

#include <numa.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "switch/core/numa_memory.h"
#include "switch/daemon/log_control.h"

namespace rtvs {

NumaTopology NumaTopology::probe() {
  NumaTopology t;
  if (numa_available() < 0) return t;  // no NUMA: everything on node 0
  t.nodes = static_cast<unsigned>(numa_max_node() + 1);
  const int cpus = numa_num_configured_cpus();
  for (int c = 0; c < cpus; ++c) t.cpu_node.push_back(std::max(0, numa_node_of_cpu(c)));
  return t;
}

std::vector<std::string> ealArgs(const Config& cfg, const std::string& argv0,
                                 const NumaTopology& topo) {
  std::string lcores = "0@(" + formatCpuList(cfg.housekeeping_cores) + ")";
  for (size_t i = 0; i < cfg.pmd_cores.size(); ++i) {
    lcores += "," + std::to_string(i + 1) + "@" + std::to_string(cfg.pmd_cores[i]);
  }
  std::vector<std::string> a = {argv0, "--lcores",      lcores,         "--main-lcore",
                                "0",   "--file-prefix", cfg.file_prefix};
  if (cfg.no_huge) {
    a.insert(a.end(), {"--no-huge", "--no-shconf", "-m", std::to_string(cfg.memory_mb)});
  } else {
    // In-memory: hugepages come from memfd, so nothing is left in /dev/hugepages or
    // /var/run/dpdk even after a SIGKILL. Memory on each node the PMDs and the control thread
    // run on.
    std::vector<int> nodes;
    for (unsigned c : cfg.pmd_cores) nodes.push_back(topo.nodeOf(c));
    for (unsigned c : cfg.housekeeping_cores) nodes.push_back(topo.nodeOf(c));
    a.push_back("--in-memory");
    const auto mem = socketMemArgs(nodes, topo.nodes, cfg.memory_mb, cfg.memory_limit_mb);
    a.insert(a.end(), mem.begin(), mem.end());
  }
  a.insert(a.end(), {"--log-level", std::string("*:") + dpdkLogLevelName(cfg.log_level)});
  a.insert(a.end(), cfg.eal_args.begin(), cfg.eal_args.end());
  return a;
}

void pinToHousekeeping(const Config& cfg) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (unsigned c : cfg.housekeeping_cores) {
    if (c >= CPU_SETSIZE)
      throw std::runtime_error("housekeeping-cores: cpu " + std::to_string(c) + " out of range");
    CPU_SET(c, &set);
  }
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    throw std::runtime_error("housekeeping-cores: cannot run on " +
                             formatCpuList(cfg.housekeeping_cores) + ": " + strerror(errno));
  }
}

}  // namespace rtvs
