#include "switch/core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "switch/core/config_keys.h"

namespace rtvs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kData = std::string(RTVS_TEST_DATA) + "/config";

std::string errorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tomlError(const std::string& text) {
  return errorOf([&] { loadConfigToml(text, "t.toml"); });
}

std::string jsonError(const std::string& text) {
  return errorOf([&] { loadConfigJson(nlohmann::json::parse(text)); });
}

// The configuration that tests/data/config/full.{toml,json} describe.
Config fullConfig() {
  Config c;
  c.pmd_cores = {2, 4, 5, 6};
  c.housekeeping_cores = {0, 1};
  c.socket_dir = "/tmp";
  c.control_socket = "/tmp/rtvs-test.ctl";
  c.memory_mb = 1024;
  c.no_huge = true;
  c.file_prefix = "rtvs-test";
  c.mbufs = 32768;
  c.mac_aging_s = 60;
  c.mac_table_size = 1024;
  c.log_level = LogLevel::kDebug;
  c.pmd_priority = 50;
  c.mlockall = false;
  c.metrics_listen = "127.0.0.1:9477";
  c.eal_args = {"--log-level=lib.eal:debug", "--no-pci"};
  c.control_admin_group = "rtvs-admin";
  c.control_read_group = "rtvs-read";
  c.allowed_socket_dirs = {"/var/lib/libvirt/qemu", "/run/kubevirt"};
  c.dpdk_allow = {"pci:*", "net_tap:iface=rtvs*"};
  c.control_mutation_rate = 10;
  c.control_mutation_burst = 200;
  PortSpec vm1;
  vm1.name = "vm1";
  vm1.path = "/tmp/rtvs-test-vm1.sock";
  vm1.queues = 2;
  vm1.mtu = 9000;
  PortSpec vm2;
  vm2.name = "vm2";
  vm2.type = PortType::kVhostUser;
  vm2.path = "/tmp/vm2";
  vm2.latency_budget_us = 50;
  PortSpec tap;
  tap.name = "tap0";
  tap.type = PortType::kDpdk;
  tap.devargs = "net_tap0,iface=rtvstap0";
  c.ports = {vm1, vm2, tap};
  return c;
}

TEST(Config, EmptyTomlGivesDefaults) {
  const Config c = loadConfigToml("", "t.toml");
  EXPECT_EQ(c, Config{});
  EXPECT_THAT(c.pmd_cores, ElementsAre(1u));
  EXPECT_THAT(c.housekeeping_cores, ElementsAre(0u));
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  EXPECT_TRUE(c.ports.empty());
  EXPECT_NO_THROW(validateConfig(Config{}));
  EXPECT_EQ(loadConfigJson(nlohmann::json::object()), Config{});
}

TEST(Config, ExampleFileHasEveryKeyAtItsDefault) {
  const std::string path = std::string(RTVS_TEST_DATA) + "/../../configs/rtvswitch.toml";
  const std::string text = readText(path);
  ASSERT_FALSE(text.empty()) << path;
  // Except the guest socket directory's group and mode, set for QEMU run by Debian's libvirt.
  Config shipped;
  shipped.socket_dir_group = "libvirt-qemu";
  shipped.socket_dir_mode = "2770";
  EXPECT_EQ(loadConfigToml(text, path), shipped);
  EXPECT_EQ(loadConfigFile(path), shipped);
  // Every key of the model is written out in the example.
  for (const ConfigKey& key : configKeys()) {
    EXPECT_THAT(text, HasSubstr("\n" + std::string(key.name) + " = ")) << key.name;
  }
}

TEST(Config, SecurityKeysAreChecked) {
  EXPECT_THAT(tomlError("dpdk-allow = [\"net_pcap:tx_pcap=/tmp/*\"]\n"),
              HasSubstr("t.toml:1: dpdk-allow: entry"));
  EXPECT_THAT(tomlError("allowed-socket-dirs = [\"relative\"]\n"),
              HasSubstr("allowed-socket-dirs: must be absolute"));
  EXPECT_THAT(tomlError("control-admin-group = \"a b\"\n"),
              HasSubstr("control-admin-group: must be a group name"));
  EXPECT_THAT(tomlError("control-mutation-burst = 0\n"), HasSubstr("control-mutation-burst"));
  EXPECT_EQ(loadConfigToml("", "t.toml").dpdk_allow, defaultDpdkAllow());
}

