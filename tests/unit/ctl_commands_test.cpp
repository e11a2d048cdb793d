#include "control/ctl_commands.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <sstream>
#include <thread>

#include "switch/protocol/jsonrpc.h"
#include "switch/server/rpc_server.h"

namespace rtvs {
namespace {

using nlohmann::json;

struct Parsed {
  std::optional<int> rc;
  CtlCommand cmd;
  CtlGlobals globals;
  std::string out, err;
};

Parsed parse(std::vector<std::string> args) {
  CLI::App app{"test"};
  CtlCli cli(app);
  std::ostringstream out, err;
  Parsed p;
  p.rc = cli.parse(std::move(args), out, err);
  p.cmd = cli.command();
  p.globals = cli.globals();
  p.out = out.str();
  p.err = err.str();
  return p;
}

void expectCalls(std::vector<std::string> args, const std::string& verb,
                 std::vector<CtlCall> calls) {
  Parsed p = parse(args);
  EXPECT_FALSE(p.rc.has_value()) << p.err;
  EXPECT_EQ(p.cmd.verb, verb);
  EXPECT_EQ(p.cmd.calls, calls) << args[0];
}

TEST(CtlArgs, EveryVerbMapsToItsMethod) {
  expectCalls(
      {"port", "add", "vm1", "type=vhostuserclient", "path=/run/vm1.sock", "queues=2"}, "port add",
      {{"port.add",
        {{"name", "vm1"},
         {"options", {{"type", "vhostuserclient"}, {"path", "/run/vm1.sock"}, {"queues", "2"}}}}}});
  expectCalls({"port", "add", "vm2"}, "port add",
              {{"port.add", {{"name", "vm2"}, {"options", json::object()}}}});
  expectCalls({"port", "add", "--may-exist", "vm1", "mtu=9000", "external-ids:iface-id=X",
               "external-ids:vm-uuid="},
              "port add",
              {{"port.add",
                {{"name", "vm1"},
                 {"may_exist", true},
                 {"options", {{"mtu", "9000"}}},
                 {"external_ids", {{"iface-id", "X"}, {"vm-uuid", ""}}}}}});
  expectCalls({"port", "del", "vm1"}, "port del", {{"port.del", {{"name", "vm1"}}}});
  expectCalls({"port", "del", "--if-exists", "vm1"}, "port del",
              {{"port.del", {{"name", "vm1"}, {"if_exists", true}}}});
  expectCalls({"port", "set", "vm1", "mtu=9000", "external-ids:a=1", "external-ids:b="}, "port set",
              {{"port.set",
                {{"name", "vm1"},
                 {"options", {{"mtu", "9000"}}},
                 {"external_ids", {{"a", "1"}, {"b", nullptr}}}}}});
  expectCalls({"port", "list"}, "port list", {{"port.list", nullptr}});
  expectCalls({"port", "list", "--external-id", "iface-id=X", "--external-id", "k=a=b"},
              "port list", {{"port.list", {{"external_ids", {{"iface-id", "X"}, {"k", "a=b"}}}}}});
  expectCalls({"port", "show", "vm1"}, "port show", {{"port.show", {{"name", "vm1"}}}});
  expectCalls({"fdb", "show"}, "fdb show", {{"fdb.show", nullptr}});
  expectCalls({"fdb", "show", "vm1"}, "fdb show", {{"fdb.show", {{"port", "vm1"}}}});
  expectCalls({"fdb", "show", "--vlan", "10"}, "fdb show", {{"fdb.show", {{"vlan", 10}}}});
  expectCalls({"fdb", "show", "vm1", "--vlan", "0"}, "fdb show",
              {{"fdb.show", {{"port", "vm1"}, {"vlan", 0}}}});
  expectCalls({"fdb", "flush"}, "fdb flush", {{"fdb.flush", nullptr}});
  expectCalls({"fdb", "flush", "vm2"}, "fdb flush", {{"fdb.flush", {{"port", "vm2"}}}});
  expectCalls({"pmd", "show"}, "pmd show", {{"pmd.show", nullptr}});
  expectCalls({"pmd", "perf"}, "pmd perf", {{"pmd.perf", nullptr}});
  expectCalls({"stats"}, "stats", {{"stats.show", nullptr}});
  expectCalls({"stats", "vm1"}, "stats", {{"stats.show", {{"port", "vm1"}}}});
  expectCalls({"stats", "--clear"}, "stats", {{"stats.clear", nullptr}, {"stats.show", nullptr}});
  expectCalls({"stats", "vm1", "--clear"}, "stats",
              {{"stats.clear", {{"port", "vm1"}}}, {"stats.show", {{"port", "vm1"}}}});
  expectCalls({"latency", "show"}, "latency show", {{"latency.show", nullptr}});
  expectCalls({"latency", "show", "vm1", "--histogram"}, "latency show",
              {{"latency.show", {{"port", "vm1"}, {"histogram", true}}}});
  expectCalls({"latency", "clear"}, "latency clear", {{"latency.clear", nullptr}});
  expectCalls({"latency", "clear", "vm1"}, "latency clear", {{"latency.clear", {{"port", "vm1"}}}});
  expectCalls({"port", "xstats", "nic0"}, "port xstats", {{"port.xstats", {{"name", "nic0"}}}});
  expectCalls({"log", "level"}, "log level", {{"log.show", nullptr}});
  expectCalls({"log", "level", "debug", "--json"}, "log level",
              {{"log.set", {{"level", "debug"}}}});
  expectCalls({"version"}, "version", {{"version", nullptr}});
  expectCalls({"list-commands"}, "list-commands", {{"list-commands", nullptr}});
  expectCalls({"control", "show"}, "control show", {{"control.show", nullptr}});
}

TEST(CtlArgs, GlobalOptionsBeforeOrAfterTheVerb) {
  ::unsetenv("RTVSWITCH_SOCKET");
  Parsed p = parse({"port", "list"});
  EXPECT_EQ(p.globals.socket, "/run/rtvswitch/rtvswitch.ctl");
  EXPECT_FALSE(p.globals.json);
  EXPECT_DOUBLE_EQ(p.globals.timeout_s, 5.0);
  p = parse({"--socket", "/tmp/a.ctl", "--json", "--timeout", "0.5", "port", "list"});
  EXPECT_EQ(p.globals.socket, "/tmp/a.ctl");
  EXPECT_TRUE(p.globals.json);
  EXPECT_DOUBLE_EQ(p.globals.timeout_s, 0.5);
  p = parse({"port", "show", "vm1", "--json", "--socket=/tmp/b.ctl"});
  EXPECT_FALSE(p.rc.has_value()) << p.err;
  EXPECT_TRUE(p.globals.json);
  EXPECT_EQ(p.globals.socket, "/tmp/b.ctl");
  ::setenv("RTVSWITCH_SOCKET", "/tmp/env.ctl", 1);
  EXPECT_EQ(parse({"version"}).globals.socket, "/tmp/env.ctl");
  EXPECT_EQ(parse({"--socket", "/tmp/opt.ctl", "version"}).globals.socket, "/tmp/opt.ctl");
  ::unsetenv("RTVSWITCH_SOCKET");
}

void expectUsage(std::vector<std::string> args, const std::string& err) {
  Parsed p = parse(args);
  ASSERT_TRUE(p.rc.has_value());
  EXPECT_EQ(*p.rc, ctl_exit::kUsage);
  EXPECT_EQ(p.err, "vswitchctl: " + err + "\n");
  EXPECT_TRUE(p.out.empty());
  EXPECT_TRUE(p.cmd.calls.empty());
}

TEST(CtlArgs, UsageErrors) {
  const std::string verbs = "port, fdb, pmd, stats, latency, control, log, version, list-commands";
  expectUsage({}, "a command is needed: " + verbs);
  expectUsage({"--json"}, "a command is needed: " + verbs);
  expectUsage({"bogus"}, "unknown command 'bogus' (commands: " + verbs + ")");
  expectUsage({"port"}, "'port' needs a command: add, del, set, list, show, xstats");
  expectUsage({"port", "rename"},
              "unknown command 'port rename' (commands of 'port': add, del, set, "
              "list, show, xstats)");
  expectUsage({"port", "set", "vm1"}, "OPTIONS is required");
  expectUsage({"port", "set", "vm1", "external-ids:=1"},
              "'external-ids:': missing key after external-ids:");
  expectUsage({"port", "add", "vm1", "external-ids:a=1", "external-ids:a=2"},
              "external id 'a' given twice");
  expectUsage({"port", "list", "--external-id", "nokey"},
              "--external-id: expected KEY=VALUE, got 'nokey'");
  expectUsage({"port", "xstats"}, "NAME is required");
  expectUsage({"log"}, "'log' needs a command: level");
  expectUsage({"log", "level", "loud"},
              "LEVEL: must be one of trace, debug, info, warn, error, critical, off; got \"loud\"");
  expectUsage({"log", "level", "info", "x"}, "The following argument was not expected: x");
  expectUsage({"fdb"}, "'fdb' needs a command: show, flush");
  expectUsage({"pmd", "stop"}, "unknown command 'pmd stop' (commands of 'pmd': show, perf)");
  expectUsage({"latency"}, "'latency' needs a command: show, clear");
  expectUsage({"port", "add"}, "NAME is required");
  expectUsage({"port", "del"}, "NAME is required");
  expectUsage({"port", "show"}, "NAME is required");
  expectUsage({"port", "add", "vm1", "queues"}, "\"queues\": expected key=value");
  expectUsage({"port", "add", "vm1", "=1"}, "\"=1\": empty key before '='");
  expectUsage({"port", "add", "vm1", "queues=1", "queues=2"}, "option 'queues' given twice");
  expectUsage({"port", "del", "vm1", "vm2"}, "The following argument was not expected: vm2");
  expectUsage({"port", "list", "x"}, "The following argument was not expected: x");
  expectUsage({"fdb", "show", "a", "b"}, "The following argument was not expected: b");
  expectUsage({"stats", "a", "b"}, "The following argument was not expected: b");
  expectUsage({"version", "x"}, "The following argument was not expected: x");
  expectUsage({"stats", "--bogus"}, "The following argument was not expected: --bogus");
  expectUsage({"--timeout", "0", "version"},
              "--timeout: '0' is not a number of seconds in (0, 86400]");
  expectUsage({"--timeout", "soon", "version"},
              "--timeout: 'soon' is not a number of seconds in (0, 86400]");
  expectUsage({"--socket"}, "--socket: 1 required TEXT missing");
}

TEST(CtlArgs, HelpExitsZero) {
  Parsed p = parse({"--help"});
  ASSERT_TRUE(p.rc.has_value());
  EXPECT_EQ(*p.rc, 0);
  EXPECT_NE(p.out.find("list-commands"), std::string::npos);
  p = parse({"port", "add", "--help"});
  EXPECT_EQ(p.rc, 0);
  EXPECT_NE(p.out.find("OPTIONS"), std::string::npos);
}

TEST(CtlArgs, LocalCommandsRegisterOnTheSameApp) {
  CLI::App app{"test"};
  CtlCli cli(app);
  CLI::App* host = app.add_subcommand("host", "local");
  host->add_subcommand("check", "local check")->callback([] { throw CLI::RuntimeError(7); });
  std::ostringstream out, err;
  EXPECT_EQ(cli.run({"host", "check"}, out, err), 7);
  EXPECT_TRUE(cli.command().calls.empty());
}

// ---- formatting, on the sample shapes of docs/api.md ----

const json kPortStats = json::parse(R"({"name": "vm1", "rx_packets": 1000, "rx_bytes": 64000,
  "tx_packets": 990, "tx_bytes": 63360, "tx_retries": 3, "tx_deferred": 2,
  "drops": {"tx_full": 5, "mtu": 1, "no_mbuf": 0, "learn_full": 7, "link_down": 2, "runt": 1,
            "hairpin": 1, "vlan": 2, "spoof": 3, "mac_limit": 0, "storm": 4,
            "learn_limited": 1}, "link": "up", "reconnects": 1, "guest_notifications": 12})");

TEST(CtlFormat, PortList) {
  json r = json::parse(R"({"ports": [
    {"name": "vm1", "index": 0, "type": "vhostuserclient", "state": "up",
     "path": "/run/rtvswitch/vm1.sock", "devargs": "", "queues": 1, "mtu": 1500,
     "rx_packets": 1000, "tx_packets": 990, "drops": 10,
     "external_ids": {"iface-id": "A", "vm-uuid": "B"}},
    {"name": "uplink0", "index": 1, "type": "dpdk", "state": "down", "path": "",
     "devargs": "0000:01:00.0", "queues": 2, "mtu": 9000, "rx_packets": 5, "tx_packets": 123456,
     "drops": 0, "external_ids": {}}], "unrestored": []})");
  EXPECT_EQ(formatResult("port list", r),
            "NAME     INDEX  TYPE             STATE  QUEUES   MTU  RX-PKTS  TX-PKTS  DROPS  "
            "PATH/DEVARGS             EXTERNAL-IDS\n"
            "vm1          0  vhostuserclient  up          1  1500     1000      990     10  "
            "/run/rtvswitch/vm1.sock  iface-id=A,vm-uuid=B\n"
            "uplink0      1  dpdk             down        2  9000        5   123456      0  "
            "0000:01:00.0             -\n");
  EXPECT_EQ(formatResult("port list", json::parse(R"({"ports": []})")), "no ports\n");
  EXPECT_EQ(formatResult("port list", json::parse(R"({"ports": [],
      "unrestored": [{"name": "gone", "error": "path: directory \"/x\" does not exist"}]})")),
            "no ports\n\nsaved ports that could not be recreated (port del NAME forgets one):\n"
            "  gone: path: directory \"/x\" does not exist\n");
}

