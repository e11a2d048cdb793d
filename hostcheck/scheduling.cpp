// Scheduling: RT throttling and the fair server, per-CPU kthreads above a FIFO PMD, and RT vCPU
// threads below it.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "hostcheck/checker.h"

namespace rtvs::hostcheck {

void Checker::checkRtThrottling() {
  const std::string title = "RT throttling off for SCHED_FIFO PMDs (kernel.sched_rt_runtime_us=-1)";
  const std::string why =
      "with RT throttling on, a 100%-busy FIFO thread is parked for (period - runtime), 50 ms of "
      "every second by default: a 50 ms stall of the switch";
  const std::string remedy =
      "sysctl -w kernel.sched_rt_runtime_us=-1 (persist in /etc/sysctl.d/) once the PMD cores "
      "are isolated and their kthreads run above the PMD priority";
  const auto text = host_.read("proc/sys/kernel/sched_rt_runtime_us");
  const auto runtime = toLong(text.value_or(""));
  if (!runtime) {
    add("rt-throttling", title, in_.pmd_priority > 0 ? Verdict::kWarn : Verdict::kInfo,
        "cannot read /proc/sys/kernel/sched_rt_runtime_us", why, remedy);
    return;
  }
  const auto period = toLong(host_.read("proc/sys/kernel/sched_rt_period_us").value_or(""));
  std::string found = "sched_rt_runtime_us=" + std::to_string(*runtime) +
                      (period ? ", sched_rt_period_us=" + std::to_string(*period) : "") + ", PMD " +
                      (in_.pmd_priority > 0 ? "SCHED_FIFO:" + std::to_string(in_.pmd_priority)
                                            : std::string("SCHED_OTHER"));
  Verdict v = Verdict::kPass;
  if (*runtime != -1) {
    if (in_.pmd_priority > 0) {
      v = Verdict::kFail;  // a FIFO PMD never sleeps: it will be throttled every period
    } else {
      v = Verdict::kInfo;
      found += " (throttling does not stop SCHED_OTHER PMDs; set -1 only with FIFO PMDs)";
    }
  }
  add("rt-throttling", title, v, found, why, v == Verdict::kInfo ? "" : remedy);
}

// Linux >= 6.12 serves SCHED_OTHER tasks through a deadline "fair server" per cpu that
// preempts even FIFO threads for its runtime (50 ms of every second by default) whenever a
// normal task is runnable there: RT throttling by another name.
void Checker::checkFairServer() {
  const std::string title = "no fair-server runtime on PMD cores (Linux >= 6.12)";
  const std::string why =
      "the per-cpu fair server (a SCHED_DEADLINE reservation for normal tasks) preempts a FIFO "
      "PMD for up to its runtime (50 ms per second by default) while any normal task is "
      "runnable on that core";
  std::string remedy;
  for (unsigned c : pmd_) {
    remedy += (remedy.empty() ? "" : "; ") + std::string("echo 0 > ") + fairServerFile(c);
  }
  remedy += " (debugfs mounted; only on isolated cores whose kthreads run above the PMD)";
  const auto version = host_.read("proc/version");
  int major = 0, minor = 0;
  if (!version || std::sscanf(version->c_str(), "Linux version %d.%d", &major, &minor) != 2) {
    add("fair-server", title, in_.pmd_priority > 0 ? Verdict::kWarn : Verdict::kInfo,
        "cannot read the kernel version from /proc/version", why, remedy);
    return;
  }
  const std::string kernel = "Linux " + std::to_string(major) + "." + std::to_string(minor);
  if (major < 6 || (major == 6 && minor < 12)) {
    add("fair-server", title, Verdict::kPass, kernel + ": no fair server", why, "");
    return;
  }
  std::vector<std::string> found, running, unreadable;
  for (unsigned c : pmd_) {
    const auto runtime = toLong(trim(host_.read(fairServerFile(c).substr(1)).value_or("")));
    if (!runtime) {
      unreadable.push_back(std::to_string(c));
      continue;
    }
    found.push_back("cpu" + std::to_string(c) + " runtime=" + std::to_string(*runtime) + " ns");
    if (*runtime > 0) running.push_back("cpu" + std::to_string(c));
  }
  std::string text = kernel;
  if (!found.empty()) text += ": " + join(found, ", ");
  if (!unreadable.empty()) {
    text += "; cannot read /sys/kernel/debug/sched/fair_server/cpuN/runtime of cpu " +
            join(unreadable, ",") + " (debugfs not mounted? on by default)";
  }
  Verdict v = Verdict::kPass;
  if (!running.empty() || !unreadable.empty()) {
    if (in_.pmd_priority > 0) {
      v = Verdict::kFail;  // on by default: what cannot be read is assumed on
    } else {
      v = Verdict::kInfo;
      text += " (a SCHED_OTHER PMD is served by it, not preempted)";
    }
  }
  add("fair-server", title, v, text, why, v == Verdict::kInfo ? "" : remedy);
}

std::string Checker::fairServerFile(unsigned cpu) {
  return "/sys/kernel/debug/sched/fair_server/cpu" + std::to_string(cpu) + "/runtime";
}

void Checker::checkKthreadPriority() {
  const std::string title =
      "per-cpu kthreads (ksoftirqd, rcuc, ktimers) on PMD cores above the PMD";
  const std::string why =
      "a FIFO PMD never yields: per-cpu kernel threads below it never run, so softirqs, RCU "
      "and timers on that core stall (RCU stall warnings, stuck network, hung tasks)";
  if (!procReadable_) {
    add("kthread-priority", title, Verdict::kWarn, "cannot read /proc", why, "");
    return;
  }
  std::vector<std::string> found, below;
  bool missing = false;
  for (unsigned c : pmd_) {
    const std::string suffix = "/" + std::to_string(c);
    bool any = false;
    for (const auto& t : threads_) {
      if (!t.isKernel()) continue;
      const bool perCpuKind = t.comm.rfind("ksoftirqd", 0) == 0 || t.comm.rfind("rcuc", 0) == 0 ||
                              t.comm.rfind("ktimers", 0) == 0;
      if (!perCpuKind || t.comm.size() < suffix.size() ||
          t.comm.compare(t.comm.size() - suffix.size(), suffix.size(), suffix) != 0) {
        continue;
      }
      any = true;
      found.push_back(t.comm + " " + policyName(t.policy, t.rt_priority));
      if (in_.pmd_priority > 0 && (!t.isRealtime() || t.rt_priority <= in_.pmd_priority)) {
        below.push_back(t.comm + "[" + std::to_string(t.tid) + "]");
      }
    }
    if (!any) {
      missing = true;
      found.push_back("core " + std::to_string(c) + ": none found");
    }
  }
  std::string text = join(found, ", ") + "; PMD " +
                     (in_.pmd_priority > 0 ? "SCHED_FIFO:" + std::to_string(in_.pmd_priority)
                                           : std::string("SCHED_OTHER"));
  Verdict v = Verdict::kPass;
  if (in_.pmd_priority == 0) {
    v = Verdict::kInfo;
    text += " (a SCHED_OTHER PMD shares its core fairly with them)";
  } else if (!below.empty()) {
    v = Verdict::kFail;
    text += "; at or below the PMD: " + shortList(below);
  } else if (missing) {
    v = Verdict::kWarn;  // unreadable, or a kernel that names them differently: cannot tell
  }
  add("kthread-priority", title, v, text, why,
      v != Verdict::kInfo ? "chrt -f -p " + std::to_string(std::min(in_.pmd_priority + 1, 99)) +
                                " <pid> for each of them (scripts/rt-host-tune.sh "
                                "--pmd-priority " +
                                std::to_string(in_.pmd_priority) + " does it)"
                          : "");
}

void Checker::checkVcpuPriority() {
  const std::string title = "RT guest vCPU threads below the PMD and off PMD cores";
  const std::string why =
      "a FIFO vCPU at or above the PMD priority on the PMD's core starves the switch; the "
      "switch must preempt the guests whose packets it carries";
  if (!procReadable_) {
    add("vcpu-priority", title, Verdict::kWarn, "cannot read /proc", why, "");
    return;
  }
  std::vector<std::string> all, shared, above;
  size_t rt = 0;
  for (const auto& t : threads_) {
    // QEMU names its vCPU threads "CPU <n>/KVM" (or "CPU <n>/TCG").
    if (t.comm.rfind("CPU ", 0) != 0 || t.comm.find('/') == std::string::npos) continue;
    const std::string label = t.process_comm + "[" + std::to_string(t.pid) + "] " + t.comm + " " +
                              policyName(t.policy, t.rt_priority) + " cpus " +
                              cpuListText(t.allowed);
    all.push_back(label);
    if (intersects(t.allowed, pmd_)) shared.push_back(label);
    if (!t.isRealtime()) continue;
    ++rt;
    if (in_.pmd_priority == 0 || t.rt_priority >= in_.pmd_priority) above.push_back(label);
  }
  if (all.empty()) {
    add("vcpu-priority", title, Verdict::kInfo, "no QEMU vCPU threads running", why, "");
    return;
  }
  std::string found = std::to_string(all.size()) + " vCPU threads (" + std::to_string(rt) +
                      " real-time): " + shortList(all);
  if (!shared.empty()) found += "; allowed on PMD cores: " + shortList(shared);
  if (!above.empty()) found += "; not below the PMD priority: " + shortList(above);
  const Verdict v = !shared.empty()  ? Verdict::kFail
                    : !above.empty() ? Verdict::kWarn
                                     : Verdict::kPass;
  add("vcpu-priority", title, v, found, why,
      "pin vCPUs to their own isolated cores (libvirt <vcpupin>, KubeVirt "
      "dedicatedCpuPlacement), "
      "run them SCHED_FIFO below the PMD (<vcpusched scheduler='fifo' priority='1'/>) and the "
      "PMD SCHED_FIFO above them (pmd-priority)");
}

}  // namespace rtvs::hostcheck
