#pragma once
// A port's VLAN membership and port security (anti-spoofing, MAC limit, storm control): the
// options `tag`, `trunks`, `vlan-mode`, `allowed-macs`, `mac-limit`, `storm-*-pps`. All of them
// can change while the port runs (the daemon republishes the PMDs' snapshot with the new policy;
// a changed VLAN membership also flushes the port's learned MACs). Defaults are permissive: a
// trunk of every VLAN, any source MAC, no limits.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "switch/core/mac_table.h"
#include "switch/core/vlan.h"

namespace rtvs {

inline constexpr size_t kMaxAllowedMacs = 64;
inline constexpr uint32_t kMaxMacLimit = 1u << 24;
inline constexpr uint32_t kMaxStormPps = 1000000000;

// Storm control classes: frames a port sends that the switch floods.
enum StormClass : unsigned { kStormBroadcast, kStormMulticast, kStormUnknownUnicast, kNumStorm };
inline constexpr const char* kStormKeys[kNumStorm] = {"storm-broadcast-pps", "storm-multicast-pps",
                                                      "storm-unknown-unicast-pps"};

struct PortPolicy {
  PortVlan vlan;
  std::vector<MacAddr> allowed_macs;   // sorted, unique; empty = any source MAC
  uint32_t mac_limit = 0;              // learned MACs on this port; 0 = no limit
  uint32_t storm_pps[kNumStorm] = {};  // 0 = no limit

  bool allowsSource(MacAddr mac) const noexcept {
    if (allowed_macs.empty()) return true;
    for (MacAddr a : allowed_macs) {
      if (a == mac) return true;
    }
    return false;
  }
  bool hasStormLimits() const noexcept {
    return storm_pps[0] != 0 || storm_pps[1] != 0 || storm_pps[2] != 0;
  }
  bool operator==(const PortPolicy&) const = default;
};

// True for the keys above.
bool isPolicyKey(std::string_view key) noexcept;
// Checks one policy option's value on its own. Throws ConfigError naming the key.
void checkPolicyOption(std::string_view key, std::string_view value);
// Applies the options that are policy keys (others are skipped), then the checks between keys
// (e.g. vlan-mode access needs tag). Throws ConfigError naming the key.
PortPolicy parsePolicy(const std::vector<std::pair<std::string, std::string>>& options);
// The options that reproduce `p`, only those that differ from the defaults.
std::vector<std::pair<std::string, std::string>> policyOptions(const PortPolicy& p);

// "52:54:00:00:00:01" → MacAddr; false if malformed.
bool parseMac(std::string_view text, MacAddr& mac) noexcept;
std::string macString(MacAddr mac);

}  // namespace rtvs