TEST(CtlFormat, PortShow) {
  json p = json::parse(R"({"name": "vm1", "index": 0, "type": "vhostuserclient", "state": "up",
     "path": "/run/rtvswitch/vm1.sock", "devargs": "", "queues": 1, "mtu": 1500,
     "rx_packets": 1000, "tx_packets": 990, "drops": 11,
     "options": {"type": "vhostuserclient", "path": "/run/rtvswitch/vm1.sock", "queues": "1"},
     "reconnects": 1, "external_ids": {"vm-uuid": "V", "iface-id": "U1"}, "rxqs": [{"queue": 0, "pmd": 0, "core": 1}]})");
  p["stats"] = kPortStats;
  const std::string expected =
      "name          : vm1\n"
      "index         : 0\n"
      "type          : vhostuserclient\n"
      "state         : up\n"
      "path          : /run/rtvswitch/vm1.sock\n"
      "devargs       : -\n"
      "queues        : 1\n"
      "mtu           : 1500 bytes\n"
      "reconnects    : 1\n"
      "external-ids  : iface-id=U1,vm-uuid=V\n"
      "options       : path=/run/rtvswitch/vm1.sock queues=1 type=vhostuserclient\n"
      "rxqs          : queue 0 on pmd 0 (core 1)\n"
      "numa          : -\n"
      "link          : up\n"
      "rx            : 1000 packets, 64000 bytes\n"
      "tx            : 990 packets, 63360 bytes, 3 retries, 2 deferred\n"
      "drops         : 19 (tx_full 5, mtu 1, no_mbuf 0, link_down 2, runt 1, hairpin 1, "
      "vlan 2, spoof 3, mac_limit 0, storm 4)\n"
      "learn_full    : 7 (source MACs not learned, frames forwarded)\n"
      "learn_limited : 1 (source MACs over mac-limit)\n";
  EXPECT_EQ(formatResult("port show", p), expected);
  EXPECT_EQ(formatResult("port add", p), expected);
  EXPECT_EQ(formatResult("port set", p), expected);
  EXPECT_EQ(formatResult("port del", json{{"name", "vm1"}}), "deleted port vm1\n");
  EXPECT_EQ(formatResult("port del", json{{"name", "vm1"}, {"deleted", true}}),
            "deleted port vm1\n");
  EXPECT_EQ(formatResult("port del", json{{"name", "vm1"}, {"deleted", false}}),
            "no port vm1: nothing deleted\n");
}

