#include "hostcheck/config_input.h"

namespace rtvs {

HostCheckInput hostCheckInput(const Config& cfg) {
  HostCheckInput in;
  in.pmd_cores = cfg.pmd_cores;
  in.housekeeping_cores = cfg.housekeeping_cores;
  in.pmd_priority = cfg.pmd_priority;
  in.hugepages_mb = cfg.no_huge ? 0 : cfg.memory_mb;
  return in;
}

HostCheckInput hostCheckInputFromFile(const std::string& path) {
  return hostCheckInput(loadConfigFile(path));
}

}  // namespace rtvs
