#include "switch/core/config_keys.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <set>
#include <sstream>

#include "switch/core/devargs_policy.h"
#include "switch/core/port_spec.h"

namespace rtvs {

namespace {

[[noreturn]] void fail(std::string_view key, const std::string& reason) {
  throw ConfigError(std::string(key) + ": " + reason);
}

void checkNotEmpty(const std::string& value, std::string_view key) {
  if (value.empty()) fail(key, "must not be empty");
}

void checkGroupName(const std::string& g, std::string_view key) {
  const bool ok = std::all_of(g.begin(), g.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
  if (!ok || (!g.empty() && g[0] == '-')) {
    fail(key, "must be a group name of [A-Za-z0-9_.-], got " + quotedValue(g));
  }
}

void checkFileMode(const std::string& mode, std::string_view key) {
  if (!mode.empty()) parseFileMode(mode, std::string(key));
}

void checkStateFile(const std::string& path, std::string_view key) {
  if (path.empty()) return;
  if (path.front() != '/')
    fail(key, "must be an absolute path or empty (off), got " + quotedValue(path));
  if (path.back() == '/') fail(key, "must name a file, got " + quotedValue(path));
  if (path.find('\0') != std::string::npos) fail(key, "must not contain a NUL byte");
}

void checkSocketFile(const std::string& path, std::string_view key) {
  if (path.empty()) fail(key, "must not be empty");
  if (path.size() > kMaxSocketPath) {
    fail(key, "must be at most " + std::to_string(kMaxSocketPath) + " bytes, got " +
                  std::to_string(path.size()));
  }
}

void checkFilePrefix(const std::string& prefix, std::string_view key) {
  if (prefix.empty() || prefix.find('/') != std::string::npos) {
    fail(key, "must be non-empty and contain no '/', got " + quotedValue(prefix));
  }
}

void checkMetricsListen(const std::string& text, std::string_view key) {
  if (text.empty()) return;
  const std::string usage = "must be HOST:PORT (or empty for off), got " + quotedValue(text);
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) fail(key, usage);
  const std::string host = text.substr(0, colon);
  const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (!bracketed && host.find_first_of(":[] \t") != std::string::npos) fail(key, usage);
  const std::string port = text.substr(colon + 1);
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || v == 0 ||
      v > 65535) {
    fail(key, "port must be 1..65535, got " + quotedValue(port));
  }
}

void checkAllowedDirs(const std::vector<std::string>& dirs, std::string_view key) {
  for (const std::string& d : dirs) {
    if (d.empty() || d[0] != '/') fail(key, "must be absolute directories, got " + quotedValue(d));
  }
}

void checkDevargsRules(const std::vector<std::string>& rules, std::string_view /*key*/) {
  parseDevargsRules(rules);  // its messages name dpdk-allow
}

// The example config's text around the keys.
constexpr std::string_view kPreamble =
    R"(# rtvswitch boot configuration. Every key is shown at its default value, except
# socket-dir-group and socket-dir-mode, set for QEMU run by libvirt on Debian (user and group
# libvirt-qemu).
# Options given on the command line (e.g. --pmd-cores 2,3) override this file; see
# `rtvswitch --help`. Unknown keys are an error.
)";