TEST(CtlFormat, Fdb) {
  json r = json::parse(R"({"entries": [
    {"vlan": 0, "mac": "52:54:00:00:00:01", "port": "vm1", "age_s": 1.5},
    {"vlan": 10, "mac": "52:54:00:00:00:02", "port": "uplink0", "age_s": 120}],
    "count": 2, "capacity": 4096, "learn_failed": 0, "learn_collisions": 0, "learn_events_dropped": 3,
    "aging_s": 300})");
  EXPECT_EQ(formatResult("fdb show", r),
            "VLAN  MAC                PORT         AGE\n"
            "   0  52:54:00:00:00:01  vm1        1.5 s\n"
            "  10  52:54:00:00:00:02  uplink0  120.0 s\n"
            "2 entries, capacity 4096, aging 300 s, learn failed 0 (collisions 0), learn events "
            "dropped 3\n");
  r["entries"] = json::array();
  r["count"] = 0;
  EXPECT_EQ(formatResult("fdb show", r),
            "no learned MAC addresses\n"
            "0 entries, capacity 4096, aging 300 s, learn failed 0 (collisions 0), learn events "
            "dropped 3\n");
  EXPECT_EQ(formatResult("fdb flush", json{{"flushed", 2}}), "flushed 2 entries\n");
}

