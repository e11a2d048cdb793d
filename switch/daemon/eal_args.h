#pragma once
// EAL start-up from the configuration.

#include <string>
#include <vector>

#include "switch/core/config.h"

namespace rtvs {

// The EAL argument vector: lcore 0 (the main/control thread) floats over the housekeeping
// cores, lcores 1..N are the PMDs, one per PMD core.
std::vector<std::string> ealArgs(const Config& cfg, const std::string& argv0);

// Restricts the calling thread (before rte_eal_init: the whole process) to the housekeeping
// cores, so that threads DPDK creates later never land on a PMD core. Throws on failure.
void pinToHousekeeping(const Config& cfg);

}  // namespace rtvs