constexpr std::string_view kPortSection = R"(
# Ports to create at start-up (more can be added at run time: vswitchctl port add). Each [[port]]
# table has a name (1-64 characters of A-Z a-z 0-9 _ . -, not starting with . or -) and the
# options of `vswitchctl port add`:
#   type              vhostuserclient (default: QEMU is the socket server, the switch reconnects),
#                     vhostuser (the switch creates the socket) or dpdk (any ethdev by devargs)
#   path              the vhost-user socket; required for vhostuserclient, for vhostuser it
#                     defaults to <socket-dir>/<name>; its directory must exist and lie in
#                     socket-dir or allowed-socket-dirs; no ','
#   devargs           dpdk only: a PCI address ("0000:01:00.0") or a vdev
#                     ("net_tap0,iface=rtvstap0"), as dpdk-allow permits
#   queues            rx/tx queue pairs, 1..16 (default 1)
#   mtu               L3 MTU, 68..9600 (default 1500)
#   latency-budget-us 0..1000000; 0 = no latency budget alarm (default)
#   tx-retry-us       0..10000 (default 20): how long a frame the egress queue did not take waits
#                     in the PMD's tx buffer, offered again each PMD iteration, before it drops
#                     (tx_full); 0 = drop at once. The PMD never spins on a full queue.
#   rxq-affinity      "QUEUE:CPU,...": pins rx queues to the PMDs on those CPUs (an RT port); a
#                     PMD with a pinned queue polls only pinned queues (default: none, by load)
# VLANs (802.1Q, Open vSwitch's meanings; default: a trunk of every VLAN, untagged frames stay
# untagged, tagged ones keep their tag):
#   tag               1..4094: access port of this VLAN (frames leave untagged; tagged frames
#                     arriving are dropped), or the native VLAN of a native-* port
#   trunks            "10,20-30": the VLANs a trunk carries (tagged); untagged frames arriving
#                     on a trunk with a list are dropped (use a native mode for them)
#   vlan-mode         access (default with tag) | trunk (default without) | native-tagged
#                     (untagged frames arriving join VLAN `tag`, all leave tagged) |
#                     native-untagged (as native-tagged, but VLAN `tag` leaves untagged)
# Port security (default: off):
#   allowed-macs      "52:54:00:00:00:01,...": the only source MACs accepted (others dropped and
#                     counted `spoof`, never learned); up to 64
#   mac-limit         0..16777216 learned MACs on this port (frames from more: dropped, `mac_limit`)
#   storm-broadcast-pps, storm-multicast-pps, storm-unknown-unicast-pps
#                     0..1000000000 flooded frames per second the port may send (per PMD); over
#                     it: dropped, counted `storm`
# mtu, latency-budget-us, tx-retry-us, rxq-affinity and all VLAN and port-security options can
# change while the port runs (vswitchctl port set); the others need the port deleted and added
# again.
# Uncomment to use:
#[[port]]
#name = "vm1"
#type = "vhostuserclient"
#path = "/run/rtvswitch/vhost/vm1.sock"
#queues = 1
#mtu = 1500
#latency-budget-us = 0
#tx-retry-us = 20

#tag = 10
#allowed-macs = "52:54:00:00:00:01"
#mac-limit = 4
#storm-broadcast-pps = 1000

#[[port]]
#name = "vm2"
#type = "vhostuser"
#queues = 2

#[[port]]
#name = "nic0"
#type = "dpdk"
#devargs = "0000:3b:00.0"
#trunks = "10,20-30"
)";