TEST(CtlFormat, PmdShow) {
  json r = json::parse(R"({"pmds": [
    {"id": 0, "core": 1, "numa": 0, "sched": "SCHED_OTHER", "iterations": 123456789,
     "busy_pct": 12.34, "rx_packets": 5000000, "busy_cycles_per_packet": 98.76,
     "rxqs": [{"port": "vm1", "queue": 0, "numa": 0, "busy_pct": 10.0},
              {"port": "uplink0", "queue": 1, "numa": 1, "busy_pct": 2.345},
              {"port": "vm2", "queue": 0, "numa": null, "busy_pct": 0}]},
    {"id": 1, "core": 3, "numa": 1, "sched": "SCHED_FIFO:50", "iterations": 5, "busy_pct": 0,
     "rx_packets": 0, "busy_cycles_per_packet": 0, "rxqs": []}]})");
  EXPECT_EQ(formatResult("pmd show", r),
            "PMD  CORE  NUMA  SCHED          ITERATIONS    BUSY  RX-PKTS  CYCLES/PKT\n"
            "  0     1     0  SCHED_OTHER     123456789  12.3 %  5000000        98.8\n"
            "  1     3     1  SCHED_FIFO:50           5   0.0 %        0         0.0\n"
            "\n"
            "PMD  PORT     QUEUE          NUMA    BUSY\n"
            "  0  vm1          0             0  10.0 %\n"
            "  0  uplink0      1  1 cross-numa   2.3 %\n"
            "  0  vm2          0             -   0.0 %\n");
}

