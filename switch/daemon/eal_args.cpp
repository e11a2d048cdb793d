#include "switch/daemon/eal_args.h"

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "switch/daemon/log_control.h"

namespace rtvs {

std::vector<std::string> ealArgs(const Config& cfg, const std::string& argv0) {
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
    // /var/run/dpdk even after a SIGKILL.
    a.insert(a.end(), {"--in-memory", "-m", std::to_string(cfg.memory_mb)});
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
