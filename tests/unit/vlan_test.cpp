#include "switch/core/vlan.h"

#include <gtest/gtest.h>

#include "switch/core/port_policy.h"
#include "switch/core/port_spec.h"
#include "switch/dataplane/port_security.h"

namespace rtvs {
namespace {

PortPolicy policyOf(std::vector<std::pair<std::string, std::string>> opts) {
  return parsePolicy(opts);
}

TEST(VlanSet, ParseAndFormat) {
  const VlanSet s = parseVlanSet("10,20-23,4094,11", "trunks");
  EXPECT_EQ(s.count(), 7u);
  EXPECT_TRUE(s.test(10) && s.test(11) && s.test(20) && s.test(23) && s.test(4094));
  EXPECT_EQ(formatVlanSet(s), "10,11,20-23,4094");
  EXPECT_EQ(formatVlanSet(parseVlanSet("1-4094", "trunks")), "1-4094");
  for (const char* bad : {"", "0", "4095", "10,", ",10", "10-", "20-10", "a", "10;20", "1-2-3"}) {
    EXPECT_THROW(parseVlanSet(bad, "trunks"), ConfigError) << bad;
  }
  try {
    parseVlanSet("20-10", "trunks");
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "trunks: range \"20-10\" is backwards");
  }
}

TEST(PortVlan, DefaultIsTrunkOfEverything) {
  const PortVlan v;
  EXPECT_TRUE(v.isDefault());
  EXPECT_EQ(v.ingress(false, 0), 0);
  EXPECT_EQ(v.ingress(true, 0), 0);  // priority tag: the untagged network
  EXPECT_EQ(v.ingress(true, 10), 10);
  EXPECT_EQ(v.ingress(true, 4095), -1);
  EXPECT_EQ(v.egress(0), PortVlan::kUntagged);
  EXPECT_EQ(v.egress(10), PortVlan::kTagged);
}

TEST(PortVlan, Access) {
  const PortVlan v = policyOf({{"tag", "10"}}).vlan;
  EXPECT_EQ(v.mode, VlanMode::kAccess);
  EXPECT_EQ(v.ingress(false, 0), 10);
  EXPECT_EQ(v.ingress(true, 0), 10);
  EXPECT_EQ(v.ingress(true, 10), -1);  // tagged frames never enter an access port (as OVS)
  EXPECT_EQ(v.ingress(true, 20), -1);
  EXPECT_EQ(v.egress(10), PortVlan::kUntagged);
  EXPECT_EQ(v.egress(0), PortVlan::kNo);
  EXPECT_EQ(v.egress(20), PortVlan::kNo);
}

TEST(PortVlan, Trunk) {
  const PortVlan v = policyOf({{"trunks", "10,20-30"}}).vlan;
  EXPECT_EQ(v.mode, VlanMode::kTrunk);
  EXPECT_EQ(v.ingress(true, 10), 10);
  EXPECT_EQ(v.ingress(true, 25), 25);
  EXPECT_EQ(v.ingress(true, 11), -1);
  EXPECT_EQ(v.ingress(false, 0), -1);  // untagged frames: not on a trunk with a VLAN list
  EXPECT_EQ(v.egress(25), PortVlan::kTagged);
  EXPECT_EQ(v.egress(11), PortVlan::kNo);
  EXPECT_EQ(v.egress(0), PortVlan::kNo);
}

TEST(PortVlan, NativeModes) {
  const PortVlan t =
      policyOf({{"tag", "5"}, {"trunks", "10"}, {"vlan-mode", "native-tagged"}}).vlan;
  EXPECT_EQ(t.ingress(false, 0), 5);
  EXPECT_EQ(t.ingress(true, 5), 5);
  EXPECT_EQ(t.ingress(true, 10), 10);
  EXPECT_EQ(t.ingress(true, 11), -1);
  EXPECT_EQ(t.egress(5), PortVlan::kTagged);
  EXPECT_EQ(t.egress(10), PortVlan::kTagged);
  EXPECT_EQ(t.egress(0), PortVlan::kNo);
  const PortVlan u =
      policyOf({{"tag", "5"}, {"trunks", "10"}, {"vlan-mode", "native-untagged"}}).vlan;
  EXPECT_EQ(u.ingress(false, 0), 5);
  EXPECT_EQ(u.egress(5), PortVlan::kUntagged);
  EXPECT_EQ(u.egress(10), PortVlan::kTagged);
  EXPECT_EQ(u.egress(11), PortVlan::kNo);
  // No trunks: every VLAN, plus the native one untagged.
  const PortVlan all = policyOf({{"tag", "5"}, {"vlan-mode", "native-untagged"}}).vlan;
  EXPECT_EQ(all.egress(77), PortVlan::kTagged);
  EXPECT_EQ(all.ingress(true, 77), 77);
}

TEST(PortPolicy, OptionErrors) {
  const auto err = [](std::vector<std::pair<std::string, std::string>> o) {
    try {
      parsePolicy(o);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(err({{"vlan-mode", "access"}}), "tag: required for vlan-mode access");
  EXPECT_EQ(err({{"tag", "10"}, {"trunks", "20"}}),
            "vlan-mode: tag and trunks together need vlan-mode native-tagged or native-untagged");
  EXPECT_EQ(err({{"tag", "10"}, {"vlan-mode", "trunk"}}),
            "tag: does not apply to vlan-mode trunk (use native-tagged or native-untagged)");
  EXPECT_EQ(err({{"vlan-mode", "native-tagged"}}),
            "tag: required for vlan-mode native-tagged (the native VLAN)");
  EXPECT_EQ(err({{"tag", "0"}}), "tag: must be 1..4094, got 0");
  EXPECT_EQ(err({{"vlan-mode", "hybrid"}}),
            "vlan-mode: must be access, trunk, native-tagged or native-untagged, got \"hybrid\"");
  EXPECT_EQ(err({{"allowed-macs", "52:54:00:00:00:1"}}),
            "allowed-macs: expected MACs like 52:54:00:00:00:01, got \"52:54:00:00:00:1\"");
  EXPECT_EQ(err({{"allowed-macs", "01:00:5e:00:00:01"}}),
            "allowed-macs: multicast MAC \"01:00:5e:00:00:01\" cannot be a source");
  EXPECT_EQ(err({{"mac-limit", "-1"}}), "mac-limit: must be an integer 0..16777216, got \"-1\"");
  EXPECT_EQ(err({{"storm-broadcast-pps", "x"}}),
            "storm-broadcast-pps: must be an integer 0..1000000000, got \"x\"");
}

TEST(PortPolicy, RoundTripThroughOptions) {
  const PortPolicy p = policyOf({{"tag", "7"},
                                 {"trunks", "100-102,9"},
                                 {"vlan-mode", "native-untagged"},
                                 {"allowed-macs", "52:54:00:00:00:02,52:54:00:00:00:01"},
                                 {"mac-limit", "4"},
                                 {"storm-broadcast-pps", "100"},
                                 {"storm-unknown-unicast-pps", "5"}});
  EXPECT_EQ(p.allowed_macs, (std::vector<MacAddr>{0x525400000001, 0x525400000002}));
  EXPECT_TRUE(p.allowsSource(0x525400000002));
  EXPECT_FALSE(p.allowsSource(0x525400000003));
  EXPECT_EQ(p.storm_pps[kStormMulticast], 0u);
  const auto opts = policyOptions(p);
  EXPECT_EQ(opts, (std::vector<std::pair<std::string, std::string>>{
                      {"tag", "7"},
                      {"trunks", "9,100-102"},
                      {"vlan-mode", "native-untagged"},
                      {"allowed-macs", "52:54:00:00:00:01,52:54:00:00:00:02"},
                      {"mac-limit", "4"},
                      {"storm-broadcast-pps", "100"},
                      {"storm-unknown-unicast-pps", "5"}}));
  EXPECT_EQ(parsePolicy(opts), p);
  EXPECT_TRUE(policyOptions(PortPolicy{}).empty());
  EXPECT_EQ(
      policyOptions(policyOf({{"tag", "3"}})),
      (std::vector<std::pair<std::string, std::string>>{{"tag", "3"}, {"vlan-mode", "access"}}));
  // Empty values: the defaults (any MAC, every VLAN).
  EXPECT_EQ(policyOf({{"allowed-macs", ""}, {"trunks", ""}}), PortPolicy{});
}

TEST(PortPolicy, InPortSpec) {
  const PortSpec s =
      parsePortSpec("p", {{"type", "dpdk"}, {"devargs", "net_null0"}, {"trunks", "10,20"}}, "/tmp");
  EXPECT_EQ(s.policy.vlan.mode, VlanMode::kTrunk);
  EXPECT_EQ(parsePortSpec("p", toOptions(s), "/tmp"), s);
  EXPECT_THROW(
      parsePortSpec("p", {{"type", "dpdk"}, {"devargs", "x"}, {"tag", "1"}, {"tag", "2"}}, "/tmp"),
      ConfigError);
  try {
    parsePortSpec("p", {{"type", "dpdk"}, {"devargs", "x"}, {"vlan-mode", "access"}}, "/tmp");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "port \"p\": tag: required for vlan-mode access");
  }
}

TEST(StormBucket, RateAndDepth) {
  constexpr uint64_t hz = 1000000;  // 1 tick = 1 us
  StormBucket b;
  // Starts full: depth(100) = 32 packets at once, then nothing more at the same instant.
  int passed = 0;
  for (int i = 0; i < 100; ++i) passed += b.take(1000, 100, hz);
  EXPECT_EQ(passed, 32);
  // 100 pps: one more token every 10 ms.
  EXPECT_FALSE(b.take(1000 + 9999, 100, hz));
  EXPECT_TRUE(b.take(1000 + 10000 + 9999, 100, hz));
  // One second at 100 pps lets about 100 through (plus the depth refilled after a pause).
  StormBucket c;
  passed = 0;
  for (uint64_t t = 0; t < hz; t += 100) passed += c.take(t, 100, hz);  // offered 10 kpps
  EXPECT_GE(passed, 32 + 99);
  EXPECT_LE(passed, 32 + 101);
  EXPECT_EQ(StormBucket::depth(1000000), 20000u);
  // Large rates and TSC frequencies do not overflow.
  StormBucket d;
  EXPECT_TRUE(d.take(5, 1000000000, 4000000000ull));
  EXPECT_TRUE(d.take(4000000000ull - 1, 1000000000, 4000000000ull));
}

}  // namespace
}  // namespace rtvs