TEST(CtlFormat, PmdShowPinnedQueues) {
  json r = json::parse(R"({"pmds": [
    {"id": 0, "core": 1, "sched": "SCHED_OTHER", "iterations": 1, "busy_pct": 0,
     "rx_packets": 0, "busy_cycles_per_packet": 0, "isolated": false,
     "rxqs": [{"port": "be", "queue": 0, "pinned": false, "busy_pct": 1.0}]},
    {"id": 1, "core": 3, "sched": "SCHED_OTHER", "iterations": 1, "busy_pct": 0,
     "rx_packets": 0, "busy_cycles_per_packet": 0, "isolated": true,
     "rxqs": [{"port": "rt", "queue": 1, "pinned": true, "busy_pct": 2.0}]}]})");
  const std::string out = formatResult("pmd show", r);
  EXPECT_NE(out.find("  1  rt    1 pinned     -  2.0 %\n"), std::string::npos) << out;
  EXPECT_NE(out.find("isolated (rxq-affinity, only pinned queues): pmd 1\n"), std::string::npos)
      << out;
}

TEST(CtlFormat, PmdShowDegraded) {
  json r = json::parse(R"({"pmds": [
    {"id": 0, "core": 1, "sched": "SCHED_OTHER", "iterations": 1, "busy_pct": 0,
     "rx_packets": 0, "busy_cycles_per_packet": 0, "rxqs": []}],
    "degraded": ["sched-fifo: pmd 0 on core 1: SCHED_FIFO 50 not applied: Operation not permitted",
                 "rt-throttling: sched_rt_runtime_us=950000"]})");
  EXPECT_EQ(formatResult("pmd show", r),
            "PMD  CORE  NUMA  SCHED        ITERATIONS   BUSY  RX-PKTS  CYCLES/PKT\n"
            "  0     1     -  SCHED_OTHER           1  0.0 %        0         0.0\n"
            "\n"
            "no rx queues assigned\n"
            "\n"
            "DEGRADED: started with --allow-degraded; real-time preconditions not met:\n"
            "  sched-fifo: pmd 0 on core 1: SCHED_FIFO 50 not applied: Operation not permitted\n"
            "  rt-throttling: sched_rt_runtime_us=950000\n");
  r["degraded"] = json::array();
  EXPECT_EQ(formatResult("pmd show", r).find("DEGRADED"), std::string::npos);
}

TEST(CtlFormat, Stats) {
  json r{{"ports", {kPortStats}}, {"mempool", {{"size", 16383}, {"in_use", 2048}}}};
  EXPECT_EQ(formatResult("stats", r),
            "PORT  LINK  RX-PKTS  RX-BYTES  TX-PKTS  TX-BYTES  TX-RETRIES  TX-DEFERRED  DROPS  "
            "RECONNECTS  GUEST-NOTIFS\n"
            "vm1   up       1000     64000      990     63360           3            2     19  "
            "         1            12\n"
            "\n"
            "drops by reason (packets):\n"
            "PORT  TX_FULL  MTU  NO_MBUF  LINK_DOWN  RUNT  HAIRPIN  VLAN  SPOOF  MAC_LIMIT  STORM  "
            "LEARN_FULL*\n"
            "vm1         5    1        0          2     1        1     2      3          0      4  "
            "          7\n"
            "* not a drop: the source MAC was not learned (table full), the frame was forwarded\n"
            "\n"
            "mempool: 2048 of 16383 mbufs in use\n");
}