TEST(Config, RealtimeProfile) {
  const std::string path = std::string(RTVS_TEST_DATA) + "/../../configs/rtvswitch-rt.toml";
  const Config rt = loadConfigFile(path);
  EXPECT_TRUE(rt.realtime);
  EXPECT_TRUE(rt.mlockall);
  EXPECT_FALSE(rt.allow_degraded);
  EXPECT_EQ(rt.pmd_priority, 50);
  // realtime without a priority means the profile's; with one, that one.
  EXPECT_EQ(loadConfigToml("realtime = true\n", "t").pmd_priority, kRealtimePmdPriority);
  EXPECT_EQ(loadConfigToml("realtime = true\npmd-priority = 7\n", "t").pmd_priority, 7);
  EXPECT_EQ(loadConfigToml("allow-degraded = true\n", "t").allow_degraded, true);
  try {
    loadConfigToml("realtime = true\nmlockall = false\n", "t.toml");
    FAIL() << "realtime without mlockall accepted";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("mlockall: realtime = true needs mlockall = true"));
  }
  EXPECT_THROW(loadConfigToml("realtime = 1\n", "t"), ConfigError);
}

TEST(Config, ExampleFilePortsLoadWhenUncommented) {
  char tmpl[] = "/tmp/rtvs-cfg-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::string text = readText(std::string(RTVS_TEST_DATA) + "/../../configs/rtvswitch.toml");
  // The example ports are the lines commented out as "#key" (no space); /run/rtvswitch may not
  // exist here, so point them at a scratch directory.
  text = std::regex_replace(text, std::regex("\n#([\\[a-z])"), "\n$1");
  text = std::regex_replace(text, std::regex("/run/rtvswitch"), dir);
  std::filesystem::create_directory(dir + "/vhost");
  const Config c = loadConfigToml(text, "example");
  ASSERT_EQ(c.ports.size(), 3u);
  EXPECT_EQ(c.ports[0].name, "vm1");
  EXPECT_EQ(c.ports[0].policy.vlan.tag, 10);
  EXPECT_EQ(c.ports[0].policy.mac_limit, 4u);
  EXPECT_EQ(c.ports[2].name, "nic0");
  EXPECT_EQ(formatVlanSet(c.ports[2].policy.vlan.trunks), "10,20-30");
  EXPECT_EQ(c.ports[0].type, PortType::kVhostUserClient);
  EXPECT_EQ(c.ports[0].path, dir + "/vhost/vm1.sock");
  EXPECT_EQ(c.ports[1].name, "vm2");
  EXPECT_EQ(c.ports[1].type, PortType::kVhostUser);
  EXPECT_EQ(c.ports[1].path, dir + "/vhost/vm2");
  EXPECT_EQ(c.ports[1].queues, 2);
  std::filesystem::remove_all(dir);
}

TEST(Config, FullTomlAndJsonGiveTheSameConfig) {
  const Config toml = loadConfigToml(readText(kData + "/full.toml"), "full.toml");
  const Config json = loadConfigJson(nlohmann::json::parse(readText(kData + "/full.json")));
  EXPECT_EQ(toml, fullConfig());
  EXPECT_EQ(json, fullConfig());
  EXPECT_EQ(loadConfigFile(kData + "/full.toml"), fullConfig());
  EXPECT_EQ(loadConfigFile(kData + "/full.json"), fullConfig());
}

TEST(Config, CpuListsAsStringOrArray) {
  EXPECT_THAT(loadConfigToml("pmd-cores = [3, 1]\nhousekeeping-cores = \"0\"", "t").pmd_cores,
              ElementsAre(3u, 1u));
  EXPECT_THAT(loadConfigToml("pmd-cores = \"2-3,7\"", "t").pmd_cores, ElementsAre(2u, 3u, 7u));
  EXPECT_TRUE(loadConfigToml("housekeeping-cores = []", "t").housekeeping_cores.empty());
}

TEST(Config, PortValuesMayBeStringsOrIntegers) {
  const Config c = loadConfigToml(
      "[[port]]\nname = \"vm1\"\npath = \"/tmp/a.sock\"\nqueues = 4\nmtu = \"2000\"\n", "t");
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_EQ(c.ports[0].queues, 4);
  EXPECT_EQ(c.ports[0].mtu, 2000u);
}

TEST(Config, SocketDirIsKnownBeforePortsWhateverTheOrder) {
  const Config c = loadConfigJson(nlohmann::json::parse(
      R"({"port": [{"name": "vm9", "type": "vhostuser"}], "socket-dir": "/tmp"})"));
  EXPECT_EQ(c.ports.at(0).path, "/tmp/vm9");
}

