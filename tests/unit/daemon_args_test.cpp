#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "switch/core/config.h"

namespace rtvs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kFull = std::string(RTVS_TEST_DATA) + "/config/full.toml";

DaemonArgs parse(std::vector<std::string> args) {
  args.insert(args.begin(), "rtvswitch");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return parseDaemonArgs(static_cast<int>(argv.size()), argv.data());
}

std::string errorOf(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

class DaemonArgsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rtvs-args-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string writeFile(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_;
};

TEST(DaemonArgs, NoArgumentsGiveDefaults) {
  const DaemonArgs a = parse({});
  EXPECT_EQ(a.config, Config{});
  EXPECT_FALSE(a.check_host);
  EXPECT_FALSE(a.exit_now);
}

TEST(DaemonArgs, HelpPrintsToStdout) {
  ::testing::internal::CaptureStdout();
  const DaemonArgs a = parse({"--help"});
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(a.exit_now);
  EXPECT_EQ(a.exit_code, 0);
  for (const char* opt : {"--config",
                          "--pmd-cores",
                          "--housekeeping-cores",
                          "--socket-dir",
                          "--control-socket",
                          "--memory-mb",
                          "--no-huge",
                          "--file-prefix",
                          "--mbufs",
                          "--mac-aging-sec",
                          "--mac-table-size",
                          "--log-level",
                          "--pmd-priority",
                          "--mlockall",
                          "--no-mlockall",
                          "--metrics-listen",
                          "--eal-arg",
                          "--port",
                          "--check-host",
                          "--version",
                          "--allowed-socket-dir",
                          "--control-admin-group",
                          "--control-read-group",
                          "--control-mutation-rate",
                          "--control-mutation-burst"}) {
    EXPECT_THAT(out, HasSubstr(opt)) << opt;
  }
}

TEST(DaemonArgs, VersionPrintsToStdout) {
  ::testing::internal::CaptureStdout();
  const DaemonArgs a = parse({"--version"});
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(a.exit_now);
  EXPECT_EQ(a.exit_code, 0);
  EXPECT_THAT(out, HasSubstr(std::string("rtvswitch ") + RTVS_VERSION));
}

TEST(DaemonArgs, ConfigFileAlone) {
  const DaemonArgs a = parse({"--config", kFull});
  EXPECT_EQ(a.config, loadConfigFile(kFull));
  EXPECT_EQ(a.config.ports.size(), 3u);
  EXPECT_EQ(parse({"--config=" + std::string(RTVS_TEST_DATA) + "/config/full.json"}).config,
            a.config);
}

TEST_F(DaemonArgsTest, OverridesWinOverTheFile) {
  const DaemonArgs a = parse({"--config",
                              kFull,
                              "--pmd-cores",
                              "3,8-9",
                              "--housekeeping-cores=0",
                              "--socket-dir",
                              dir_,
                              "--control-socket",
                              dir_ + "/ctl",
                              "--memory-mb",
                              "2048",
                              "--file-prefix",
                              "config-test",
                              "--mbufs",
                              "8192",
                              "--mac-aging-sec",
                              "0",
                              "--mac-table-size",
                              "65536",
                              "--log-level",
                              "warn",
                              "--pmd-priority",
                              "0",
                              "--mlockall",
                              "--metrics-listen",
                              "[::1]:9100",
                              "--eal-arg=--no-telemetry",
                              "--eal-arg=-l",
                              "--check-host"});
  const Config& c = a.config;
  EXPECT_THAT(c.pmd_cores, ElementsAre(3u, 8u, 9u));
  EXPECT_THAT(c.housekeeping_cores, ElementsAre(0u));
  EXPECT_EQ(c.socket_dir, dir_);
  EXPECT_EQ(c.control_socket, dir_ + "/ctl");
  EXPECT_EQ(c.memory_mb, 2048u);
  EXPECT_TRUE(c.no_huge);  // from the file: not overridden
  EXPECT_EQ(c.file_prefix, "config-test");
  EXPECT_EQ(c.mbufs, 8192u);
  EXPECT_EQ(c.mac_aging_s, 0u);
  EXPECT_EQ(c.mac_table_size, 65536u);
  EXPECT_EQ(c.log_level, LogLevel::kWarn);
  EXPECT_EQ(c.pmd_priority, 0);
  EXPECT_TRUE(c.mlockall);
  EXPECT_EQ(c.metrics_listen, "[::1]:9100");
  EXPECT_THAT(c.eal_args,
              ElementsAre("--log-level=lib.eal:debug", "--no-pci", "--no-telemetry", "-l"));
  EXPECT_TRUE(a.check_host);
  // A vhostuser port of the file without a path follows the overridden socket-dir.
  ASSERT_EQ(c.ports.size(), 3u);
  EXPECT_EQ(c.ports[1].name, "vm2");
  EXPECT_EQ(c.ports[1].path, dir_ + "/vm2");
}

TEST(DaemonArgs, SecurityOverrides) {
  const Config c =
      parse({"--config", kFull, "--allowed-socket-dir", "/srv/a", "--allowed-socket-dir=/srv/b",
             "--control-admin-group", "wheel", "--control-read-group", "adm",
             "--control-mutation-rate", "0", "--control-mutation-burst", "7"})
          .config;
  // Directories of the command line are added to the file's.
  EXPECT_THAT(c.allowed_socket_dirs,
              ElementsAre("/var/lib/libvirt/qemu", "/run/kubevirt", "/srv/a", "/srv/b"));
  EXPECT_EQ(c.control_admin_group, "wheel");
  EXPECT_EQ(c.control_read_group, "adm");
  EXPECT_EQ(c.control_mutation_rate, 0u);
  EXPECT_EQ(c.control_mutation_burst, 7u);
  EXPECT_THROW(parse({"--allowed-socket-dir", "rel"}), ConfigError);
  EXPECT_THROW(parse({"--control-read-group", "a:b"}), ConfigError);
}

TEST(DaemonArgs, BooleanFlags) {
  EXPECT_FALSE(parse({"--no-mlockall"}).config.mlockall);
  EXPECT_TRUE(parse({"--mlockall"}).config.mlockall);
  EXPECT_FALSE(parse({"--config", kFull}).config.mlockall);
  EXPECT_TRUE(parse({"--config", kFull, "--mlockall"}).config.mlockall);
  EXPECT_TRUE(parse({"--no-huge"}).config.no_huge);
  EXPECT_FALSE(parse({}).config.no_huge);
  EXPECT_TRUE(parse({"--check-host"}).check_host);
}

TEST(DaemonArgs, EmptyMetricsListenTurnsMetricsOff) {
  EXPECT_EQ(parse({"--config", kFull, "--metrics-listen", ""}).config.metrics_listen, "");
}

TEST_F(DaemonArgsTest, PortsAreAppendedToTheFilesPorts) {
  const DaemonArgs a = parse({"--config", kFull, "--port", "vm3 type=vhostuser queues=2", "--port",
                              "vm4 path=" + dir_ + "/vm4.sock mtu=9000", "--port",
                              "tap1 type=dpdk devargs=net_null0"});
  const auto& ports = a.config.ports;
  ASSERT_EQ(ports.size(), 6u);
  EXPECT_EQ(ports[0].name, "vm1");
  EXPECT_EQ(ports[3].name, "vm3");
  EXPECT_EQ(ports[3].type, PortType::kVhostUser);
  EXPECT_EQ(ports[3].path, "/tmp/vm3");  // socket-dir of the file
  EXPECT_EQ(ports[3].queues, 2);
  EXPECT_EQ(ports[4].path, dir_ + "/vm4.sock");
  EXPECT_EQ(ports[4].mtu, 9000u);
  EXPECT_EQ(ports[5].devargs, "net_null0");
}

TEST_F(DaemonArgsTest, ValidationRunsAfterOverrides) {
  // On its own this file is invalid (cpu 0 in both lists); the command line repairs it.
  const std::string path = writeFile("overlap.toml", "pmd-cores = \"0\"\n");
  EXPECT_EQ(errorOf({"--config", path}), "housekeeping-cores: cpu 0 is also in pmd-cores");
  EXPECT_THAT(parse({"--config", path, "--housekeeping-cores", "1"}).config.pmd_cores,
              ElementsAre(0u));
  EXPECT_EQ(errorOf({"--pmd-cores", "0"}), "housekeeping-cores: cpu 0 is also in pmd-cores");
}

TEST_F(DaemonArgsTest, FileErrorsNameTheFile) {
  const std::string path = writeFile("bad.toml", "memory-mb = 512\nqueues = 2\n");
  EXPECT_EQ(errorOf({"--config", path}), path + ":2: \"queues\": unknown key");
  const std::string port = writeFile("port.toml", "[[port]]\nname = \"vm1\"\n");
  EXPECT_EQ(errorOf({"--config", port}),
            port + ":1: port \"vm1\": path: required for type vhostuserclient");
  EXPECT_EQ(errorOf({"--config", dir_ + "/none.toml"}),
            dir_ + "/none.toml: cannot read: No such file or directory");
  const std::string json = writeFile("bad.json", "{\"mbufs\": }");
  EXPECT_THAT(errorOf({"--config", json}), HasSubstr(json + ": JSON parse error"));
}

TEST(DaemonArgs, BadOverrides) {
  EXPECT_EQ(errorOf({"--memory-mb", "10"}), "--memory-mb: must be 64..65536, got 10");
  EXPECT_EQ(errorOf({"--memory-mb", "lots"}),
            "--memory-mb: must be an integer 64..65536, got \"lots\"");
  EXPECT_EQ(errorOf({"--mbufs", "1"}), "--mbufs: must be 1024..4194304, got 1");
  EXPECT_EQ(errorOf({"--mac-aging-sec", "86401"}), "--mac-aging-sec: must be 0..86400, got 86401");
  EXPECT_EQ(errorOf({"--mac-table-size", "100"}),
            "mac-table-size: must be a power of two, got 100");
  EXPECT_EQ(errorOf({"--pmd-priority", "100"}), "--pmd-priority: must be 0..99, got 100");
  EXPECT_EQ(errorOf({"--pmd-cores", "1-"}),
            "--pmd-cores: bad cpu list \"1-\": \"\" is not a cpu number");
  EXPECT_EQ(errorOf({"--pmd-cores", ""}), "pmd-cores: must not be empty");
  EXPECT_EQ(errorOf({"--log-level", "chatty"}),
            "--log-level: must be one of trace, debug, info, warn, error, critical, off; got "
            "\"chatty\"");
  EXPECT_EQ(errorOf({"--metrics-listen", "9477"}),
            "metrics-listen: must be HOST:PORT (or empty for off), got \"9477\"");
  EXPECT_EQ(errorOf({"--control-socket", "/tmp/" + std::string(200, 'c')}),
            "control-socket: must be at most 107 bytes, got 205");
  EXPECT_EQ(errorOf({"--file-prefix", "a/b"}),
            "file-prefix: must be non-empty and contain no '/', got \"a/b\"");
  // A value of the right type is checked with the file's rules, after every override (so
  // --no-state wins over a bad --state-file), and the message names the key as the file's do.
  EXPECT_EQ(errorOf({"--state-file", "rel"}),
            "state-file: must be an absolute path or empty (off), got \"rel\"");
  EXPECT_EQ(parse({"--state-file", "rel", "--no-state"}).config.state_file, "");
  EXPECT_EQ(errorOf({"--socket-dir-mode", "999"}),
            "socket-dir-mode: must be 3 or 4 octal digits such as \"2770\", got \"999\"");
  EXPECT_EQ(errorOf({"--allowed-socket-dir", "rel"}),
            "allowed-socket-dirs: must be absolute directories, got \"rel\"");
}

TEST(DaemonArgs, BadPorts) {
  EXPECT_EQ(errorOf({"--port", "  "}), "--port: missing port name");
  EXPECT_EQ(errorOf({"--port", "vm1 vhostuser"}), "--port: \"vhostuser\": expected key=value");
  EXPECT_EQ(errorOf({"--port", "vm1 type=vhostuser queues=99"}),
            "--port: port \"vm1\": queues: must be 1..16, got 99");
  EXPECT_EQ(errorOf({"--port", "vm1"}),
            "--port: port \"vm1\": path: required for type vhostuserclient");
  EXPECT_EQ(errorOf({"--port", "vm1 path=/tmp/a", "--port", "vm1 path=/tmp/b"}),
            "port \"vm1\": name: duplicate port name");
  EXPECT_EQ(errorOf({"--config", kFull, "--port", "vm1 path=/tmp/b"}),
            "port \"vm1\": name: duplicate port name");
}

TEST(DaemonArgs, CommandLineSyntaxErrors) {
  EXPECT_THAT(errorOf({"--bogus"}), HasSubstr("--bogus"));
  EXPECT_THAT(errorOf({"stray"}), HasSubstr("stray"));
  EXPECT_THAT(errorOf({"--memory-mb"}), HasSubstr("--memory-mb"));
  EXPECT_THAT(errorOf({"--config"}), HasSubstr("--config"));
}

}  // namespace
}  // namespace rtvs

namespace rtvs {
namespace {

TEST(DaemonArgs, RealtimeAndAllowDegraded) {
  const DaemonArgs rt = parse({"--realtime"});
  EXPECT_TRUE(rt.config.realtime);
  EXPECT_EQ(rt.config.pmd_priority, kRealtimePmdPriority);
  EXPECT_FALSE(rt.config.allow_degraded);
  EXPECT_EQ(parse({"--realtime", "--pmd-priority", "20"}).config.pmd_priority, 20);
  EXPECT_TRUE(parse({"--allow-degraded"}).config.allow_degraded);
  EXPECT_THAT(errorOf({"--realtime", "--no-mlockall"}),
              HasSubstr("mlockall: realtime = true needs mlockall = true"));
}

}  // namespace
}  // namespace rtvs