TEST(CtlFormat, VersionAndListCommands) {
  json v{{"vswitchctl", "0.1.0"}, {"rtvswitch", {{"version", "0.1.0"}, {"dpdk", "DPDK 22.11.11"}}}};
  EXPECT_EQ(formatResult("version", v), "vswitchctl 0.1.0\nrtvswitch 0.1.0 (DPDK 22.11.11)\n");
  json c = json::parse(R"({"commands": [
    {"method": "port.del", "role": "admin", "params": "name", "help": "remove a port"},
    {"method": "version", "role": "read", "params": "", "help": "daemon and DPDK versions"}]})");
  EXPECT_EQ(formatResult("list-commands", c),
            "METHOD    ROLE   PARAMS  HELP\n"
            "port.del  admin  name    remove a port\n"
            "version   read   -       daemon and DPDK versions\n");
}

TEST(CtlFormat, GenericTreeForAnyShape) {
  json r = json::parse(R"({"ports": [{"name": "vm1", "p50_us": 3.5, "p99_us": 12,
    "histogram": [{"le_us": 1, "count": 5}, {"le_us": 2, "count": 0}]}],
    "since_s": 10.25, "empty": [], "none": null, "flag": true, "nested": {"a": {"b": [1, 2]}}})");
  EXPECT_EQ(formatResult("some new verb", r),
            "empty: []\n"
            "flag:    true\n"
            "nested:\n"
            "  a:\n"
            "    b:\n"
            "      - 1\n"
            "      - 2\n"
            "none:    -\n"
            "ports:\n"
            "  -\n"
            "    histogram:\n"
            "      - count: 5, le_us: 1\n"
            "      - count: 0, le_us: 2\n"
            "    name:   vm1\n"
            "    p50_us: 3.5\n"
            "    p99_us: 12\n"
            "since_s: 10.25\n");
  EXPECT_EQ(formatResult("some new verb", json(42)), "42\n");
}

// latency.show as the daemon answers it (switch_api.cpp portLatency), values in ns.
const json kLatency = json::parse(R"({"ports": [
  {"name": "vm1", "latency_budget_us": 50, "over_budget": 3,
   "ingress": {"count": 1000, "mean_ns": 2837.44, "p50_ns": 2500, "p90_ns": 3100.5,
               "p99_ns": 8200, "p999_ns": 15300, "p9999_ns": 20100, "max_ns": 28374400},
   "egress": {"count": 990, "mean_ns": 350.4, "p50_ns": 300, "p90_ns": 420, "p99_ns": 99990,
              "p999_ns": 123456, "p9999_ns": 123456, "max_ns": 123456}},
  {"name": "uplink0", "latency_budget_us": 0, "over_budget": 0,
   "ingress": {"count": 0, "mean_ns": 0, "p50_ns": 0, "p90_ns": 0, "p99_ns": 0, "p999_ns": 0,
               "p9999_ns": 0, "max_ns": 0},
   "egress": {"count": 0, "mean_ns": 0, "p50_ns": 0, "p90_ns": 0, "p99_ns": 0, "p999_ns": 0,
              "p9999_ns": 0, "max_ns": 0}}]})");

TEST(CtlFormat, LatencyShowInMicroseconds) {
  EXPECT_EQ(formatResult("latency show", kLatency),
            "PORT     DIR      COUNT  MEAN   P50   P90    P99  P99.9  P99.99    MAX  BUDGET  "
            "OVER-BUDGET\n"
            "vm1      ingress   1000  2.84  2.50  3.10   8.20   15.3    20.1  28374\n"
            "         egress     990  0.35  0.30  0.42  100.0    123     123    123      50  "
            "          3\n"
            "uplink0  ingress      0     -     -     -      -      -       -      -\n"
            "         egress       0     -     -     -      -      -       -      -    none  "
            "          -\n"
            "times in µs: residence from the rx burst to the hand-off to the egress port, by "
            "ingress and egress port;\n"
            "the budget (µs) applies on egress, OVER-BUDGET counts the packets above it\n");
  EXPECT_EQ(formatResult("latency show", json::parse(R"({"ports": []})")), "no ports\n");
}

