#pragma once
// The host-check input a daemon configuration implies: the one builder that the daemon
// (`rtvswitch`'s real-time preconditions and --check-host) and `vswitchctl host check --config`
// share.

#include <string>

#include "hostcheck/host_check.h"
#include "switch/core/config.h"

namespace rtvs {

// The PMD and housekeeping cores, the PMD priority (after the real-time profile) and the hugepage
// memory the daemon will ask for (none with no-huge); root and NICs keep their defaults.
HostCheckInput hostCheckInput(const Config& cfg);

// The same from a config file read as the daemon reads it (loadConfigFile: JSON if the name ends
// in ".json", TOML otherwise). Throws ConfigError naming the file.
HostCheckInput hostCheckInputFromFile(const std::string& path);

}  // namespace rtvs
