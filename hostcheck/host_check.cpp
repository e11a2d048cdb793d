#include "hostcheck/host_check.h"

#include <algorithm>

#include "hostcheck/checker.h"
#include "switch/core/config.h"

namespace rtvs {
namespace hostcheck {

HostCheckReport Checker::run() {
  checkPmdCores();
  checkIsolcpus();
  checkNohzFull();
  checkRcuNocbs();
  checkPmdThreads();
  checkSmtSibling();
  checkHousekeeping();
  checkIrqAffinity();
  checkIrqbalance();
  checkRtThrottling();
  checkFairServer();
  checkTimerMigration();
  checkKthreadPriority();
  checkVcpuPriority();
  checkKsm();
  checkSwap();
  checkWatchdog("watchdog", "kernel.watchdog", "the soft/hard lockup detector",
                "its per-cpu hrtimer fires every few seconds on every core, PMD cores included");
  checkWatchdog("nmi_watchdog", "kernel.nmi_watchdog", "the NMI (perf) lockup detector",
                "its NMIs interrupt the PMD core periodically and cannot be masked");
  checkThp();
  checkGovernor();
  checkCStates();
  checkClocksource();
  checkHugepages();
  checkPreemptModel();
  return std::move(report_);
}

void Checker::add(std::string id, std::string title, Verdict v, std::string found, std::string why,
                  std::string remedy) {
  if (v == Verdict::kPass) remedy.clear();
  report_.items.push_back(
      {std::move(id), std::move(title), v, std::move(found), std::move(why), std::move(remedy)});
}

}  // namespace hostcheck

const char* verdictName(Verdict v) noexcept {
  switch (v) {
    case Verdict::kPass:
      return "PASS";
    case Verdict::kInfo:
      return "INFO";
    case Verdict::kWarn:
      return "WARN";
    case Verdict::kFail:
      return "FAIL";
  }
  return "?";
}

bool HostCheckReport::anyFail() const noexcept {
  return std::any_of(items.begin(), items.end(),
                     [](const HostCheckItem& i) { return i.verdict == Verdict::kFail; });
}

const HostCheckItem* HostCheckReport::find(const std::string& id) const noexcept {
  for (const auto& i : items) {
    if (i.id == id) return &i;
  }
  return nullptr;
}

HostCheckReport runHostCheck(const HostCheckInput& input) {
  if (input.pmd_cores.empty()) throw ConfigError("pmd-cores: at least one PMD core is needed");
  if (input.pmd_priority < 0 || input.pmd_priority > 99) {
    throw ConfigError("pmd-priority: must be 0 (SCHED_OTHER) or 1-99 (SCHED_FIFO), got " +
                      std::to_string(input.pmd_priority));
  }
  return hostcheck::Checker(input).run();
}

std::vector<std::string> rtPreconditionFailures(const HostCheckInput& input) {
  std::vector<std::string> lines;
  if (input.pmd_priority == 0) return lines;
  const HostCheckReport report = runHostCheck(input);
  for (const char* id : {"rt-throttling", "fair-server", "isolcpus"}) {
    const HostCheckItem* item = report.find(id);
    if (item != nullptr && item->verdict == Verdict::kFail) {
      lines.push_back(item->id + ": " + item->found + " (fix: " + item->remedy + ")");
    }
  }
  return lines;
}

}  // namespace rtvs
