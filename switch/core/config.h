#pragma once
// The daemon's boot configuration: one model, loaded from TOML (configs/rtvswitch.toml), from
// JSON, and overridden from the command line. Validation errors name the key and the reason.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "switch/core/devargs_policy.h"
#include "switch/core/port_spec.h"

namespace rtvs {

// The PMD priority of the real-time profile when pmd-priority is not set: above RT vCPUs at
// SCHED_FIFO 1 (configs/rtvswitch-rt-guest.xml), below the PMD cores' kthreads.
constexpr int kRealtimePmdPriority = 50;

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kCritical, kOff };

// Each field is a key of config_keys.cpp's table, which gives its name, checks and flag.
struct Config {
  std::vector<unsigned> pmd_cores{1};               // "pmd-cores": cpu list, e.g. "2,4-6" or [2,4]
  std::vector<unsigned> housekeeping_cores{0};      // "housekeeping-cores"
  std::string socket_dir = "/run/rtvswitch/vhost";  // "socket-dir": guest (vhost-user) sockets
  std::string socket_dir_group;  // "socket-dir-group": group of socket-dir; "" = unchanged
  std::string socket_dir_mode;   // "socket-dir-mode": octal mode of socket-dir; "" = unchanged
  std::string state_file = "/var/lib/rtvswitch/ports.json";     // "state-file"; "" = no state
  std::string control_socket = "/run/rtvswitch/rtvswitch.ctl";  // "control-socket"
  unsigned memory_mb = 512;               // "memory-mb": hugepage memory for mbufs
  unsigned memory_limit_mb = 0;           // "memory-limit-mb": per-node cap, 0 = none
  bool no_huge = false;                   // "no-huge": run without hugepages (tests only; no vhost)
  std::string file_prefix = "rtvswitch";  // "file-prefix": EAL --file-prefix
  unsigned mbufs = 16384;                 // "mbufs": mbufs in the packet pool
  unsigned mac_aging_s = 300;             // "mac-aging-sec": 0 disables aging
  unsigned mac_table_size = 8192;         // "mac-table-size": max learned entries (power of two)
  LogLevel log_level = LogLevel::kInfo;   // "log-level": trace|debug|info|warn|error|critical|off
  int pmd_priority = 0;  // "pmd-priority": 0 = normal scheduling; 1-99 = SCHED_FIFO
  bool mlockall = true;  // "mlockall": a failure refuses start (see allow-degraded)
  // "realtime": the real-time profile: SCHED_FIFO PMDs (pmd-priority kRealtimePmdPriority unless
  // set), mlockall, and the host preconditions of FIFO PMDs enforced at start.
  bool realtime = false;
  // "allow-degraded": unmet real-time preconditions (FIFO not applied, RT throttling, fair
  // server, PMD core not isolated, mlockall) are warnings and mark the switch degraded.
  bool allow_degraded = false;
  bool latency_accounting = true;     // "latency-accounting": residence/poll-gap histograms
  std::string metrics_listen;         // "metrics-listen": "127.0.0.1:9477"; empty = off
  std::vector<std::string> eal_args;  // "eal-args": extra EAL arguments, appended verbatim
  // Control-plane authorization (docs/api.md "Roles"; README "Security").
  std::string control_admin_group;  // "control-admin-group": "" = only root and the daemon's uid
  std::string control_read_group;   // "control-read-group": "" = the control socket's group
  std::vector<std::string> allowed_socket_dirs;  // "allowed-socket-dirs" (+ socket-dir always)
  std::vector<std::string> dpdk_allow = defaultDpdkAllow();  // "dpdk-allow": devargs allow-list
  unsigned control_mutation_rate = 50;  // "control-mutation-rate": admin calls/s per uid, 0 = off
  unsigned control_mutation_burst = 1000;  // "control-mutation-burst"
  std::vector<PortSpec> ports;             // "[[port]]" tables: name = "...", plus port options

  bool operator==(const Config&) const = default;
};

// Parses TOML text. `source` names the file in messages ("rtvswitch.toml:12: ..."). Unknown keys,
// wrong types and bad values throw ConfigError naming the key. The result has passed
// validateConfig.
Config loadConfigToml(const std::string& text, const std::string& source);
// The same model from a JSON object with the same keys ("port": [ {...}, ... ]). `source`, if
// not empty, names the origin in messages.
Config loadConfigJson(const nlohmann::json& j, const std::string& source = "");
// Reads `path`: JSON if it ends in ".json", TOML otherwise. Throws ConfigError (also when the
// file cannot be read).
Config loadConfigFile(const std::string& path);

// The real-time profile: with realtime = true, pmd-priority 0 becomes kRealtimePmdPriority.
void applyRealtimeProfile(Config& cfg);

// Cross-field checks (e.g. PMD and housekeeping cores disjoint, no duplicate port names, aging
// and table size ranges). Throws ConfigError.
void validateConfig(const Config& cfg);

// Parses a cpu list "0,2-4" → {0,2,3,4}. Throws ConfigError (key used in the message).
std::vector<unsigned> parseCpuList(const std::string& text, const std::string& key);
std::string formatCpuList(const std::vector<unsigned>& cpus);

// "2770" → 02770: 3 or 4 octal digits. Throws ConfigError naming `key`.
unsigned parseFileMode(const std::string& text, const std::string& key);

LogLevel parseLogLevel(const std::string& text, const std::string& key);
const char* logLevelName(LogLevel level) noexcept;

// The daemon's command line: --config FILE, the flag of each key (config_keys.h: --pmd-cores,
// --mlockall/--no-mlockall, --eal-arg (repeatable, appended), ...), --no-state,
// --port "NAME key=value ..." (repeatable, appended to the file's ports) and --check-host.
struct DaemonArgs {
  Config config;
  bool check_host = false;  // print the host real-time check and exit
  bool exit_now = false;    // --help / --version were printed: exit with `exit_code`
  int exit_code = 0;
};
// Reads the config file (if given) then applies the overrides, then validateConfig.
// Throws ConfigError for bad input; --help and --version set exit_now.
DaemonArgs parseDaemonArgs(int argc, const char* const* argv);

}  // namespace rtvs