// Every key. The order is the example config's and --help's. A row names only what it sets: GCC
// 12 warns about designated initializers that leave members to their defaults.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
const ConfigKey kKeys[] = {
    {
        .name = "pmd-cores",
        .field = &Config::pmd_cores,
        .flag = "--pmd-cores",
        .metavar = "LIST",
        .help = "cpus for PMD threads, e.g. 2,4-6",
        .doc = R"(
CPUs for the poll-mode (PMD) threads: a cpu list string ("2,4-6") or an array ([2, 4, 5, 6]).
Each PMD busy-polls its CPU at 100%: isolate these CPUs (isolcpus=, nohz_full=, rcu_nocbs=).)",
    },
    {
        .name = "housekeeping-cores",
        .field = &Config::housekeeping_cores,
        .flag = "--housekeeping-cores",
        .metavar = "LIST",
        .help = "cpus for the control and DPDK threads",
        .doc = R"(
CPUs for everything else: the control thread and DPDK's own threads. Must not overlap
pmd-cores.)",
    },
    {
        .name = "socket-dir",
        .field = &Config::socket_dir,
        .check = checkNotEmpty,
        .flag = "--socket-dir",
        .metavar = "DIR",
        .help = "directory of guest (vhost-user) sockets",
        .doc = R"(
Directory of the guests' vhost-user sockets: QEMU creates its server socket here for
"vhostuserclient" ports (see configs/rtvswitch-rt-guest.xml), and "vhostuser" ports that give no
path get <socket-dir>/<name>. Created at start if missing. Apart from the control socket, so
that guests can reach one and not the other.)",
    },
    {
        .name = "socket-dir-group",
        .field = &Config::socket_dir_group,
        .check = checkGroupName,
        .flag = "--socket-dir-group",
        .metavar = "GROUP",
        .help = "group of socket-dir, empty = unchanged",
        .doc = R"(
Group given to socket-dir at every start ("" = leave it), so that QEMU running as another user
(libvirt: user libvirt-qemu) can create and reach sockets there. A group that does not exist is
an error at start. Default "".)",
        .example = R"("libvirt-qemu")",
    },
    {
        .name = "socket-dir-mode",
        .field = &Config::socket_dir_mode,
        .check = checkFileMode,
        .flag = "--socket-dir-mode",
        .metavar = "MODE",
        .help = "octal mode of socket-dir (e.g. 2770), empty = unchanged",
        .doc = R"(
Mode given to socket-dir at every start: 3 or 4 octal digits ("" = leave it). 2770: the group
may create sockets, others may not enter; setgid, so sockets belong to the group. Default "".)",
        .example = R"("2770")",
    },
    {
        .name = "state-file",
        .field = &Config::state_file,
        .check = checkStateFile,
        .flag = "--state-file",
        .metavar = "PATH",
        .help = "where run-time ports are saved",
        .doc = R"(
Where the ports added, changed and deleted at run time are saved (an absolute path; "" = keep
no state, as --no-state). Every port add/del/set is written there (atomically: temporary file,
fsync, rename) before it is answered; at start the daemon creates the config file's [[port]]s,
then the saved ports that are not in the config file: for a port in both, the config file wins
(run-time changes to config-file ports last until the next start). A file that cannot be read
or parsed is logged, kept aside as <state-file>.bad-<UTC time> and the daemon starts with the
config file's ports; a saved port that cannot be recreated (e.g. its socket directory is gone)
is logged and kept in the file until `vswitchctl port del` of it.)",
    },
    {
        .name = "control-socket",
        .field = &Config::control_socket,
        .check = checkSocketFile,
        .flag = "--control-socket",
        .metavar = "PATH",
        .help = "JSON-RPC socket path",
        .doc = R"(
The JSON-RPC control socket that vswitchctl talks to (at most 107 bytes).)",
    },
    {
        .name = "memory-mb",
        .field = &Config::memory_mb,
        .range = {64, 65536},
        .flag = "--memory-mb",
        .metavar = "MIB",
        .help = "hugepage memory in MiB per NUMA node used",
        .doc = R"(
Hugepage memory in MiB (64..65536) on each NUMA node the switch uses: the nodes of its PMD
cores (each has its own packet pool and PMD statistics there) and of its housekeeping cores
(EAL --socket-mem; on a single-node host the whole amount). With no-huge, the whole memory.)",
    },
    {
        .name = "memory-limit-mb",
        .field = &Config::memory_limit_mb,
        .range = {0, 65536},
        .flag = "--memory-limit-mb",
        .metavar = "MIB",
        .help = "most hugepage memory per NUMA node used, 0 = no limit",
        .doc = R"(
The most hugepage memory in MiB (0..65536; 0 = no limit) the switch may take on each NUMA node
it uses (EAL --socket-limit; never below memory-mb), so that it leaves the rest of the node's
hugepages to the guests. Ignored with no-huge.)",
    },
    {
        .name = "no-huge",
        .field = &Config::no_huge,
        .flag = "--no-huge",
        .help = "run without hugepages (tests)",
        .doc = R"(
Run without hugepages: for tests only, vhost-user guests cannot share such memory.)",
    },
    {
        .name = "file-prefix",
        .field = &Config::file_prefix,
        .check = checkFilePrefix,
        .flag = "--file-prefix",
        .metavar = "PREFIX",
        .help = "EAL --file-prefix",
        .doc = R"(
EAL --file-prefix: must differ between DPDK processes on one host.)",
    },
    {
        .name = "mbufs",
        .field = &Config::mbufs,
        .range = {1024, 4194304},
        .flag = "--mbufs",
        .metavar = "N",
        .help = "mbufs in each packet pool (one per NUMA node with PMDs)",
        .doc = R"(
Mbufs in the packet pool (1024..4194304) of each NUMA node that runs PMDs: a PMD receives into
its own node's pool.)",
    },
    {
        .name = "mac-aging-sec",
        .field = &Config::mac_aging_s,
        .range = {0, 86400},
        .flag = "--mac-aging-sec",
        .metavar = "SEC",
        .help = "MAC aging time, 0 = off",
        .doc = R"(
Seconds after which an unseen MAC address is forgotten (0..86400; 0 = never).)",
    },
    {
        .name = "mac-table-size",
        .field = &Config::mac_table_size,
        .range = {16, 16777216},
        .power_of_two = true,
        .flag = "--mac-table-size",
        .metavar = "N",
        .help = "max learned MACs (power of two)",
        .doc = R"(
Most MAC addresses learned at once (a power of two, 16..16777216).)",
    },
    {
        .name = "log-level",
        .field = &Config::log_level,
        .flag = "--log-level",
        .metavar = "LEVEL",
        .help = "trace|debug|info|warn|error|critical|off",
        .doc = R"(
trace, debug, info, warn, error, critical or off.)",
    },
    {
        .name = "pmd-priority",
        .field = &Config::pmd_priority,
        .range = {0, 99},
        .flag = "--pmd-priority",
        .metavar = "PRIO",
        .help = "0 = normal scheduling, 1-99 = SCHED_FIFO",
        .doc = R"(
Scheduling of the PMD threads: 0 = normal (SCHED_OTHER), 1..99 = SCHED_FIFO at that priority.
With SCHED_FIFO a busy-polling thread can starve its CPU's kernel threads: isolate it first.)",
    },
    {
        .name = "mlockall",
        .field = &Config::mlockall,
        .flag = "--mlockall,!--no-mlockall",
        .help = "lock all memory (default on)",
        .doc = R"(
Lock all the daemon's memory (mlockall) so that page faults never stall a PMD. When asked
for, a failure refuses start (unless allow-degraded).)",
    },
    {
        .name = "realtime",
        .field = &Config::realtime,
        .flag = "--realtime",
        .help = "real-time profile: SCHED_FIFO PMDs (pmd-priority 50 unless set), mlockall, host "
                "preconditions enforced",
        .doc = R"(
The real-time profile (see configs/rtvswitch-rt.toml and docs/realtime.md): SCHED_FIFO PMDs
(pmd-priority 50 unless set), mlockall, and with FIFO PMDs the host preconditions enforced at
start: the FIFO priority applied, RT throttling off, no fair-server runtime on PMD cores
(Linux >= 6.12), PMD cores isolated. Each unmet one refuses start with a one-line reason.)",
    },
    {
        .name = "allow-degraded",
        .field = &Config::allow_degraded,
        .flag = "--allow-degraded",
        .help = "start even when real-time preconditions are not met (warnings; marked degraded)",
        .doc = R"(
Start anyway when a real-time precondition (above) or mlockall fails: each is a warning and
the switch is marked degraded (pmd show, stats, rtvswitch_realtime_degraded_bool).)",
    },
    {
        .name = "latency-accounting",
        .field = &Config::latency_accounting,
        .flag = "--latency-accounting,!--no-latency-accounting",
        .help = "residence-time and poll-gap histograms (default on)",
        .doc = R"(
Always-on latency accounting: per-port residence-time and per-PMD poll-gap histograms
(vswitchctl latency show, pmd perf, Prometheus). Costs well under 3% of the forwarding rate.)",
    },
    {
        .name = "metrics-listen",
        .field = &Config::metrics_listen,
        .check = checkMetricsListen,
        .flag = "--metrics-listen",
        .metavar = "HOST:PORT",
        .help = "Prometheus metrics address, empty = off",
        .doc = R"(
Serve Prometheus metrics on HOST:PORT, e.g. "127.0.0.1:9477"; empty = off.)",
    },
    {
        .name = "eal-args",
        .field = &Config::eal_args,
        .flag = "--eal-arg",
        .metavar = "ARG",
        .help = "extra EAL argument (repeatable; use --eal-arg=-x)",
        .doc = R"(
Extra EAL arguments, appended verbatim, e.g. ["--log-level=lib.eal:debug"].)",
    },
    {
        .name = "control-admin-group",
        .field = &Config::control_admin_group,
        .check = checkGroupName,
        .flag = "--control-admin-group",
        .metavar = "GROUP",
        .help = "group whose members are control admins",
        .doc = R"(
--- Control-plane security (README "Security", docs/api.md "Roles") ---
Peers of the control socket get a role when they connect: root and the daemon's own user are
admin (every method); members of control-admin-group are admin; members of
control-read-group ("" = the control socket's group) may call only the read methods (*.show,
*.list, version, list-commands, control.show). A refused call is error -32003 and changes
nothing. When control-read-group is set, the daemon gives the control socket (mode 0660) to
that group, so admins who are not root must be members of it too.)",
    },
    {
        .name = "control-read-group",
        .field = &Config::control_read_group,
        .check = checkGroupName,
        .flag = "--control-read-group",
        .metavar = "GROUP",
        .help = "group whose members may read (default: the socket's)",
    },
    {
        .name = "allowed-socket-dirs",
        .field = &Config::allowed_socket_dirs,
        .check_list = checkAllowedDirs,
        .flag = "--allowed-socket-dir",
        .metavar = "DIR",
        .help = "another directory for vhost-user sockets (repeatable)",
        .doc = R"(
Directories where vhost-user sockets (both types) may be, besides socket-dir (always allowed).
A path is checked after resolving ".." and symlinks; its last component must not be a
symlink. Command line: --allowed-socket-dir DIR (repeatable). Under KubeVirt, the DRA plugin's
per-claim directories: ["/run/rtvswitch/dra"] (docs/kubevirt.md).)",
    },
    {
        .name = "dpdk-allow",
        .field = &Config::dpdk_allow,
        .check_list = checkDevargsRules,
        .help = "the devargs \"dpdk\" ports may use (allow-list)",
        .doc = R"(
The devargs a "dpdk" port may use (every port: [[port]] tables and vswitchctl port add). An
entry is "DRIVER" (no options), "DRIVER:*" (any options: only for drivers you trust with host
files), or "DRIVER:OPT,OPT..." where OPT is KEY (any plain value of A-Z a-z 0-9 _ . : -) or
KEY=PATTERN[|PATTERN] (a PATTERN is a literal or a prefix ending in '*'). "pci" stands for PCI
addresses (0000:3b:00.0). A vdev name is its driver's name followed by digits or by "_" and a
word: net_tap0, net_tap_lab1. The default allows PCI devices and the vdevs the tests and labs
use, without options that would make the daemon (root) open a host file or take a host
interface of the caller's choosing: interfaces must be named rtvs* (the switch's own name
space; net_tap creates them). Not allowed by default: net_pcap's rx_pcap/tx_pcap files, host
interfaces (lo, eth0, vnet0...), net_tap's remote= and persist=, eth_* aliases, net_vhost and
net_virtio_user (they take socket paths), PCI driver options. Widen it only here, e.g.
  "net_af_packet:iface=eth1|eth2,qpairs"   a lab's host interfaces
  "pci:*"                                  PCI driver options (e.g. mlx5's))",
    },
    {
        .name = "control-mutation-rate",
        .field = &Config::control_mutation_rate,
        .range = {0, 1000000},
        .flag = "--control-mutation-rate",
        .metavar = "N",
        .help = "state-changing calls per second per uid, 0 = no limit",
        .doc = R"(
State-changing calls (port.add, port.del, fdb.flush, *.clear, ...) are rate limited per peer
uid with a token bucket: up to control-mutation-burst at once, then control-mutation-rate per
second (0 = no limit). A refused call is error -32004 "rate limited: ... retry in N ms"; refusals
are counted in control.show and logged (warn, at most once a second per uid). The default lets
an agent resync ~1000 ports at once.)",
    },
    {
        .name = "control-mutation-burst",
        .field = &Config::control_mutation_burst,
        .range = {1, 1000000},
        .flag = "--control-mutation-burst",
        .metavar = "N",
        .help = "state-changing calls a uid may make at once",
    },
};
#pragma GCC diagnostic pop

