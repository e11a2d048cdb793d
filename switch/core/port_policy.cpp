#include "switch/core/port_policy.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "switch/core/port_spec.h"

namespace rtvs {

namespace {

constexpr std::array<std::string_view, 8> kPolicyKeys = {
    "tag",       "trunks",      "vlan-mode",   "allowed-macs",
    "mac-limit", kStormKeys[0], kStormKeys[1], kStormKeys[2]};

[[noreturn]] void fail(std::string_view key, const std::string& reason) {
  throw ConfigError(std::string(key) + ": " + reason);
}

int hexDigit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<MacAddr> parseMacList(std::string_view text, std::string_view key) {
  std::vector<MacAddr> out;
  if (text.empty()) return out;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string_view item = text.substr(pos, comma - pos);
    MacAddr m = 0;
    if (!parseMac(item, m))
      fail(key, "expected MACs like 52:54:00:00:00:01, got " + quotedValue(item));
    if (m & (MacAddr{1} << 40))
      fail(key, "multicast MAC " + quotedValue(item) + " cannot be a source");
    out.push_back(m);
    pos = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.size() > kMaxAllowedMacs) {
    fail(key,
         "at most " + std::to_string(kMaxAllowedMacs) + " MACs, got " + std::to_string(out.size()));
  }
  return out;
}

}  // namespace

bool parseMac(std::string_view text, MacAddr& mac) noexcept {
  if (text.size() != 17) return false;
  MacAddr m = 0;
  for (size_t i = 0; i < 6; ++i) {
    const int hi = hexDigit(text[i * 3]), lo = hexDigit(text[i * 3 + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != ':')) return false;
    m = (m << 8) | static_cast<MacAddr>(hi * 16 + lo);
  }
  mac = m;
  return true;
}

std::string macString(MacAddr mac) {
  char buf[18];
  snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", unsigned(mac >> 40 & 0xff),
           unsigned(mac >> 32 & 0xff), unsigned(mac >> 24 & 0xff), unsigned(mac >> 16 & 0xff),
           unsigned(mac >> 8 & 0xff), unsigned(mac & 0xff));
  return buf;
}

bool isPolicyKey(std::string_view key) noexcept {
  return std::find(kPolicyKeys.begin(), kPolicyKeys.end(), key) != kPolicyKeys.end();
}

void checkPolicyOption(std::string_view key, std::string_view value) {
  VlanMode mode;
  if (key == "tag") {
    parseUnsigned(value, 1, kMaxVlanId, key);
  } else if (key == "trunks") {
    if (!value.empty()) parseVlanSet(value, key);
  } else if (key == "vlan-mode") {
    if (!parseVlanMode(value, mode)) {
      fail(key,
           "must be access, trunk, native-tagged or native-untagged, got " + quotedValue(value));
    }
  } else if (key == "allowed-macs") {
    parseMacList(value, key);
  } else if (key == "mac-limit") {
    parseUnsigned(value, 0, kMaxMacLimit, key);
  } else {
    parseUnsigned(value, 0, kMaxStormPps, key);
  }
}

PortPolicy parsePolicy(const std::vector<std::pair<std::string, std::string>>& options) {
  PortPolicy p;
  bool has_tag = false, has_trunks = false, has_mode = false;
  for (const auto& [key, value] : options) {
    if (!isPolicyKey(key)) continue;
    checkPolicyOption(key, value);
    if (key == "tag") {
      p.vlan.tag = static_cast<uint16_t>(parseUnsigned(value, 1, kMaxVlanId, key));
      has_tag = true;
    } else if (key == "trunks") {
      if (value.empty()) continue;  // none: every VLAN, as when not given
      p.vlan.trunks = parseVlanSet(value, key);
      p.vlan.trunk_all = false;
      has_trunks = true;
    } else if (key == "vlan-mode") {
      parseVlanMode(value, p.vlan.mode);
      has_mode = true;
    } else if (key == "allowed-macs") {
      p.allowed_macs = parseMacList(value, key);
    } else if (key == "mac-limit") {
      p.mac_limit = static_cast<uint32_t>(parseUnsigned(value, 0, kMaxMacLimit, key));
    } else {
      for (unsigned c = 0; c < kNumStorm; ++c) {
        if (key == kStormKeys[c]) {
          p.storm_pps[c] = static_cast<uint32_t>(parseUnsigned(value, 0, kMaxStormPps, key));
        }
      }
    }
  }
  PortVlan& v = p.vlan;
  if (!has_mode) {
    if (has_tag && has_trunks) {
      fail("vlan-mode", "tag and trunks together need vlan-mode native-tagged or native-untagged");
    }
    v.mode = has_tag ? VlanMode::kAccess : VlanMode::kTrunk;
  }
  const std::string mode(vlanModeName(v.mode));
  switch (v.mode) {
    case VlanMode::kAccess:
      if (!has_tag) fail("tag", "required for vlan-mode access");
      if (has_trunks) fail("trunks", "does not apply to vlan-mode access");
      v.trunk_all = false;
      break;
    case VlanMode::kTrunk:
      if (has_tag)
        fail("tag", "does not apply to vlan-mode trunk (use native-tagged or native-untagged)");
      break;
    case VlanMode::kNativeTagged:
    case VlanMode::kNativeUntagged:
      if (!has_tag) fail("tag", "required for vlan-mode " + mode + " (the native VLAN)");
      break;
  }
  return p;
}

std::vector<std::pair<std::string, std::string>> policyOptions(const PortPolicy& p) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!p.vlan.isDefault()) {
    if (p.vlan.tag != 0) out.emplace_back("tag", std::to_string(p.vlan.tag));
    if (p.vlan.mode != VlanMode::kAccess && !p.vlan.trunk_all) {
      out.emplace_back("trunks", formatVlanSet(p.vlan.trunks));
    }
    out.emplace_back("vlan-mode", std::string(vlanModeName(p.vlan.mode)));
  }
  if (!p.allowed_macs.empty()) {
    std::string s;
    for (MacAddr m : p.allowed_macs) s += (s.empty() ? "" : ",") + macString(m);
    out.emplace_back("allowed-macs", s);
  }
  if (p.mac_limit != 0) out.emplace_back("mac-limit", std::to_string(p.mac_limit));
  for (unsigned c = 0; c < kNumStorm; ++c) {
    if (p.storm_pps[c] != 0) out.emplace_back(kStormKeys[c], std::to_string(p.storm_pps[c]));
  }
  return out;
}

}  // namespace rtvs