TEST(Config, TomlSyntaxErrorHasFileAndLine) {
  EXPECT_THAT(tomlError("memory-mb = 512\nmbufs = = 3\n"), HasSubstr("t.toml:2: "));
}

TEST(Config, JsonParseErrorAndNonObject) {
  EXPECT_EQ(jsonError("[1, 2]"), "must be a table of keys, got array");
}

TEST(Config, UnknownKeys) {
  EXPECT_EQ(tomlError("memory-mb = 512\n\nbogus = 1\n"), "t.toml:3: \"bogus\": unknown key");
  EXPECT_EQ(tomlError("[[port]]\nname = \"vm1\"\npath = \"/tmp/s\"\ncolour = \"red\"\n"),
            "t.toml:4: port \"vm1\": \"colour\": unknown key (known: type, path, devargs, queues, "
            "mtu, latency-budget-us, tx-retry-us, rxq-affinity, tag, trunks, vlan-mode, "
            "allowed-macs, mac-limit, "
            "storm-broadcast-pps, storm-multicast-pps, storm-unknown-unicast-pps)");
  EXPECT_EQ(tomlError("[section]\nx = 1\n"), "t.toml:1: \"section\": unknown key");
  EXPECT_EQ(jsonError(R"({"memory_mb": 512})"), "\"memory_mb\": unknown key");
  EXPECT_EQ(jsonError(R"({"port": [{"name": "vm1", "path": "/tmp/s", "speed": 10}]})"),
            "port \"vm1\": \"speed\": unknown key (known: type, path, devargs, queues, mtu, "
            "latency-budget-us, tx-retry-us, rxq-affinity, tag, trunks, vlan-mode, allowed-macs, "
            "mac-limit, "
            "storm-broadcast-pps, storm-multicast-pps, storm-unknown-unicast-pps)");
}

TEST(Config, WrongTypes) {
  EXPECT_EQ(tomlError("memory-mb = \"512\""),
            "t.toml:1: memory-mb: must be an integer, got string");
  EXPECT_EQ(tomlError("mbufs = 1.5"), "t.toml:1: mbufs: must be an integer, got float");
  EXPECT_EQ(tomlError("log-level = 3"), "t.toml:1: log-level: must be a string, got integer");
  EXPECT_EQ(tomlError("no-huge = \"yes\""), "t.toml:1: no-huge: must be true or false, got string");
  EXPECT_EQ(tomlError("mlockall = 1"), "t.toml:1: mlockall: must be true or false, got integer");
  EXPECT_EQ(tomlError("socket-dir = 1979-05-27"),
            "t.toml:1: socket-dir: must be a string, got date/time");
  EXPECT_EQ(tomlError("pmd-cores = 2"),
            "t.toml:1: pmd-cores: must be a cpu list string (\"1,3-5\") or an array of integers, "
            "got integer");
  EXPECT_EQ(tomlError("pmd-cores = [\"2\"]"),
            "t.toml:1: pmd-cores: must be a cpu list string (\"1,3-5\") or an array of integers, "
            "got an array containing string");
  EXPECT_EQ(tomlError("eal-args = \"--no-pci\""),
            "t.toml:1: eal-args: must be an array of strings, got string");
  EXPECT_EQ(tomlError("eal-args = [1]"),
            "t.toml:1: eal-args: must be an array of strings, got an array containing integer");
  EXPECT_EQ(tomlError("[port]\nname = \"vm1\""),
            "t.toml:1: port: must be an array of tables, got table");
  EXPECT_EQ(tomlError("[[port]]\nname = \"vm1\"\npath = \"/tmp/s\"\nqueues = true\n"),
            "t.toml:4: port \"vm1\": queues: must be a string or an integer, got boolean");
  EXPECT_EQ(tomlError("[[port]]\nname = 7\n"),
            "t.toml:2: port #1: name: must be a string, got integer");
  EXPECT_EQ(jsonError(R"({"port": [3]})"), "port #1: must be a table, got integer");
  EXPECT_EQ(jsonError(R"({"memory-mb": null})"), "memory-mb: must be an integer, got null");
  EXPECT_EQ(jsonError(R"({"mbufs": 2048.0})"), "mbufs: must be an integer, got float");
}

