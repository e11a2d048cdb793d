// CPU isolation: the PMD cores exist, are isolated (isolcpus or an isolated cpuset partition),
// tickless and RCU-offloaded, carry no other thread, their SMT siblings are idle, and housekeeping
// has room for the rest.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "hostcheck/checker.h"

namespace rtvs::hostcheck {

void Checker::loadIsolated() {
  if (auto t = host_.read("sys/devices/system/cpu/isolated")) {
    isolatedSource_ = "/sys/devices/system/cpu/isolated";
    isolated_ = parseCpus(*t);
  } else if (auto c = cmdlineCpus("isolcpus")) {
    isolatedSource_ = "isolcpus=";
    isolated_ = c;
  } else if (cmdlineRead_) {
    isolatedSource_ = "/proc/cmdline";
    isolated_ = CpuSet{};
  }
  // cgroup v2 isolated partitions, one level below the root (e.g. /sys/fs/cgroup/rt).
  for (const auto& name : host_.list("sys/fs/cgroup")) {
    const std::string dir = "sys/fs/cgroup/" + name;
    const auto partition = host_.read(dir + "/cpuset.cpus.partition");
    if (!partition || trim(*partition) != "isolated") continue;
    if (auto t = host_.read(dir + "/cpuset.cpus.effective")) {
      if (auto cpus = parseCpus(*t)) {
        cpusetIsolated_.insert(cpus->begin(), cpus->end());
        cpusetNames_.push_back("/" + dir);
      }
    }
  }
}

void Checker::loadNohzFull() {
  if (auto t = host_.read("sys/devices/system/cpu/nohz_full")) {
    nohzFull_ = parseCpus(*t);
    nohzSource_ = "/sys/devices/system/cpu/nohz_full";
  } else if (auto c = cmdlineCpus("nohz_full")) {
    nohzFull_ = c;
    nohzSource_ = "nohz_full=";
  } else if (cmdlineRead_) {
    nohzFull_ = CpuSet{};
    nohzSource_ = "/proc/cmdline";
  }
}

std::optional<CpuSet> Checker::siblingsOf(unsigned cpu) const {
  const auto t = host_.read("sys/devices/system/cpu/cpu" + std::to_string(cpu) +
                            "/topology/thread_siblings_list");
  if (!t) return std::nullopt;
  auto s = parseCpus(*t);
  if (s) s->erase(cpu);
  return s;
}

bool Checker::isIsolated(unsigned cpu) const {
  return (isolated_ && isolated_->count(cpu)) || cpusetIsolated_.count(cpu);
}

void Checker::checkPmdCores() {
  std::vector<std::string> problems;
  if (online_) {
    const CpuSet off = minus(pmd_, *online_);
    if (!off.empty()) problems.push_back("PMD cores " + cpuListText(off) + " not online");
  }
  CpuSet both;
  for (unsigned c : pmd_) {
    if (hk_.count(c)) both.insert(c);
  }
  if (!both.empty())
    problems.push_back("cores " + cpuListText(both) + " are both PMD and housekeeping");
  std::string found =
      "pmd " + pmdText_ + "; housekeeping " + cpuListText(hk_) + "; online " +
      (online_ ? cpuListText(*online_) : "cannot read /sys/devices/system/cpu/online");
  if (!problems.empty()) found += "; " + join(problems, "; ");
  const Verdict v = !problems.empty() ? Verdict::kFail : online_ ? Verdict::kPass : Verdict::kWarn;
  add("pmd-cores", "PMD cores exist and are apart from housekeeping", v, found,
      "a PMD polls its core at 100%: the core must exist and carry nothing else",
      "choose online cores for pmd-cores and different ones for housekeeping-cores");
}

void Checker::checkIsolcpus() {
  const std::string title = "PMD cores isolated from the scheduler (isolcpus or isolated cpuset)";
  const std::string why =
      "without isolation the load balancer puts other tasks on the PMD core and each one costs "
      "the PMD a context switch (tens of us) or, under a FIFO PMD, is starved";
  const std::string remedy = "add isolcpus=managed_irq,domain," + pmdText_ +
                             " to the kernel command line (scripts/rt-host-tune.sh prints it), or "
                             "make the PMD cores a cgroup v2 isolated partition (cpuset.cpus=" +
                             pmdText_ + ", cpuset.cpus.partition=isolated)";
  if (!isolated_ && cpusetIsolated_.empty()) {
    add("isolcpus", title, Verdict::kWarn,
        "cannot read /sys/devices/system/cpu/isolated or /proc/cmdline", why, remedy);
    return;
  }
  CpuSet missing;
  for (unsigned c : pmd_) {
    if (!isIsolated(c)) missing.insert(c);
  }
  std::string found =
      "isolated: " + cpuListText(isolated_.value_or(CpuSet{})) + " (" + isolatedSource_ + ")";
  if (!cpusetNames_.empty()) {
    found += "; isolated cpusets " + join(cpusetNames_, ", ") + ": " + cpuListText(cpusetIsolated_);
  }
  if (!missing.empty()) found += "; PMD cores not isolated: " + cpuListText(missing);
  add("isolcpus", title, missing.empty() ? Verdict::kPass : Verdict::kFail, found, why, remedy);
}

void Checker::checkNohzFull() {
  const std::string title = "PMD cores in nohz_full (no scheduler tick)";
  const std::string why =
      "without nohz_full the scheduler tick interrupts the PMD core 100-1000 times a second, "
      "a few us each";
  const std::string remedy = "add nohz_full=" + pmdText_ + " to the kernel command line";
  if (!nohzFull_) {
    add("nohz_full", title, Verdict::kWarn,
        "cannot read /sys/devices/system/cpu/nohz_full or /proc/cmdline", why, remedy);
    return;
  }
  const CpuSet missing = minus(pmd_, *nohzFull_);
  std::string found = "nohz_full: " + cpuListText(*nohzFull_) + " (" + nohzSource_ + ")";
  if (!missing.empty()) found += "; PMD cores without it: " + cpuListText(missing);
  add("nohz_full", title, missing.empty() ? Verdict::kPass : Verdict::kWarn, found, why, remedy);
}

void Checker::checkRcuNocbs() {
  const std::string title = "RCU callbacks offloaded from PMD cores (rcu_nocbs)";
  const std::string why =
      "RCU callbacks otherwise run in softirq on the PMD core after every grace period";
  const std::string remedy = "add rcu_nocbs=" + pmdText_ + " to the kernel command line";
  if (!cmdlineRead_) {
    add("rcu_nocbs", title, Verdict::kWarn, "cannot read /proc/cmdline", why, remedy);
    return;
  }
  CpuSet covered = cmdlineCpus("rcu_nocbs").value_or(CpuSet{});
  // nohz_full= implies rcu_nocbs for the same cores.
  const auto nohz = cmdlineCpus("nohz_full").value_or(CpuSet{});
  covered.insert(nohz.begin(), nohz.end());
  const CpuSet missing = minus(pmd_, covered);
  std::string found = "rcu_nocbs=" + cmdlineValue("rcu_nocbs").value_or("(unset)") +
                      ", nohz_full=" + cmdlineValue("nohz_full").value_or("(unset)");
  if (!missing.empty()) found += "; PMD cores not offloaded: " + cpuListText(missing);
  add("rcu_nocbs", title, missing.empty() ? Verdict::kPass : Verdict::kWarn, found, why, remedy);
}

void Checker::checkPmdThreads() {
  const std::string title = "no other thread may run on the PMD cores or their SMT siblings";
  const std::string why =
      "a PMD shares its core with no one: another thread there takes time slices from a "
      "SCHED_OTHER PMD, or is starved (with the kernel work it carries) by a FIFO PMD";
  if (!procReadable_) {
    add("pmd-core-threads", title, Verdict::kWarn, "cannot read /proc/<pid>/task", why, "");
    return;
  }
  CpuSet cores = pmd_;
  for (unsigned c : pmd_) {
    if (auto s = siblingsOf(c)) cores.insert(s->begin(), s->end());
  }
  std::vector<std::string> user, kernel, running;
  for (const auto& t : threads_) {
    if (!intersects(t.allowed, cores)) continue;
    // Per-cpu kernel threads (ksoftirqd/N, ...) belong to their core: see kthread-priority.
    if (t.isKernel() && t.allowed.size() == 1) continue;
    (t.isKernel() ? kernel : user).push_back(t.label());
    if (t.state == 'R' && cores.count(t.processor)) running.push_back(t.label());
  }
  std::string found =
      "cores " + cpuListText(cores) + ": " + std::to_string(user.size()) + " user threads" +
      (user.empty() ? "" : " (" + shortList(user) + ")") + " and " + std::to_string(kernel.size()) +
      " unbound kernel threads" + (kernel.empty() ? "" : " (" + shortList(kernel) + ")") +
      " may run there; running there now: " + (running.empty() ? "none" : shortList(running));
  const Verdict v = !user.empty()     ? Verdict::kFail
                    : !kernel.empty() ? Verdict::kWarn
                                      : Verdict::kPass;
  add("pmd-core-threads", title, v, found, why,
      "isolate the PMD cores (isolcpus/isolated cpuset), pin VMs and services to other cores "
      "(taskset -a -p -c " +
          cpuListText(hk_) +
          " <pid>, systemd CPUAffinity=), and move "
          "unbound kernel work off them (isolcpus=domain; echo <housekeeping mask> > "
          "/sys/devices/virtual/workqueue/cpumask)");
}

void Checker::checkSmtSibling() {
  const std::string title = "SMT siblings of PMD cores are PMD cores or idle";
  const std::string why =
      "SMT siblings share execution units and caches: work on the sibling slows the PMD by "
      "up to half and makes its latency depend on that work";
  std::vector<std::string> found, bad;
  bool unreadable = false;
  for (unsigned c : pmd_) {
    const auto s = siblingsOf(c);
    if (!s) {
      unreadable = true;
      found.push_back("core " + std::to_string(c) + ": cannot read topology/thread_siblings_list");
      continue;
    }
    for (unsigned sib : *s) {
      std::string role = pmd_.count(sib)   ? "PMD"
                         : hk_.count(sib)  ? "housekeeping"
                         : isIsolated(sib) ? "isolated"
                                           : "not isolated";
      found.push_back("core " + std::to_string(c) + ": sibling " + std::to_string(sib) + " " +
                      role);
      if (role == "housekeeping" || role == "not isolated") bad.push_back(std::to_string(sib));
    }
    if (s->empty()) found.push_back("core " + std::to_string(c) + ": no SMT sibling");
  }
  const Verdict v = !bad.empty() ? Verdict::kWarn : unreadable ? Verdict::kInfo : Verdict::kPass;
  add("smt-sibling", title, v, join(found, "; "), why,
      "leave sibling cores " + join(bad, ",") +
          " idle (add them to isolcpus and pin nothing there), use them as PMD cores, or "
          "disable SMT (nosmt on the kernel command line)");
}

void Checker::checkHousekeeping() {
  const std::string title = "housekeeping cores exist, online and not isolated";
  const std::string why =
      "the kernel, the daemon's control thread, QEMU emulator threads and IRQs all need "
      "non-isolated cores; with none left they land on PMD cores";
  if (!online_) {
    add("housekeeping", title, Verdict::kWarn, "cannot read /sys/devices/system/cpu/online", why,
        "");
    return;
  }
  CpuSet avail = minus(*online_, isolated_.value_or(CpuSet{}));
  avail = minus(avail, cpusetIsolated_);
  avail = minus(avail, nohzFull_.value_or(CpuSet{}));
  const CpuSet offline = minus(hk_, *online_);
  CpuSet isolatedHk;
  for (unsigned c : hk_) {
    if (!offline.count(c) && !avail.count(c)) isolatedHk.insert(c);
  }
  std::string found =
      "kernel housekeeping cores (online minus isolated and nohz_full): " + cpuListText(avail) +
      "; configured: " + cpuListText(hk_);
  Verdict v = Verdict::kPass;
  if (avail.empty() || hk_.empty() || !offline.empty()) {
    v = Verdict::kFail;
    if (!offline.empty()) found += "; not online: " + cpuListText(offline);
  } else if (!isolatedHk.empty()) {
    v = Verdict::kWarn;
    found += "; configured but isolated: " + cpuListText(isolatedHk);
  }
  add("housekeeping", title, v, found, why,
      "keep at least one online core (two with SMT siblings) out of isolcpus/nohz_full and set "
      "housekeeping-cores to it");
}

}  // namespace rtvs::hostcheck