TEST(CtlFormat, LatencyHistogramBucketsWithBarAndCumulativeShare) {
  json r = kLatency;
  r["ports"].erase(1);
  r["ports"][0]["ingress_buckets"] = json::parse(R"([{"le_ns": 2047, "count": 500},
    {"le_ns": 4095, "count": 499}, {"le_ns": 28374400, "count": 1}])");
  r["ports"][0]["egress_buckets"] = json::array();
  const std::string out = formatResult("latency show", r);
  const std::string tail =
      "\n"
      "vm1 ingress histogram (1000 packets):\n"
      "    <= US  COUNT  CUMULATIVE\n"
      "     2.05    500     50.00 %  ########################################\n"
      "     4.09    499     99.90 %  ########################################\n"
      "    28374      1    100.00 %  #\n"
      "\n"
      "vm1 egress histogram (990 packets):\n"
      "    no samples\n";
  ASSERT_GE(out.size(), tail.size());
  EXPECT_EQ(out.substr(out.size() - tail.size()), tail) << out;
}

TEST(CtlFormat, PmdPerf) {
  json r = json::parse(R"({"tsc_hz": 2400000000, "pmds": [
    {"id": 0, "core": 1, "sched": "SCHED_FIFO:50", "iterations": 123456789, "busy_pct": 12.34,
     "rxqs": [], "longest_stall_ns": 28374400, "longest_stall_at": "2026-11-22T08:55:01Z",
     "iteration": {"count": 123456789, "mean_ns": 81.2, "p50_ns": 64, "p90_ns": 120,
                   "p99_ns": 900, "p999_ns": 4100, "p9999_ns": 12000, "max_ns": 28374400},
     "poll_gap": {"count": 123456789, "mean_ns": 82, "p50_ns": 64, "p90_ns": 121, "p99_ns": 905,
                  "p999_ns": 4200, "p9999_ns": 12500, "max_ns": 28374400}},
    {"id": 1, "core": 3, "sched": "SCHED_OTHER", "iterations": 0, "busy_pct": 0, "rxqs": [],
     "longest_stall_ns": 0, "longest_stall_at": null,
     "iteration": {"count": 0}, "poll_gap": {"count": 0}}]})");
  EXPECT_EQ(formatResult("pmd perf", r),
            "PMD  CORE  SCHED          ITERATIONS    BUSY  LONGEST-STALL  STALL-AT\n"
            "  0     1  SCHED_FIFO:50   123456789  12.3 %          28374  2026-11-22T08:55:01Z\n"
            "  1     3  SCHED_OTHER             0   0.0 %           0.00  -\n"
            "\n"
            "PMD  TIME           COUNT  MEAN   P50   P90   P99  P99.9  P99.99    MAX\n"
            "  0  iteration  123456789  0.08  0.06  0.12  0.90   4.10    12.0  28374\n"
            "  0  poll gap   123456789  0.08  0.06  0.12  0.91   4.20    12.5  28374\n"
            "  1  iteration          0     -     -     -     -      -       -      -\n"
            "  1  poll gap           0     -     -     -     -      -       -      -\n"
            "times in µs; iteration: one pass of the poll loop; poll gap: between two polls of "
            "the same rx queue;\n"
            "longest stall: the longest poll gap since start\n"
            "TSC 2.400 GHz\n");
  EXPECT_EQ(formatResult("pmd perf", json::parse(R"({"pmds": []})")), "no PMD threads\n");
}

TEST(CtlFormat, XstatsAndLogLevel) {
  EXPECT_EQ(
      formatResult("port xstats", json{{"name", "a"},
                                       {"ethdev", 0},
                                       {"xstats",
                                        {{{"name", "rx_good_packets"}, {"value", 12}},
                                         {{"name", "rx_q0_size_64_packets"}, {"value", 3}}}}}),
      "XSTAT                  VALUE\n"
      "rx_good_packets           12\n"
      "rx_q0_size_64_packets      3\n");
  EXPECT_EQ(formatResult("port xstats", json{{"xstats", json::array()}}),
            "no extended statistics\n");
  EXPECT_EQ(formatResult("log level", json{{"level", "debug"}, {"dpdk", "info"}}),
            "log level debug (DPDK info)\n");
}