TEST(Config, OutOfRange) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"memory-mb = 63", "memory-mb: must be 64..65536, got 63"},
      {"memory-mb = 65537", "memory-mb: must be 64..65536, got 65537"},
      {"memory-mb = -1", "memory-mb: must be 64..65536, got -1"},
      {"mbufs = 1023", "mbufs: must be 1024..4194304, got 1023"},
      {"mbufs = 4194305", "mbufs: must be 1024..4194304, got 4194305"},
      {"mac-aging-sec = 86401", "mac-aging-sec: must be 0..86400, got 86401"},
      {"mac-aging-sec = -5", "mac-aging-sec: must be 0..86400, got -5"},
      {"mac-table-size = 8", "mac-table-size: must be 16..16777216, got 8"},
      {"mac-table-size = 33554432", "mac-table-size: must be 16..16777216, got 33554432"},
      {"mac-table-size = 1000", "mac-table-size: must be a power of two, got 1000"},
      {"pmd-priority = 100", "pmd-priority: must be 0..99, got 100"},
      {"pmd-priority = -1", "pmd-priority: must be 0..99, got -1"},
      {"control-socket = \"/tmp/" + std::string(103, 'c') + "\"",
       "control-socket: must be at most 107 bytes, got 108"},
      {"control-socket = \"\"", "control-socket: must not be empty"},
      {"socket-dir = \"\"", "socket-dir: must not be empty"},
      {"file-prefix = \"\"", "file-prefix: must be non-empty and contain no '/', got \"\""},
      {"file-prefix = \"a/b\"", "file-prefix: must be non-empty and contain no '/', got \"a/b\""},
  };
  for (const auto& [toml, want] : cases) EXPECT_EQ(tomlError(toml), "t.toml:1: " + want) << toml;
  EXPECT_EQ(jsonError(R"({"memory-mb": 18446744073709551615})"),
            "memory-mb: must be 64..65536, got 18446744073709551615");
  // The boundaries themselves are accepted.
  const Config c = loadConfigToml(
      "memory-mb = 64\nmbufs = 4194304\nmac-aging-sec = 0\nmac-table-size = 16\npmd-priority = 99",
      "t");
  EXPECT_EQ(c.memory_mb, 64u);
  EXPECT_EQ(c.mac_table_size, 16u);
  EXPECT_EQ(c.pmd_priority, 99);
  EXPECT_EQ(loadConfigToml("mac-table-size = 16777216", "t").mac_table_size, 16777216u);
}

TEST(Config, BadCpuLists) {
  EXPECT_EQ(tomlError("pmd-cores = \"1,,2\""),
            "t.toml:1: pmd-cores: bad cpu list \"1,,2\": \"\" is not a cpu number");
  EXPECT_EQ(tomlError("pmd-cores = \"1-\""),
            "t.toml:1: pmd-cores: bad cpu list \"1-\": \"\" is not a cpu number");
  EXPECT_EQ(tomlError("pmd-cores = \"x\""),
            "t.toml:1: pmd-cores: bad cpu list \"x\": \"x\" is not a cpu number");
  EXPECT_EQ(tomlError("pmd-cores = \"5-3\""),
            "t.toml:1: pmd-cores: bad cpu list \"5-3\": range \"5-3\" runs backwards");
  EXPECT_EQ(tomlError("pmd-cores = \"1024\""),
            "t.toml:1: pmd-cores: cpu 1024 out of range 0..1023");
  EXPECT_EQ(tomlError("pmd-cores = [1, 2048]"),
            "t.toml:1: pmd-cores: cpu 2048 out of range 0..1023");
  EXPECT_EQ(tomlError("pmd-cores = [-1]"), "t.toml:1: pmd-cores: cpu -1 out of range 0..1023");
  EXPECT_EQ(tomlError("pmd-cores = \"1,2-4,3\""),
            "t.toml:1: pmd-cores: cpu 3 listed more than once");
  EXPECT_EQ(tomlError("housekeeping-cores = [0, 0]"),
            "t.toml:1: housekeeping-cores: cpu 0 listed more than once");
}

TEST(Config, CrossFieldChecks) {
  EXPECT_EQ(tomlError("pmd-cores = \"\""), "t.toml: pmd-cores: must not be empty");
  EXPECT_EQ(tomlError("pmd-cores = []"), "t.toml: pmd-cores: must not be empty");
  EXPECT_EQ(tomlError("pmd-cores = \"1-3\"\nhousekeeping-cores = \"0,2\""),
            "t.toml: housekeeping-cores: cpu 2 is also in pmd-cores");
  EXPECT_EQ(tomlError("pmd-cores = \"0\""),
            "t.toml: housekeeping-cores: cpu 0 is also in pmd-cores");
}