std::string tomlString(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

// A doc's lines as comments ("" lines as a bare "#").
std::string comment(std::string_view doc) {
  if (!doc.empty() && doc.front() == '\n') doc.remove_prefix(1);
  std::string out;
  std::istringstream in{std::string(doc)};
  for (std::string line; std::getline(in, line);) out += line.empty() ? "#\n" : "# " + line + "\n";
  return out;
}

// "--mlockall,!--no-mlockall" → "`--mlockall`, `--no-mlockall`"; "--mbufs" + "N" → "`--mbufs N`".
std::string flagMarkdown(const ConfigKey& key) {
  if (key.flag.empty()) return "";
  std::string out;
  std::string_view rest = key.flag;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view one = rest.substr(0, comma);
    if (one.front() == '!') one.remove_prefix(1);
    if (!out.empty()) out += ", ";
    out +=
        "`" + std::string(one) + (key.metavar.empty() ? "" : " " + std::string(key.metavar)) + "`";
    rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
  }
  return out;
}

}  // namespace

void checkCpus(const std::vector<unsigned>& cpus, std::string_view key) {
  std::set<unsigned> seen;
  for (unsigned c : cpus) {
    if (c >= kMaxCpus) {
      fail(key, "cpu " + std::to_string(c) + " out of range 0.." + std::to_string(kMaxCpus - 1));
    }
    if (!seen.insert(c).second) fail(key, "cpu " + std::to_string(c) + " listed more than once");
  }
}