TEST(CtlFormat, LatencyClear) {
  EXPECT_EQ(formatResult("latency clear", json{{"cleared", {"vm1", "vm2"}}}),
            "cleared latency of vm1, vm2\n");
  EXPECT_EQ(formatResult("latency clear", json{{"cleared", json::array()}}),
            "no ports: no latency cleared\n");
}

TEST(CtlFormat, MissingFieldsPrintDashes) {
  EXPECT_EQ(formatResult("port list", json::parse(R"({"ports": [{"name": "x"}]})")),
            "NAME  INDEX  TYPE  STATE  QUEUES  MTU  RX-PKTS  TX-PKTS  DROPS  PATH/DEVARGS  "
            "EXTERNAL-IDS\n"
            "x         -  -     -           -    -        -        -      -  -             -\n");
  EXPECT_EQ(formatResult("fdb flush", json::object()), "flushed - entries\n");
}

// ---- end to end: vswitchctl logic against a real server with canned results ----

class CtlRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ctl-run-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/ctl.sock";
    d_.add("version", "", "", [](const json&) {
      return json{{"version", "0.1.0"}, {"dpdk", "DPDK 22.11.11"}};
    });
    d_.add("port.del", "name", "", [](const json& p) -> json {
      throw RpcError(rpc_code::kNotFound,
                     "no port named '" + p.at("name").get<std::string>() + "'");
    });
    d_.add("stats.clear", "[port]", "", [this](const json&) {
      ++clears_;
      return json{{"cleared", {"vm1"}}};
    });
    d_.add("stats.show", "[port]", "", [this](const json&) {
      return json{{"ports", {kPortStats}}, {"mempool", {{"size", 10}, {"in_use", clears_.load()}}}};
    });
    server_ = std::make_unique<RpcServer>(path_, d_);
    thread_ = std::thread([this] {
      while (!stop_) server_->poll(10);
    });
  }
  void TearDown() override {
    stop_ = true;
    thread_.join();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  int run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--socket", path_});
    CLI::App app{"test"};
    CtlCli cli(app);
    std::ostringstream out, err;
    int rc = cli.run(std::move(args), out, err);
    out_ = out.str();
    err_ = err.str();
    return rc;
  }

  std::string dir_, path_, out_, err_;
  RpcDispatcher d_;
  std::atomic<int> clears_{0};
  std::unique_ptr<RpcServer> server_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

TEST_F(CtlRunTest, ExitCodesAndOutput) {
  EXPECT_EQ(run({"version"}), 0);
  EXPECT_EQ(out_, "vswitchctl " RTVS_VERSION "\nrtvswitch 0.1.0 (DPDK 22.11.11)\n");
  EXPECT_EQ(run({"version", "--json"}), 0);
  EXPECT_EQ(json::parse(out_), json::parse(R"({"vswitchctl": ")" RTVS_VERSION R"(",
            "rtvswitch": {"version": "0.1.0", "dpdk": "DPDK 22.11.11"}})"));
  EXPECT_EQ(run({"port", "del", "vm9"}), ctl_exit::kDaemonError);
  EXPECT_EQ(err_, "vswitchctl: no port named 'vm9'\n");
  EXPECT_TRUE(out_.empty());
  EXPECT_EQ(run({"pmd", "show"}), ctl_exit::kDaemonError);
  EXPECT_EQ(err_, "vswitchctl: unknown method 'pmd.show'\n");
  EXPECT_EQ(run({"stats", "--clear", "--json"}), 0);
  EXPECT_EQ(clears_, 1);
  EXPECT_EQ(json::parse(out_).at("mempool").at("in_use"), 1);
  EXPECT_EQ(run({"stats"}), 0);
  EXPECT_NE(out_.find("mempool: 1 of 10 mbufs in use"), std::string::npos);
  EXPECT_EQ(run({"port", "add", "x", "novalue"}), ctl_exit::kUsage);
}

TEST_F(CtlRunTest, UnreachableDaemon) {
  CLI::App app{"test"};
  CtlCli cli(app);
  std::ostringstream out, err;
  const std::string missing = dir_ + "/missing.ctl";
  EXPECT_EQ(cli.run({"--socket", missing, "port", "list"}, out, err), ctl_exit::kUnreachable);
  EXPECT_EQ(err.str(), "vswitchctl: cannot connect to " + missing +
                           ": No such file or directory (is rtvswitch running?)\n");
}

}  // namespace
}  // namespace rtvs
