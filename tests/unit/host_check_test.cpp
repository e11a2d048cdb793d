#include "hostcheck/host_check.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "switch/core/port_spec.h"

namespace rtvs {
namespace {

// The fixtures are written by tests/data/hostcheck/generate.py.
std::string fixture(const std::string& name) {
  return std::string(RTVS_TEST_DATA) + "/hostcheck/" + name;
}

using Expected = std::map<std::string, Verdict>;
constexpr Verdict P = Verdict::kPass, I = Verdict::kInfo, W = Verdict::kWarn, F = Verdict::kFail;

// Every item of the report must be expected, and every expected item must be in the report.
void expectVerdicts(const HostCheckReport& report, const Expected& expected) {
  std::set<std::string> seen;
  for (const auto& item : report.items) {
    EXPECT_TRUE(seen.insert(item.id).second) << "duplicate item " << item.id;
    const auto it = expected.find(item.id);
    ASSERT_NE(it, expected.end()) << "unexpected item " << item.id;
    EXPECT_EQ(verdictName(item.verdict), std::string(verdictName(it->second)))
        << item.id << ": " << item.found;
    EXPECT_FALSE(item.title.empty()) << item.id;
    EXPECT_FALSE(item.found.empty()) << item.id;
    EXPECT_FALSE(item.why.empty()) << item.id;
    if (item.verdict == Verdict::kPass) {
      EXPECT_TRUE(item.remedy.empty()) << item.id;
    }
    if (item.verdict == Verdict::kFail) {
      EXPECT_FALSE(item.remedy.empty()) << item.id;
    }
  }
  EXPECT_EQ(seen.size(), expected.size());
}

std::string found(const HostCheckReport& r, const std::string& id) {
  const HostCheckItem* item = r.find(id);
  return item ? item->found : "<no item " + id + ">";
}

HostCheckInput tunedInput() {
  HostCheckInput in;
  in.root = fixture("tuned");
  in.pmd_cores = {2, 3};
  in.housekeeping_cores = {0, 1};
  in.pmd_priority = 50;
  in.hugepages_mb = 1024;
  in.nic_pci = {"0000:03:00.0"};
  return in;
}

HostCheckInput untunedInput() {
  HostCheckInput in;
  in.root = fixture("untuned");
  in.pmd_cores = {2};
  in.housekeeping_cores = {0, 1};
  in.pmd_priority = 50;
  in.hugepages_mb = 1024;
  in.nic_pci = {"0000:03:00.0"};
  return in;
}

TEST(HostCheck, TunedHostPassesEverything) {
  const HostCheckReport r = runHostCheck(tunedInput());
  Expected all;
  for (const auto& item : r.items) all[item.id] = P;
  EXPECT_EQ(all.size(), 24u);
  expectVerdicts(r, all);
  EXPECT_FALSE(r.anyFail());
  // The switch's own PMD threads and the checker itself (proc/self) are not "other threads".
  EXPECT_NE(found(r, "pmd-core-threads").find("0 user threads"), std::string::npos);
  EXPECT_NE(found(r, "hugepages").find("node 0: 5120 MiB reserved"), std::string::npos);
  EXPECT_NE(found(r, "kthread-priority").find("ktimers/2 SCHED_FIFO:52"), std::string::npos);
}

TEST(HostCheck, UntunedHostWithFifoPmd) {
  const HostCheckReport r = runHostCheck(untunedInput());
  expectVerdicts(
      r,
      {{"pmd-cores", P},        {"isolcpus", F},      {"nohz_full", W},    {"rcu_nocbs", W},
       {"pmd-core-threads", F}, {"smt-sibling", W},   {"housekeeping", P}, {"irq-affinity", F},
       {"irqbalance", W},       {"rt-throttling", F}, {"fair-server", P},  {"timer_migration", W},
       {"kthread-priority", F}, {"vcpu-priority", F}, {"ksm", W},          {"swap", W},
       {"watchdog", W},         {"nmi-watchdog", W},  {"thp", W},          {"cpu-governor", W},
       {"c-states", W},         {"clocksource", W},   {"hugepages", F},    {"preempt-model", W}});
  EXPECT_TRUE(r.anyFail());
  // Per-cpu kthreads are not counted as other threads; the sibling's are.
  const std::string threads = found(r, "pmd-core-threads");
  EXPECT_NE(threads.find("5 user threads"), std::string::npos) << threads;
  EXPECT_NE(threads.find("1 unbound kernel threads"), std::string::npos) << threads;
  EXPECT_NE(threads.find("running there now: sshd[400], CPU 0/KVM[2001]"), std::string::npos);
  EXPECT_EQ(threads.find("kworker/2:1"), std::string::npos);
  EXPECT_NE(found(r, "irq-affinity").find("3 of 3 device IRQs"), std::string::npos);
  EXPECT_NE(found(r, "irq-affinity").find("35 eth0-rx-0 -> 2"), std::string::npos);
  EXPECT_NE(found(r, "hugepages").find("no PMD core on the NIC's node 1"), std::string::npos);
  EXPECT_NE(found(r, "c-states").find("C6 (133 us)"), std::string::npos);
  EXPECT_NE(r.find("rt-throttling")->remedy.find("sched_rt_runtime_us=-1"), std::string::npos);
  EXPECT_NE(r.find("kthread-priority")->remedy.find("chrt -f -p 51"), std::string::npos);
}

TEST(HostCheck, UntunedHostWithNormalPmdOnlyInformsAboutThrottling) {
  HostCheckInput in = untunedInput();
  in.pmd_priority = 0;
  const HostCheckReport r = runHostCheck(in);
  EXPECT_EQ(r.find("rt-throttling")->verdict, Verdict::kInfo);
  EXPECT_EQ(r.find("kthread-priority")->verdict, Verdict::kInfo);
  // A FIFO vCPU allowed on the PMD core still starves a SCHED_OTHER PMD.
  EXPECT_EQ(r.find("vcpu-priority")->verdict, Verdict::kFail);
}

TEST(HostCheck, UnusualButValidHost) {
  HostCheckInput in;
  in.root = fixture("edge");
  in.pmd_cores = {2, 4};
  in.housekeeping_cores = {0, 1};
  in.hugepages_mb = 512;
  const HostCheckReport r = runHostCheck(in);
  expectVerdicts(
      r,
      {{"pmd-cores", P},        {"isolcpus", P},      {"nohz_full", W},    {"rcu_nocbs", W},
       {"pmd-core-threads", F}, {"smt-sibling", W},   {"housekeeping", P}, {"irq-affinity", P},
       {"irqbalance", P},       {"rt-throttling", P}, {"fair-server", P},  {"timer_migration", P},
       {"kthread-priority", I}, {"vcpu-priority", W}, {"ksm", P},          {"swap", P},
       {"watchdog", P},         {"nmi-watchdog", I},  {"thp", I},          {"cpu-governor", P},
       {"c-states", P},         {"clocksource", W},   {"hugepages", F},    {"preempt-model", W}});
  // isolcpus from the command line (flags skipped, nothing after "--"), plus a cgroup partition.
  EXPECT_NE(found(r, "isolcpus").find("2-3 (isolcpus=)"), std::string::npos);
  EXPECT_NE(found(r, "isolcpus").find("/sys/fs/cgroup/rt: 4"), std::string::npos);
  // The SMT sibling 0 of core 2 is checked for threads too; a comm with ") (" parses.
  EXPECT_NE(found(r, "pmd-core-threads").find("cores 0,2,4"), std::string::npos);
  EXPECT_NE(found(r, "pmd-core-threads").find("weird) (name[40]"), std::string::npos);
  EXPECT_EQ(found(r, "pmd-core-threads").find("truncated"), std::string::npos);
  EXPECT_NE(found(r, "irqbalance").find("banned cpus 2,4"), std::string::npos);
  EXPECT_NE(found(r, "irq-affinity").find("0 of 1 device IRQs"), std::string::npos);
  EXPECT_NE(found(r, "hugepages").find("no NUMA nodes; 512 MiB reserved, 200 MiB free"),
            std::string::npos);
  EXPECT_NE(found(r, "preempt-model").find("mode full"), std::string::npos);
}

TEST(HostCheck, BrokenHostNeverThrowsAndSaysWhatItCannotRead) {
  HostCheckInput in;
  in.root = fixture("broken");
  in.pmd_cores = {2};
  in.housekeeping_cores = {0, 1};
  in.pmd_priority = 50;
  HostCheckReport r;
  ASSERT_NO_THROW(r = runHostCheck(in));
  expectVerdicts(
      r,
      {{"pmd-cores", W},        {"isolcpus", W},      {"nohz_full", W},    {"rcu_nocbs", W},
       {"pmd-core-threads", W}, {"smt-sibling", I},   {"housekeeping", W}, {"irq-affinity", W},
       {"irqbalance", W},       {"rt-throttling", W}, {"fair-server", W},  {"timer_migration", W},
       {"kthread-priority", W}, {"vcpu-priority", W}, {"ksm", I},          {"swap", W},
       {"watchdog", I},         {"nmi-watchdog", I},  {"thp", I},          {"cpu-governor", I},
       {"c-states", I},         {"clocksource", W},   {"hugepages", W},    {"preempt-model", W}});
  EXPECT_FALSE(r.anyFail());
  EXPECT_NE(found(r, "swap").find("cannot read /proc/swaps"), std::string::npos);
  EXPECT_NE(found(r, "irq-affinity").find("cannot read smp_affinity_list of IRQ 5"),
            std::string::npos);
}

TEST(HostCheck, MissingRootIsAllUnreadable) {
  HostCheckInput in;
  in.root = fixture("does-not-exist");
  HostCheckReport r;
  ASSERT_NO_THROW(r = runHostCheck(in));
  EXPECT_EQ(r.items.size(), 24u);
  for (const auto& item : r.items) {
    EXPECT_TRUE(item.verdict == Verdict::kWarn || item.verdict == Verdict::kInfo) << item.id;
  }
}

TEST(HostCheck, RejectsUnusableInput) {
  HostCheckInput in;
  in.root = fixture("tuned");
  in.pmd_cores.clear();
  EXPECT_THROW(runHostCheck(in), ConfigError);
  in.pmd_cores = {2};
  in.pmd_priority = 100;
  try {
    runHostCheck(in);
    FAIL() << "no error for pmd-priority 100";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("pmd-priority"), std::string::npos);
  }
}

TEST(HostCheck, PmdCoreOfflineOrHousekeepingFails) {
  HostCheckInput in = tunedInput();
  in.pmd_cores = {2, 7};
  EXPECT_EQ(runHostCheck(in).find("pmd-cores")->verdict, Verdict::kFail);
  in.pmd_cores = {1, 2};
  const HostCheckReport r = runHostCheck(in);
  EXPECT_EQ(r.find("pmd-cores")->verdict, Verdict::kFail);
  EXPECT_NE(found(r, "pmd-cores").find("both PMD and housekeeping"), std::string::npos);
}

TEST(HostCheck, FifoVcpuAbovePmdOnOtherCoresWarns) {
  HostCheckInput in = tunedInput();
  in.pmd_priority = 1;  // equal to the vCPUs' FIFO 1: not above them
  EXPECT_EQ(runHostCheck(in).find("vcpu-priority")->verdict, Verdict::kWarn);
}

TEST(HostCheck, NotEnoughFreeHugepagesFails) {
  HostCheckInput in = tunedInput();
  in.hugepages_mb = 6000;
  EXPECT_EQ(runHostCheck(in).find("hugepages")->verdict, Verdict::kFail);
}

TEST(HostCheck, TableAndJson) {
  const HostCheckReport r = runHostCheck(untunedInput());
  const std::string table = formatHostCheckTable(r);
  for (const auto& item : r.items) {
    EXPECT_NE(table.find(item.id), std::string::npos) << item.id;
  }
  EXPECT_NE(table.find("FAIL     isolcpus"), std::string::npos) << table;
  EXPECT_NE(table.find("fix:   add isolcpus=managed_irq,domain,2"), std::string::npos);
  EXPECT_NE(table.find("NOT ready"), std::string::npos);

  const nlohmann::json j = toJson(r);
  ASSERT_EQ(j["items"].size(), r.items.size());
  EXPECT_EQ(j["items"][1]["id"], "isolcpus");
  EXPECT_EQ(j["items"][1]["verdict"], "FAIL");
  for (const char* key : {"title", "found", "why", "remedy"}) {
    EXPECT_TRUE(j["items"][1][key].is_string()) << key;
  }
  EXPECT_EQ(j["ok"], false);
  int total = 0;
  for (const auto& [name, n] : j["summary"].items()) total += n.get<int>();
  EXPECT_EQ(total, static_cast<int>(r.items.size()));

  const std::string tunedTable = formatHostCheckTable(runHostCheck(tunedInput()));
  EXPECT_NE(tunedTable.find("24 PASS, 0 INFO, 0 WARN, 0 FAIL: ready"), std::string::npos);
  EXPECT_EQ(tunedTable.find("fix:"), std::string::npos);
}

HostCheckInput fairServerInput() {
  HostCheckInput in = tunedInput();
  in.root = fixture("fairserver");
  return in;
}

TEST(HostCheck, FairServerRuntimeOnAFifoPmdCoreFails) {
  HostCheckInput in = fairServerInput();
  in.pmd_cores = {2};
  const HostCheckReport off = runHostCheck(in);
  EXPECT_EQ(off.find("fair-server")->verdict, Verdict::kPass) << found(off, "fair-server");
  EXPECT_NE(found(off, "fair-server").find("Linux 6.12: cpu2 runtime=0 ns"), std::string::npos);
  in.pmd_cores = {2, 3};
  const HostCheckReport on = runHostCheck(in);
  EXPECT_EQ(on.find("fair-server")->verdict, Verdict::kFail);
  EXPECT_NE(found(on, "fair-server").find("cpu3 runtime=50000000 ns"), std::string::npos);
  EXPECT_NE(on.find("fair-server")
                ->remedy.find("echo 0 > /sys/kernel/debug/sched/fair_server/cpu3/runtime"),
            std::string::npos);
  // A core without the file (debugfs not mounted, or no such cpu) is assumed on.
  in.pmd_cores = {2, 4};
  const HostCheckReport unknown = runHostCheck(in);
  EXPECT_EQ(unknown.find("fair-server")->verdict, Verdict::kFail);
  EXPECT_NE(found(unknown, "fair-server").find("cannot read"), std::string::npos);
  // A SCHED_OTHER PMD is served by the fair server, not preempted by it.
  in.pmd_priority = 0;
  EXPECT_EQ(runHostCheck(in).find("fair-server")->verdict, Verdict::kInfo);
}

TEST(HostCheck, RtPreconditionFailuresOneLineEach) {
  EXPECT_TRUE(rtPreconditionFailures(tunedInput()).empty());
  const std::vector<std::string> untuned = rtPreconditionFailures(untunedInput());
  ASSERT_EQ(untuned.size(), 2u);
  EXPECT_EQ(untuned[0].rfind("rt-throttling: sched_rt_runtime_us=950000", 0), 0u) << untuned[0];
  EXPECT_NE(untuned[0].find("(fix: sysctl -w kernel.sched_rt_runtime_us=-1"), std::string::npos);
  EXPECT_EQ(untuned[1].rfind("isolcpus: ", 0), 0u) << untuned[1];
  HostCheckInput in = fairServerInput();
  in.pmd_cores = {2, 3};
  const std::vector<std::string> fair = rtPreconditionFailures(in);
  ASSERT_EQ(fair.size(), 1u);
  EXPECT_EQ(fair[0].rfind("fair-server: Linux 6.12: ", 0), 0u) << fair[0];
  for (const auto& lines : {untuned, fair}) {
    for (const auto& l : lines) EXPECT_EQ(l.find('\n'), std::string::npos) << l;
  }
  // SCHED_OTHER PMDs have no real-time preconditions.
  HostCheckInput normal = untunedInput();
  normal.pmd_priority = 0;
  EXPECT_TRUE(rtPreconditionFailures(normal).empty());
}

// This machine is not tuned: the verdicts certain here must say so, and nothing may crash.
TEST(HostCheck, RealHostCompletesWithUntunedVerdicts) {
  HostCheckInput in;
  in.root = "/";
  in.pmd_cores = {1};
  in.housekeeping_cores = {0};
  in.pmd_priority = 50;
  HostCheckReport r;
  ASSERT_NO_THROW(r = runHostCheck(in));
  EXPECT_EQ(r.items.size(), 24u);
  std::ifstream cmdline("/proc/cmdline");
  std::string line;
  std::getline(cmdline, line);
  if (line.find("isolcpus=") == std::string::npos) {
    EXPECT_EQ(r.find("isolcpus")->verdict, Verdict::kFail) << found(r, "isolcpus");
  }
  std::ifstream runtime("/proc/sys/kernel/sched_rt_runtime_us");
  long value = 0;
  if (runtime >> value && value != -1) {
    // RT throttling with a FIFO PMD that never sleeps is a FAIL, not a WARN.
    EXPECT_EQ(r.find("rt-throttling")->verdict, Verdict::kFail);
  }
  EXPECT_TRUE(r.anyFail());
  EXPECT_FALSE(formatHostCheckTable(r).empty());
  EXPECT_NO_THROW(toJson(r).dump());
}

}  // namespace
}  // namespace rtvs
