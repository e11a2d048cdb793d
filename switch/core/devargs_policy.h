#pragma once
// Which `dpdk` port devargs a control-socket caller may hand to DPDK (issue 15): a PCI address or
// a vdev of an allow-listed driver with allow-listed options. A vdev option may make the daemon
// (root) open a host file or capture a host interface (net_pcap's tx_pcap=/etc/..., rx_iface=lo),
// so the default list names only options that cannot, and interface names in the switch's own
// "rtvs" namespace. Pure: no DPDK, no I/O.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rtvs {

// devargs as DPDK's legacy syntax reads them: "NAME[,KEY=VALUE[,KEY=VALUE...]]", where a VALUE
// may also be a bracketed list "[a,b]" (rte_kvargs), whose commas do not separate pairs.
struct Devargs {
  std::string name;  // "0000:3b:00.0", "net_tap0"
  bool pci = false;  // name is a PCI address ("DDDD:BB:DD.F" or "BB:DD.F")
  std::vector<std::pair<std::string, std::string>> args;
};

// Parses strictly; throws ConfigError("devargs: ...") for anything DPDK might read differently
// than this parser: an empty name or key, a key without '=', a key given twice, an empty pair
// (",,", trailing ','), unbalanced brackets, whitespace or control bytes, a bus prefix
// ("vdev:net_pcap0") or the layered syntax ("bus=vdev,...").
Devargs parseDevargs(std::string_view text);

// One allow-list entry: "DRIVER" (no options), "DRIVER:*" (any option, any value) or
// "DRIVER:OPT,OPT..." where OPT is "KEY" (any value) or "KEY=PATTERN[|PATTERN...]", a PATTERN
// being a literal or a prefix ending in '*'. DRIVER "pci" stands for PCI addresses.
struct DevargsRule {
  std::string driver;
  bool any_option = false;
  struct Option {
    std::string key;
    std::vector<std::string> patterns;  // empty: any value
  };
  std::vector<Option> options;
  std::string text;  // as written, for messages
};

// Throws ConfigError("dpdk-allow: ...") for a malformed entry.
DevargsRule parseDevargsRule(std::string_view entry);
std::vector<DevargsRule> parseDevargsRules(const std::vector<std::string>& entries);

// The default `dpdk-allow` (configs/rtvswitch.toml and the README's security section say why).
const std::vector<std::string>& defaultDpdkAllow();

// Throws ConfigError("devargs: ...") unless `devargs` parses and one rule allows it: the device
// name is the rule's driver, optionally followed by digits or by '_' and [A-Za-z0-9_] (DPDK picks
// a vdev driver by name prefix: "net_tap_x1" is net_tap's), and every option is allowed with its
// value. Values must be made of [A-Za-z0-9_.:-] unless the rule allows any option ("DRIVER:*").
void checkDevargsAllowed(std::string_view devargs, const std::vector<DevargsRule>& rules);

}  // namespace rtvs