TEST(Config, DuplicatePorts) {
  EXPECT_EQ(tomlError("[[port]]\nname = \"vm1\"\npath = \"/tmp/a\"\n"
                      "[[port]]\nname = \"vm1\"\npath = \"/tmp/b\"\n"),
            "t.toml: port \"vm1\": name: duplicate port name");
  EXPECT_EQ(tomlError("[[port]]\nname = \"vm1\"\npath = \"/tmp/a\"\n"
                      "[[port]]\nname = \"vm2\"\npath = \"/tmp/a\"\n"),
            "t.toml: port \"vm2\": path: \"/tmp/a\" is also used by port \"vm1\"");
  // Two dpdk ports have no path to collide on.
  EXPECT_EQ(loadConfigToml("[[port]]\nname = \"a\"\ntype = \"dpdk\"\ndevargs = \"net_null0\"\n"
                           "[[port]]\nname = \"b\"\ntype = \"dpdk\"\ndevargs = \"net_null1\"\n",
                           "t")
                .ports.size(),
            2u);
}

TEST(Config, PortErrors) {
  EXPECT_EQ(tomlError("[[port]]\npath = \"/tmp/a\"\n"), "t.toml:1: port #1: name: missing");
  EXPECT_THAT(tomlError("[[port]]\nname = \"-x\"\npath = \"/tmp/a\"\n"),
              HasSubstr("t.toml:2: port #1: name: must be 1-64 characters"));
  EXPECT_EQ(tomlError("\n[[port]]\nname = \"vm1\"\n"),
            "t.toml:2: port \"vm1\": path: required for type vhostuserclient");
  EXPECT_EQ(tomlError("[[port]]\nname = \"t\"\ntype = \"dpdk\"\n"),
            "t.toml:1: port \"t\": devargs: required for type dpdk");
  EXPECT_EQ(
      tomlError("[[port]]\nname = \"t\"\ntype = \"dpdk\"\ndevargs = \"x\"\npath = \"/tmp/a\"\n"),
      "t.toml:1: port \"t\": path: does not apply to type dpdk (use devargs)");
  EXPECT_EQ(tomlError("[[port]]\nname = \"vm1\"\npath = \"/tmp/" + std::string(103, 'p') + "\"\n"),
            "t.toml:1: port \"vm1\": path: must be at most 107 bytes, got 108");
  EXPECT_EQ(tomlError("[[port]]\nname = \"vm1\"\npath = \"/nonexistent-dir/vm1.sock\"\n"),
            "t.toml:1: port \"vm1\": path: directory \"/nonexistent-dir\" does not exist");
  EXPECT_EQ(tomlError("[[port]]\nname = \"vm1\"\npath = \"/tmp/a\"\n\nqueues = 99\n"),
            "t.toml:5: port \"vm1\": queues: must be 1..16, got 99");
  EXPECT_EQ(jsonError(R"({"port": [{"name": "vm1", "path": "/tmp/a", "queues": 99}]})"),
            "port \"vm1\": queues: must be 1..16, got 99");
  EXPECT_EQ(
      jsonError(
          R"({"socket-dir": "/nonexistent-dir", "port": [{"name": "vm2", "type": "vhostuser"}]})"),
      "port \"vm2\": path: directory \"/nonexistent-dir\" does not exist (default "
      "<socket-dir>/<name>)");
}

TEST(Config, SourceNamesTheFile) {
  EXPECT_EQ(errorOf([] {
              loadConfigJson(nlohmann::json::parse(R"({"mbufs": 1})"), "/etc/rtvswitch.json");
            }),
            "/etc/rtvswitch.json: mbufs: must be 1024..4194304, got 1");
  const std::string missing = kData + "/missing.toml";
  EXPECT_EQ(errorOf([&] { loadConfigFile(missing); }),
            missing + ": cannot read: No such file or directory");
}

TEST(Config, BadLogLevel) {
  EXPECT_EQ(tomlError("log-level = \"loud\""),
            "t.toml:1: log-level: must be one of trace, debug, info, warn, error, critical, off; "
            "got \"loud\"");
  EXPECT_THAT(tomlError("log-level = \"INFO\""), HasSubstr("got \"INFO\""));
}