std::string rangeText(KeyRange r) { return std::to_string(r.lo) + ".." + std::to_string(r.hi); }

std::span<const ConfigKey> configKeys() { return kKeys; }

std::string keyValueToml(const Config& cfg, const ConfigKey& key) {
  struct Visitor {
    const Config& cfg;
    std::string operator()(std::vector<unsigned> Config::*f) const {
      return tomlString(formatCpuList(cfg.*f));
    }
    std::string operator()(std::string Config::*f) const { return tomlString(cfg.*f); }
    std::string operator()(unsigned Config::*f) const { return std::to_string(cfg.*f); }
    std::string operator()(int Config::*f) const { return std::to_string(cfg.*f); }
    std::string operator()(bool Config::*f) const { return cfg.*f ? "true" : "false"; }
    std::string operator()(LogLevel Config::*f) const { return tomlString(logLevelName(cfg.*f)); }
    std::string operator()(std::vector<std::string> Config::*f) const {
      if ((cfg.*f).empty()) return "[]";
      std::string out = "[\n";
      for (const std::string& s : cfg.*f) out += "  " + tomlString(s) + ",\n";
      return out + "]";
    }
  };
  return std::visit(Visitor{cfg}, key.field);
}

void checkKeyValue(const Config& cfg, const ConfigKey& key) {
  struct Visitor {
    const Config& cfg;
    const ConfigKey& key;
    void number(int64_t v) const {
      if (v < key.range.lo || v > key.range.hi) {
        fail(key.name, "must be " + rangeText(key.range) + ", got " + std::to_string(v));
      }
      if (key.power_of_two && !std::has_single_bit(static_cast<uint64_t>(v))) {
        fail(key.name, "must be a power of two, got " + std::to_string(v));
      }
    }
    void operator()(std::vector<unsigned> Config::*f) const { checkCpus(cfg.*f, key.name); }
    void operator()(std::string Config::*f) const {
      if (key.check != nullptr) key.check(cfg.*f, key.name);
    }
    void operator()(unsigned Config::*f) const { number(cfg.*f); }
    void operator()(int Config::*f) const { number(cfg.*f); }
    void operator()(bool Config::* /*f*/) const {}
    void operator()(LogLevel Config::* /*f*/) const {}
    void operator()(std::vector<std::string> Config::*f) const {
      if (key.check_list != nullptr) key.check_list(cfg.*f, key.name);
    }
  };
  std::visit(Visitor{cfg, key}, key.field);
}

std::string exampleConfigToml() {
  const Config defaults;
  std::string out(kPreamble);
  for (const ConfigKey& key : kKeys) {
    if (!key.doc.empty()) out += "\n" + comment(key.doc);
    const std::string value =
        key.example.empty() ? keyValueToml(defaults, key) : std::string(key.example);
    out += std::string(key.name) + " = " + value + "\n";
  }
  return out + std::string(kPortSection);  // it begins with a blank line
}

std::string configKeysMarkdown() {
  const Config defaults;
  std::string out =
      "| key | command line | default | meaning |\n"
      "|---|---|---|---|\n";
  for (const ConfigKey& key : kKeys) {
    std::string value = keyValueToml(defaults, key);
    if (value.find('\n') != std::string::npos)
      value = "see `configs/rtvswitch.toml`";
    else
      value = "`" + value + "`";
    std::string help;
    for (const char c : key.help) help += c == '|' ? std::string("\\|") : std::string(1, c);
    out += "| `" + std::string(key.name) + "` | " + flagMarkdown(key) + " | " + value + " | " +
           help + " |\n";
  }
  return out;
}

}  // namespace rtvs
