#pragma once
// A port's configuration: the OVS-style key=value options that `vswitchctl port add`, the
// JSON-RPC `port.add` method and the TOML `[[port]]` tables all reduce to.

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "switch/core/port_policy.h"

namespace rtvs {

// Every configuration error: the message names the key and the reason.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class PortType {
  kVhostUserClient,  // "vhostuserclient": switch is the vhost-user client, guest (QEMU) the server
  kVhostUser,        // "vhostuser": switch is the server and creates the socket
  kDpdk,             // "dpdk": any ethdev given by devargs (PCI address or vdev)
};

std::string_view portTypeName(PortType t) noexcept;

inline constexpr uint32_t kMinMtu = 68;
inline constexpr uint32_t kMaxMtu = 9600;
inline constexpr uint16_t kMaxQueues = 16;
inline constexpr size_t kMaxSocketPath = 107;  // sizeof(sockaddr_un::sun_path) - 1
inline constexpr size_t kMaxPortName = 64;     // "vhu" + a Neutron port id, a full UUID fit
// tx-retry-us: about what OVS's default of 8 vhost tx retries can wait on a guest that drains
// (8 attempts of up to 32 frames), and a few passes of a polling guest's rx loop; short next to
// a real-time guest's latency budget. Waiting costs the PMD's other ports nothing here (no spin).
inline constexpr uint32_t kDefaultTxRetryUs = 20;
inline constexpr uint32_t kMaxTxRetryUs = 10000;

struct PortSpec {
  std::string name;
  PortType type = PortType::kVhostUserClient;
  std::string path;     // vhost-user socket; for kVhostUser defaults to <socket-dir>/<name>
  std::string devargs;  // kDpdk only: "0000:01:00.0" or "net_tap0,iface=tap0"
  uint16_t queues = 1;  // rx/tx queue pairs
  uint32_t mtu = 1500;  // L3 MTU; frames above mtu + 18 (Ethernet header, one VLAN tag) drop
  uint32_t latency_budget_us = 0;  // 0 = no budget alarm
  // How long a frame the egress queue did not take waits in a PMD's tx buffer, offered again on
  // each following PMD iteration, before it drops (tx_full); 0 = drop at once.
  uint32_t tx_retry_us = kDefaultTxRetryUs;
  // rxq-affinity: (queue, CPU) pins, as OVS's pmd-rxq-affinity; a PMD with a pinned queue polls
  // only pinned queues (rxq_plan.h). Empty: the queues go to the least loaded PMDs.
  std::vector<std::pair<uint16_t, unsigned>> rxq_affinity;
  PortPolicy policy;  // VLANs and port security (port_policy.h): all changeable at run time

  bool operator==(const PortSpec&) const = default;
};

// Ordered key/value options as the user gave them, e.g. {{"type","vhostuser"},{"queues","2"}}.
using PortOptions = std::vector<std::pair<std::string, std::string>>;

// Validates a port name: 1-kMaxPortName chars of [A-Za-z0-9_.-], not starting with '.' or '-'.
void validatePortName(std::string_view name);

// Builds a PortSpec from options. `socket_dir` resolves the default path of vhostuser ports.
// Throws ConfigError naming the key for: unknown key, duplicate key, bad value, missing required
// key (path for vhostuserclient, devargs for dpdk), key that does not apply to the type, a path
// over kMaxSocketPath bytes or whose directory does not exist. Does not check whether a server
// socket path is already taken (the daemon does, at add time).
PortSpec parsePortSpec(std::string_view name, const PortOptions& options,
                       const std::string& socket_dir);

// "key=value" tokens as typed on a command line → PortOptions. Throws ConfigError on a token
// without '=' or with an empty key.
PortOptions parseKeyValues(const std::vector<std::string>& tokens);

// The options that reproduce `spec` (for port.show and for re-creating ports).
PortOptions toOptions(const PortSpec& spec);

// Checks one option on its own: a known key and a well-formed value. parsePortSpec does this for
// every option, then the checks that depend on other keys; the config loaders call it per key so
// that errors carry the line of the key. Throws ConfigError naming the key.
void checkPortOption(std::string_view key, std::string_view value);

// "QUEUE:CPU,..." (rxq-affinity) → (queue, CPU) pairs in the order given; "" → none. Throws
// ConfigError naming the key on bad syntax, a queue out of range or given twice.
std::vector<std::pair<uint16_t, unsigned>> parseRxqAffinity(std::string_view text);

// Whether `port set` may change option `key` on a running port (one table in port_spec.cpp: a
// new option becomes settable by marking it there and deriving its dataplane fields from the
// PortSpec in Switch::fillDpPort; the VLAN and port-security keys of port_policy.h all are, and
// reach the PMDs through Switch::setPortPolicy). Unknown keys: false.
bool portOptionSettable(std::string_view key) noexcept;

// Parses a decimal integer in lo..hi. Throws ConfigError "<key>: must be lo..hi, got <text>".
uint64_t parseUnsigned(std::string_view text, uint64_t lo, uint64_t hi, std::string_view key);

// `s` in double quotes, control and non-ASCII bytes as \xNN: keeps error messages on one line.
std::string quotedValue(std::string_view s);

}  // namespace rtvs
