#pragma once
// 802.1Q VLAN membership of a port, as in Open vSwitch (`tag`, `trunks`, `vlan_mode`), and the
// classification the PMDs apply to every frame. Pure logic: ingress() and egress() are called per
// frame on PMD threads (noexcept, no allocation).
//
// A frame's VLAN is 0 (the untagged network) or 1..4094. On ingress:
//   access          untagged (or priority-tagged, VID 0) → VLAN `tag`; tagged → dropped
//   trunk           tagged VID v → v if the port trunks v; untagged → VLAN 0 if `trunks` is empty
//                   (the default port: every VLAN, untagged frames stay untagged), else dropped
//   native-tagged   as trunk, but untagged → VLAN `tag` (the native VLAN)
//   native-untagged as native-tagged
// On egress a port carries VLAN v if it would accept v on ingress; access ports send untagged,
// trunks tagged (VLAN 0 untagged), native-tagged always tagged, native-untagged untagged in its
// native VLAN and tagged otherwise. VID 4095 is reserved: dropped.

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>

namespace rtvs {

inline constexpr uint16_t kMaxVlanId = 4094;

enum class VlanMode : uint8_t { kAccess, kTrunk, kNativeTagged, kNativeUntagged };

std::string_view vlanModeName(VlanMode m) noexcept;
// false if `text` is not access, trunk, native-tagged or native-untagged.
bool parseVlanMode(std::string_view text, VlanMode& mode) noexcept;

using VlanSet = std::bitset<4096>;

// "10,20-30" → the set (1..4094, ranges inclusive, no empty items). Throws ConfigError naming
// `key`.
VlanSet parseVlanSet(std::string_view text, std::string_view key);
// The canonical text of a set: ascending, ranges of 3 or more as "a-b".
std::string formatVlanSet(const VlanSet& set);

struct PortVlan {
  VlanMode mode = VlanMode::kTrunk;
  uint16_t tag = 0;  // access / native VLAN (1..4094); 0 = none
  VlanSet trunks;    // trunked VLANs; none = all
  bool trunk_all = true;

  enum Egress : uint8_t { kNo, kUntagged, kTagged };

  bool isDefault() const noexcept { return mode == VlanMode::kTrunk && trunk_all; }

  // VLAN of a frame received on this port (`vid` 0 for untagged and priority-tagged frames), or
  // -1 if the port does not carry it.
  int ingress(bool tagged, uint16_t vid) const noexcept {
    if (vid > kMaxVlanId) return -1;
    if (!tagged || vid == 0) {
      if (mode == VlanMode::kTrunk) return trunk_all ? 0 : -1;
      return tag;
    }
    if (mode == VlanMode::kAccess) return -1;
    return (trunk_all || trunks.test(vid) || vid == tag) ? vid : -1;
  }

  // How this port sends a frame of VLAN `vlan`, or kNo if it does not carry it.
  Egress egress(uint16_t vlan) const noexcept {
    switch (mode) {
      case VlanMode::kAccess:
        return vlan == tag ? kUntagged : kNo;
      case VlanMode::kTrunk:
        if (vlan == 0) return trunk_all ? kUntagged : kNo;
        return (trunk_all || trunks.test(vlan)) ? kTagged : kNo;
      case VlanMode::kNativeTagged:
        return (vlan != 0 && (vlan == tag || trunk_all || trunks.test(vlan))) ? kTagged : kNo;
      case VlanMode::kNativeUntagged:
        if (vlan == tag) return kUntagged;
        return (vlan != 0 && (trunk_all || trunks.test(vlan))) ? kTagged : kNo;
    }
    return kNo;
  }

  bool operator==(const PortVlan&) const = default;
};

}  // namespace rtvs
