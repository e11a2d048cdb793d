#pragma once
// The reasons a frame is dropped, defined once. This list gives the dataplane's counter index
// (DropReason), the name used as the JSON key of a port's "drops" (stats.show, port.show), the
// Prometheus label (rtvswitch_port_drops_total{reason=...}) and vswitchctl's column (upper case),
// and the one-line meaning (docs/api.md says more). Add a reason here and nowhere else.

#include <cstddef>
#include <string>

#define RTVS_DROP_REASONS(X)                                                                    \
  X(kDropTxFull, "tx_full", "egress queue full or guest not ready")                             \
  X(kDropMtu, "mtu", "longer than the egress port's MTU plus an Ethernet header and a tag")     \
  X(kDropNoMbuf, "no_mbuf", "the mbuf pool was empty")                                          \
  X(kDropLinkDown, "link_down", "egress link down")                                             \
  X(kDropRunt, "runt", "ingress frame shorter than an Ethernet header")                         \
  X(kDropHairpin, "hairpin", "destination learned on the ingress port")                         \
  X(kDropVlan, "vlan", "a VLAN the port does not carry (ingress tag, or a stale egress entry)") \
  X(kDropSpoof, "spoof", "source MAC not in the ingress port's allowed-macs")                   \
  X(kDropMacLimit, "mac_limit", "new source MAC on a port that has learned mac-limit MACs")     \
  X(kDropStorm, "storm", "flooded frame over the ingress port's storm-*-pps limit")

namespace rtvs {

enum DropReason : unsigned {
#define RTVS_DROP_ENUM(id, name, help) id,
  RTVS_DROP_REASONS(RTVS_DROP_ENUM)
#undef RTVS_DROP_ENUM
      kNumDropReasons
};

inline constexpr const char* kDropReasonNames[kNumDropReasons] = {
#define RTVS_DROP_NAME(id, name, help) name,
    RTVS_DROP_REASONS(RTVS_DROP_NAME)
#undef RTVS_DROP_NAME
};

inline constexpr const char* kDropReasonHelp[kNumDropReasons] = {
#define RTVS_DROP_HELP(id, name, help) help,
    RTVS_DROP_REASONS(RTVS_DROP_HELP)
#undef RTVS_DROP_HELP
};

// The column heading of a reason in vswitchctl's tables: its name in upper case.
inline std::string dropReasonColumn(unsigned reason) {
  std::string s = kDropReasonNames[reason];
  for (char& c : s) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return s;
}

}  // namespace rtvs
