#include "switch/core/vlan.h"

#include "switch/core/port_spec.h"

namespace rtvs {

std::string_view vlanModeName(VlanMode m) noexcept {
  switch (m) {
    case VlanMode::kAccess:
      return "access";
    case VlanMode::kTrunk:
      return "trunk";
    case VlanMode::kNativeTagged:
      return "native-tagged";
    case VlanMode::kNativeUntagged:
      return "native-untagged";
  }
  return "trunk";
}

bool parseVlanMode(std::string_view text, VlanMode& mode) noexcept {
  for (VlanMode m :
       {VlanMode::kAccess, VlanMode::kTrunk, VlanMode::kNativeTagged, VlanMode::kNativeUntagged}) {
    if (text == vlanModeName(m)) {
      mode = m;
      return true;
    }
  }
  return false;
}

VlanSet parseVlanSet(std::string_view text, std::string_view key) {
  VlanSet set;
  if (text.empty()) {
    throw ConfigError(std::string(key) + ": must list VLANs 1..4094, e.g. \"10,20-30\"");
  }
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string_view item = text.substr(pos, comma - pos);
    const size_t dash = item.find('-');
    const uint64_t lo = parseUnsigned(item.substr(0, dash), 1, kMaxVlanId, key);
    const uint64_t hi = dash == std::string_view::npos
                            ? lo
                            : parseUnsigned(item.substr(dash + 1), 1, kMaxVlanId, key);
    if (hi < lo) {
      throw ConfigError(std::string(key) + ": range " + quotedValue(item) + " is backwards");
    }
    for (uint64_t v = lo; v <= hi; ++v) set.set(v);
    pos = comma + 1;
  }
  return set;
}

std::string formatVlanSet(const VlanSet& set) {
  std::string out;
  for (size_t v = 0; v < set.size(); ++v) {
    if (!set.test(v)) continue;
    size_t end = v;
    while (end + 1 < set.size() && set.test(end + 1)) ++end;
    if (!out.empty()) out += ',';
    out += std::to_string(v);
    if (end == v + 1) {
      out += ',' + std::to_string(end);
    } else if (end > v + 1) {
      out += '-' + std::to_string(end);
    }
    v = end;
  }
  return out;
}

}  // namespace rtvs
