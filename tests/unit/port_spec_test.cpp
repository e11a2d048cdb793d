#include "switch/core/port_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

namespace rtvs {
namespace {

using ::testing::HasSubstr;

// The ConfigError message of `fn`, or "" if it did not throw.
std::string errorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

class PortSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rtvs-ps-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string parseError(const PortOptions& options, std::string_view name = "vm1") {
    return errorOf([&] { parsePortSpec(name, options, dir_); });
  }

  std::string dir_;
};

TEST(PortSpec, TypeNames) {
  EXPECT_EQ(portTypeName(PortType::kVhostUserClient), "vhostuserclient");
  EXPECT_EQ(portTypeName(PortType::kVhostUser), "vhostuser");
  EXPECT_EQ(portTypeName(PortType::kDpdk), "dpdk");
}

TEST(PortSpec, ValidNames) {
  for (const std::string& name :
       std::vector<std::string>{"vm1", "a", "A_b.c-d", "0", "_x", std::string(64, 'n'),
                                "vhu" + std::string("3f2b8c1e-7d4a-4b6e-9c1f-0a2b3c4d5e6f")}) {
    EXPECT_NO_THROW(validatePortName(name)) << name;
  }
}

TEST(PortSpec, InvalidNames) {
  for (const std::string& name : std::vector<std::string>{
           "", std::string(65, 'n'), ".x", "-x", "a/b", "a b", "vm\n1", "caf\xc3\xa9", "a=b"}) {
    const std::string err = errorOf([&] { validatePortName(name); });
    EXPECT_THAT(err, HasSubstr("name: must be 1-64 characters")) << name;
    EXPECT_EQ(err.find('\n'), std::string::npos) << "message must stay on one line";
  }
}

TEST_F(PortSpecTest, VhostUserClientDefaults) {
  const std::string path = dir_ + "/vm1.sock";
  const PortSpec spec = parsePortSpec("vm1", {{"path", path}}, "/nonexistent");
  EXPECT_EQ(spec.name, "vm1");
  EXPECT_EQ(spec.type, PortType::kVhostUserClient);
  EXPECT_EQ(spec.path, path);
  EXPECT_EQ(spec.devargs, "");
  EXPECT_EQ(spec.queues, 1);
  EXPECT_EQ(spec.mtu, 1500u);
  EXPECT_EQ(spec.latency_budget_us, 0u);
  EXPECT_EQ(spec.tx_retry_us, kDefaultTxRetryUs);
}

TEST_F(PortSpecTest, AllKeys) {
  const PortSpec spec = parsePortSpec("vm1",
                                      {{"type", "vhostuserclient"},
                                       {"path", dir_ + "/s"},
                                       {"queues", "16"},
                                       {"mtu", "9600"},
                                       {"latency-budget-us", "1000000"},
                                       {"tx-retry-us", "10000"}},
                                      dir_);
  EXPECT_EQ(spec.queues, 16);
  EXPECT_EQ(spec.mtu, 9600u);
  EXPECT_EQ(spec.latency_budget_us, 1000000u);
  EXPECT_EQ(spec.tx_retry_us, 10000u);
  const PortSpec low = parsePortSpec("vm1",
                                     {{"path", dir_ + "/s"},
                                      {"queues", "1"},
                                      {"mtu", "68"},
                                      {"latency-budget-us", "0"},
                                      {"tx-retry-us", "0"}},
                                     dir_);
  EXPECT_EQ(low.mtu, 68u);
  EXPECT_EQ(low.tx_retry_us, 0u);
}

TEST_F(PortSpecTest, VhostUserPathDefaultsToSocketDir) {
  const PortSpec spec = parsePortSpec("vm2", {{"type", "vhostuser"}}, dir_);
  EXPECT_EQ(spec.type, PortType::kVhostUser);
  EXPECT_EQ(spec.path, dir_ + "/vm2");
  const PortSpec given =
      parsePortSpec("vm2", {{"type", "vhostuser"}, {"path", dir_ + "/x.sock"}}, "/nonexistent");
  EXPECT_EQ(given.path, dir_ + "/x.sock");
}

TEST_F(PortSpecTest, Dpdk) {
  const PortSpec spec =
      parsePortSpec("tap0", {{"type", "dpdk"}, {"devargs", "net_tap0,iface=tap0"}}, dir_);
  EXPECT_EQ(spec.type, PortType::kDpdk);
  EXPECT_EQ(spec.devargs, "net_tap0,iface=tap0");
  EXPECT_EQ(spec.path, "");
}

TEST_F(PortSpecTest, RelativePathUsesCurrentDirectory) {
  EXPECT_EQ(parsePortSpec("vm1", {{"path", "vm1.sock"}}, dir_).path, "vm1.sock");
}

TEST_F(PortSpecTest, UnknownKey) {
  EXPECT_EQ(parseError({{"path", dir_ + "/s"}, {"bogus", "1"}}),
            "port \"vm1\": \"bogus\": unknown key (known: type, path, devargs, queues, mtu, "
            "latency-budget-us, tx-retry-us, rxq-affinity, tag, trunks, vlan-mode, allowed-macs, "
            "mac-limit, "
            "storm-broadcast-pps, "
            "storm-multicast-pps, storm-unknown-unicast-pps)");
}

TEST_F(PortSpecTest, DuplicateKey) {
  EXPECT_EQ(parseError({{"path", dir_ + "/s"}, {"queues", "1"}, {"queues", "2"}}),
            "port \"vm1\": queues: given more than once");
}

TEST_F(PortSpecTest, BadType) {
  EXPECT_EQ(parseError({{"type", "virtio"}}),
            "port \"vm1\": type: must be vhostuserclient, vhostuser or dpdk, got \"virtio\"");
}

TEST_F(PortSpecTest, OutOfRangeAndMalformedNumbers) {
  const std::string p = dir_ + "/s";
  EXPECT_EQ(parseError({{"path", p}, {"queues", "99"}}),
            "port \"vm1\": queues: must be 1..16, got 99");
  EXPECT_EQ(parseError({{"path", p}, {"queues", "0"}}),
            "port \"vm1\": queues: must be 1..16, got 0");
  EXPECT_EQ(parseError({{"path", p}, {"queues", "17"}}),
            "port \"vm1\": queues: must be 1..16, got 17");
  EXPECT_EQ(parseError({{"path", p}, {"queues", "two"}}),
            "port \"vm1\": queues: must be an integer 1..16, got \"two\"");
  EXPECT_EQ(parseError({{"path", p}, {"queues", "-1"}}),
            "port \"vm1\": queues: must be an integer 1..16, got \"-1\"");
  EXPECT_EQ(parseError({{"path", p}, {"queues", ""}}),
            "port \"vm1\": queues: must be an integer 1..16, got \"\"");
  EXPECT_EQ(parseError({{"path", p}, {"queues", "2 "}}),
            "port \"vm1\": queues: must be an integer 1..16, got \"2 \"");
  EXPECT_EQ(parseError({{"path", p}, {"queues", "99999999999999999999999"}}),
            "port \"vm1\": queues: must be 1..16, got 99999999999999999999999");
  EXPECT_EQ(parseError({{"path", p}, {"mtu", "67"}}),
            "port \"vm1\": mtu: must be 68..9600, got 67");
  EXPECT_EQ(parseError({{"path", p}, {"mtu", "9601"}}),
            "port \"vm1\": mtu: must be 68..9600, got 9601");
  EXPECT_EQ(parseError({{"path", p}, {"latency-budget-us", "1000001"}}),
            "port \"vm1\": latency-budget-us: must be 0..1000000, got 1000001");
  EXPECT_EQ(parseError({{"path", p}, {"tx-retry-us", "10001"}}),
            "port \"vm1\": tx-retry-us: must be 0..10000, got 10001");
  EXPECT_EQ(parseError({{"path", p}, {"tx-retry-us", "-1"}}),
            "port \"vm1\": tx-retry-us: must be an integer 0..10000, got \"-1\"");
}

TEST_F(PortSpecTest, KeysThatDoNotApply) {
  EXPECT_EQ(parseError({{"type", "dpdk"}, {"devargs", "net_null0"}, {"path", dir_ + "/s"}}),
            "port \"vm1\": path: does not apply to type dpdk (use devargs)");
  EXPECT_EQ(parseError({{"path", dir_ + "/s"}, {"devargs", "net_null0"}}),
            "port \"vm1\": devargs: does not apply to type vhostuserclient (use path)");
  EXPECT_EQ(parseError({{"type", "vhostuser"}, {"devargs", "net_null0"}}),
            "port \"vm1\": devargs: does not apply to type vhostuser (use path)");
}

TEST_F(PortSpecTest, MissingRequiredKeys) {
  EXPECT_EQ(parseError({}), "port \"vm1\": path: required for type vhostuserclient");
  EXPECT_EQ(parseError({{"queues", "2"}}), "port \"vm1\": path: required for type vhostuserclient");
  EXPECT_EQ(parseError({{"type", "dpdk"}}), "port \"vm1\": devargs: required for type dpdk");
  EXPECT_EQ(parseError({{"path", ""}}), "port \"vm1\": path: must not be empty");
  EXPECT_EQ(parseError({{"type", "dpdk"}, {"devargs", ""}}),
            "port \"vm1\": devargs: must not be empty");
}

TEST_F(PortSpecTest, PathLength) {
  // "/tmp/" + 102 characters = 107 bytes: the longest path that fits sun_path.
  const std::string longest = "/tmp/" + std::string(102, 'p');
  ASSERT_EQ(longest.size(), kMaxSocketPath);
  EXPECT_EQ(parsePortSpec("vm1", {{"path", longest}}, dir_).path, longest);
  EXPECT_EQ(parseError({{"path", longest + "p"}}),
            "port \"vm1\": path: must be at most 107 bytes, got 108");
}

TEST_F(PortSpecTest, PathNulByte) {
  EXPECT_EQ(parseError({{"path", std::string("/tmp/a\0b", 8)}}),
            "port \"vm1\": path: must not contain a NUL byte");
}

TEST_F(PortSpecTest, MissingDirectory) {
  EXPECT_EQ(parseError({{"path", dir_ + "/nodir/vm1.sock"}}),
            "port \"vm1\": path: directory \"" + dir_ + "/nodir\" does not exist");
  // A regular file is not a directory either.
  const std::string file = dir_ + "/file";
  { std::ofstream(file) << "x"; }
  EXPECT_THAT(parseError({{"path", file + "/vm1.sock"}}), HasSubstr("does not exist"));
}

TEST_F(PortSpecTest, DefaultPathIsCheckedToo) {
  EXPECT_EQ(errorOf([&] {
              parsePortSpec("vm2", {{"type", "vhostuser"}}, dir_ + "/nodir");
            }),
            "port \"vm2\": path: directory \"" + dir_ +
                "/nodir\" does not exist (default <socket-dir>/<name>)");
  const std::string long_dir = "/tmp/" + std::string(100, 'd');
  EXPECT_EQ(errorOf([&] {
              parsePortSpec("vm2", {{"type", "vhostuser"}}, long_dir);
            }),
            "port \"vm2\": path: must be at most 107 bytes, got 109 (default <socket-dir>/<name>)");
}

TEST_F(PortSpecTest, BadNameIsReported) {
  EXPECT_THAT(parseError({{"path", dir_ + "/s"}}, "a/b"),
              HasSubstr("port \"a/b\": name: must be 1-64 characters"));
}

TEST(PortSpec, ParseKeyValues) {
  const PortOptions opts =
      parseKeyValues({"type=dpdk", "devargs=net_tap0,iface=tap0", "path=", "queues=2"});
  const PortOptions want = {
      {"type", "dpdk"}, {"devargs", "net_tap0,iface=tap0"}, {"path", ""}, {"queues", "2"}};
  EXPECT_EQ(opts, want);
  EXPECT_TRUE(parseKeyValues({}).empty());
}

TEST(PortSpec, ParseKeyValuesErrors) {
  EXPECT_EQ(errorOf([] {
              parseKeyValues({"queues=2", "vhostuser"});
            }),
            "\"vhostuser\": expected key=value");
  EXPECT_EQ(errorOf([] { parseKeyValues({"=2"}); }), "\"=2\": empty key before '='");
}

TEST_F(PortSpecTest, ToOptionsRoundTrips) {
  const std::vector<PortSpec> specs = {
      parsePortSpec("vm1", {{"path", dir_ + "/vm1"}, {"queues", "4"}, {"mtu", "9000"}}, dir_),
      parsePortSpec(
          "vm2", {{"type", "vhostuser"}, {"latency-budget-us", "20"}, {"tx-retry-us", "0"}}, dir_),
      parsePortSpec("tap0", {{"type", "dpdk"}, {"devargs", "net_tap0"}}, dir_),
  };
  for (const PortSpec& spec : specs) {
    EXPECT_EQ(parsePortSpec(spec.name, toOptions(spec), "/elsewhere"), spec) << spec.name;
  }
  const PortOptions want = {{"type", "dpdk"}, {"devargs", "net_tap0"},    {"queues", "1"},
                            {"mtu", "1500"},  {"latency-budget-us", "0"}, {"tx-retry-us", "20"}};
  EXPECT_EQ(toOptions(specs[2]), want);
}

TEST(PortSpec, CheckPortOption) {
  EXPECT_NO_THROW(checkPortOption("queues", "3"));
  EXPECT_NO_THROW(checkPortOption("path", "/anywhere/at/all"));
  EXPECT_EQ(errorOf([] { checkPortOption("mtu", "big"); }),
            "mtu: must be an integer 68..9600, got \"big\"");
  EXPECT_THAT(errorOf([] { checkPortOption("colour", "red"); }),
              HasSubstr("\"colour\": unknown key"));
}

TEST(PortSpec, ParseUnsigned) {
  EXPECT_EQ(parseUnsigned("0", 0, 5, "k"), 0u);
  EXPECT_EQ(parseUnsigned("18446744073709551615", 0, UINT64_MAX, "k"), UINT64_MAX);
  EXPECT_EQ(errorOf([] { parseUnsigned("+1", 0, 5, "k"); }),
            "k: must be an integer 0..5, got \"+1\"");
  EXPECT_EQ(errorOf([] { parseUnsigned("0x1", 0, 5, "k"); }),
            "k: must be an integer 0..5, got \"0x1\"");
}

TEST_F(PortSpecTest, RxqAffinity) {
  const std::string p = dir_ + "/s";
  PortSpec spec =
      parsePortSpec("vm1", {{"path", p}, {"queues", "2"}, {"rxq-affinity", "1:3,0:2"}}, dir_);
  EXPECT_EQ(spec.rxq_affinity, (std::vector<std::pair<uint16_t, unsigned>>{{1, 3}, {0, 2}}));
  EXPECT_EQ(parsePortSpec("vm1", toOptions(spec), dir_), spec);  // round trip (state file)
  EXPECT_TRUE(parsePortSpec("vm1", {{"path", p}, {"rxq-affinity", ""}}, dir_).rxq_affinity.empty());
  EXPECT_TRUE(portOptionSettable("rxq-affinity"));
  // Options without pins do not mention the key (saved states and port show stay as they were).
  for (const auto& [k, v] : toOptions(parsePortSpec("vm1", {{"path", p}}, dir_))) {
    EXPECT_NE(k, "rxq-affinity");
  }
  EXPECT_EQ(parseError({{"path", p}, {"rxq-affinity", "1:2"}}),
            "port \"vm1\": rxq-affinity: queue 1 does not exist (the port has 1 queue)");
  EXPECT_EQ(parseError({{"path", p}, {"rxq-affinity", "0:2,0:3"}}),
            "port \"vm1\": rxq-affinity: queue 0 given more than once");
  EXPECT_EQ(parseError({{"path", p}, {"rxq-affinity", "2"}}),
            "port \"vm1\": rxq-affinity: must be QUEUE:CPU[,QUEUE:CPU...], got \"2\"");
  EXPECT_EQ(parseError({{"path", p}, {"rxq-affinity", "0:2,"}}),
            "port \"vm1\": rxq-affinity: trailing ',' in \"0:2,\"");
  EXPECT_EQ(parseError({{"path", p}, {"rxq-affinity", "0:1024"}}),
            "port \"vm1\": rxq-affinity: must be 0..1023, got 1024");
  EXPECT_EQ(parseError({{"path", p}, {"rxq-affinity", "x:1"}}),
            "port \"vm1\": rxq-affinity: must be an integer 0..15, got \"x\"");
}

TEST(PortSpec, QuotedValueEscapes) {
  EXPECT_EQ(quotedValue("a\"b\n\\"), "\"a\\x22b\\x0a\\x5c\"");
  EXPECT_EQ(quotedValue("plain"), "\"plain\"");
}

}  // namespace
}  // namespace rtvs
