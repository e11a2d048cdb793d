// Power and clock: the frequency governor, deep C-states and a stable TSC clocksource.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "hostcheck/checker.h"

namespace rtvs::hostcheck {

void Checker::checkGovernor() {
  const std::string title = "CPU frequency governor 'performance' on PMD cores";
  const std::string why =
      "other governors change the core's frequency under load: each change stalls the core "
      "and a lower clock lengthens every burst";
  std::vector<std::string> found;
  CpuSet slow;
  bool anyDriver = false;
  for (unsigned c : pmd_) {
    const auto g =
        host_.read("sys/devices/system/cpu/cpu" + std::to_string(c) + "/cpufreq/scaling_governor");
    if (!g) continue;
    anyDriver = true;
    found.push_back("cpu" + std::to_string(c) + " " + trim(*g));
    if (trim(*g) != "performance") slow.insert(c);
  }
  if (!anyDriver) {
    add("cpu-governor", title, Verdict::kInfo,
        "no cpufreq on PMD cores (cannot read cpu*/cpufreq/scaling_governor): frequency is set "
        "by firmware or the hypervisor",
        why, "");
    return;
  }
  add("cpu-governor", title, slow.empty() ? Verdict::kPass : Verdict::kWarn, join(found, ", "), why,
      "echo performance > /sys/devices/system/cpu/cpu<n>/cpufreq/scaling_governor for cores " +
          cpuListText(slow) + " (scripts/rt-host-tune.sh does it)");
}

void Checker::checkCStates() {
  const std::string title = "deep C-states limited on PMD cores";
  const std::string why = "waking from a deep idle state takes tens to hundreds of us";
  const std::string remedy =
      "add processor.max_cstate=1 intel_idle.max_cstate=0 (or idle=poll) to the kernel command "
      "line, or echo 1 > /sys/devices/system/cpu/cpu<n>/cpuidle/state<k>/disable";
  if (cmdlineValue("idle") == std::optional<std::string>("poll")) {
    add("c-states", title, Verdict::kPass, "idle=poll on the kernel command line", why, "");
    return;
  }
  std::vector<std::string> deep;
  bool any = false;
  for (unsigned c : pmd_) {
    const std::string dir = "sys/devices/system/cpu/cpu" + std::to_string(c) + "/cpuidle";
    for (const auto& state : host_.list(dir)) {
      if (state.rfind("state", 0) != 0) continue;
      const auto latency = toLong(host_.read(dir + "/" + state + "/latency").value_or(""));
      if (!latency) continue;
      any = true;
      const auto disabled = toLong(host_.read(dir + "/" + state + "/disable").value_or("0"));
      if (*latency > static_cast<long>(kMaxIdleExitLatencyUs) && disabled.value_or(0) == 0) {
        deep.push_back("cpu" + std::to_string(c) + " " +
                       trim(host_.read(dir + "/" + state + "/name").value_or(state)) + " (" +
                       std::to_string(*latency) + " us)");
      }
    }
  }
  if (!any) {
    add("c-states", title, Verdict::kInfo,
        "no cpuidle states on PMD cores (cannot read cpu*/cpuidle/state*/latency)", why, "");
    return;
  }
  add("c-states", title, deep.empty() ? Verdict::kPass : Verdict::kWarn,
      deep.empty() ? "no enabled idle state with exit latency above " +
                         std::to_string(kMaxIdleExitLatencyUs) + " us"
                   : "enabled deep states: " + shortList(deep),
      why, remedy);
}

void Checker::checkClocksource() {
  const std::string title = "clocksource tsc and stable";
  const std::string why =
      "reading hpet or acpi_pm costs ~1 us per clock_gettime; an unstable TSC gets the kernel to "
      "switch clocksource at run time";
  const std::string base = "sys/devices/system/clocksource/clocksource0/";
  const auto cur = host_.read(base + "current_clocksource");
  if (!cur) {
    add("clocksource", title, Verdict::kWarn, "cannot read /" + base + "current_clocksource", why,
        "");
    return;
  }
  const std::string current = trim(*cur);
  std::string found = "current " + current;
  if (current != "tsc") {
    const auto avail = host_.read(base + "available_clocksource");
    found += "; available: " + (avail ? trim(*avail) : "cannot read");
    add("clocksource", title, Verdict::kWarn, found, why,
        "echo tsc > /" + base +
            "current_clocksource (if listed as available), and tsc=reliable "
            "on the kernel command line");
    return;
  }
  std::set<std::string> flags;
  if (auto info = host_.read("proc/cpuinfo")) {
    std::istringstream lines(*info);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      std::istringstream f(line.substr(line.find(':') + 1));
      flags.insert(std::istream_iterator<std::string>(f), {});
      break;
    }
  }
  const bool reliable = cmdlineValue("tsc") == std::optional<std::string>("reliable");
  const bool invariant = flags.count("constant_tsc") && flags.count("nonstop_tsc");
  found += invariant ? "; constant_tsc nonstop_tsc" : "; no invariant TSC flags in /proc/cpuinfo";
  if (reliable) found += "; tsc=reliable";
  add("clocksource", title, invariant || reliable ? Verdict::kPass : Verdict::kWarn, found, why,
      "use a CPU with an invariant TSC (constant_tsc, nonstop_tsc), or tsc=reliable if known "
      "good");
}

}  // namespace rtvs::hostcheck