TEST(Config, MetricsListen) {
  for (const char* ok : {"", "127.0.0.1:9477", "localhost:1", "[::1]:65535", "0.0.0.0:80"}) {
    EXPECT_EQ(loadConfigToml(std::string("metrics-listen = \"") + ok + "\"", "t").metrics_listen,
              ok);
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"9477", "must be HOST:PORT (or empty for off), got \"9477\""},
      {":9477", "must be HOST:PORT (or empty for off), got \":9477\""},
      {"::1:9477", "must be HOST:PORT (or empty for off), got \"::1:9477\""},
      {"[]:9477", "must be HOST:PORT (or empty for off), got \"[]:9477\""},
      {"host:", "port must be 1..65535, got \"\""},
      {"host:0", "port must be 1..65535, got \"0\""},
      {"host:65536", "port must be 1..65535, got \"65536\""},
      {"host:http", "port must be 1..65535, got \"http\""},
      {"host:-1", "port must be 1..65535, got \"-1\""},
  };
  for (const auto& [value, want] : bad) {
    EXPECT_EQ(tomlError("metrics-listen = \"" + value + "\""), "t.toml:1: metrics-listen: " + want)
        << value;
  }
}

TEST(Config, ValidateConfigBuiltInCode) {
  Config c;
  c.pmd_cores = {};
  EXPECT_EQ(errorOf([&] { validateConfig(c); }), "pmd-cores: must not be empty");
  c = Config{};
  c.pmd_cores = {1, 1};
  EXPECT_EQ(errorOf([&] { validateConfig(c); }), "pmd-cores: cpu 1 listed more than once");
  c = Config{};
  c.pmd_cores = {5000};
  EXPECT_EQ(errorOf([&] { validateConfig(c); }), "pmd-cores: cpu 5000 out of range 0..1023");
  c = Config{};
  c.mac_table_size = 100;
  EXPECT_EQ(errorOf([&] { validateConfig(c); }), "mac-table-size: must be a power of two, got 100");
  c = Config{};
  c.memory_mb = 1;
  EXPECT_EQ(errorOf([&] { validateConfig(c); }), "memory-mb: must be 64..65536, got 1");
  c = Config{};
  c.pmd_priority = -3;
  EXPECT_EQ(errorOf([&] { validateConfig(c); }), "pmd-priority: must be 0..99, got -3");
  c = Config{};
  c.metrics_listen = "nope";
  EXPECT_THAT(errorOf([&] { validateConfig(c); }), HasSubstr("metrics-listen: must be HOST:PORT"));
  c = Config{};
  PortSpec p;
  p.name = "vm1";
  p.path = "/tmp/vm1";
  p.queues = 0;
  c.ports = {p};
  EXPECT_EQ(errorOf([&] { validateConfig(c); }), "port \"vm1\": queues: must be 1..16, got 0");
  c = fullConfig();
  EXPECT_NO_THROW(validateConfig(c));
}

TEST(Config, ParseAndFormatCpuList) {
  EXPECT_THAT(parseCpuList("0,2-4", "k"), ElementsAre(0u, 2u, 3u, 4u));
  EXPECT_THAT(parseCpuList(" 1 , 3 - 4 ", "k"), ElementsAre(1u, 3u, 4u));
  EXPECT_TRUE(parseCpuList("", "k").empty());
  EXPECT_THAT(parseCpuList("1023", "k"), ElementsAre(1023u));
  EXPECT_EQ(errorOf([] { parseCpuList("99999999999", "--pmd-cores"); }),
            "--pmd-cores: cpu 99999999999 out of range 0..1023");
  EXPECT_EQ(formatCpuList({0, 2, 3, 4}), "0,2-4");
  EXPECT_EQ(formatCpuList({}), "");
  EXPECT_EQ(formatCpuList({7}), "7");
  EXPECT_EQ(formatCpuList({1, 2, 5, 6, 7, 9}), "1-2,5-7,9");
  EXPECT_EQ(formatCpuList({3, 1, 2}), "3,1-2");
  for (const char* text : {"0", "1-3", "0,2-4,8", "5,1-2"}) {
    EXPECT_EQ(formatCpuList(parseCpuList(text, "k")), text);
  }
}

TEST(Config, LogLevels) {
  for (LogLevel l : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn,
                     LogLevel::kError, LogLevel::kCritical, LogLevel::kOff}) {
    EXPECT_EQ(parseLogLevel(logLevelName(l), "k"), l);
  }
  EXPECT_STREQ(logLevelName(LogLevel::kWarn), "warn");
  EXPECT_EQ(errorOf([] { parseLogLevel("warning", "--log-level"); }),
            "--log-level: must be one of trace, debug, info, warn, error, critical, off; got "
            "\"warning\"");
}

}  // namespace
}  // namespace rtvs
