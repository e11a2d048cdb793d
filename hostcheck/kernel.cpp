// Kernel: its command line, the preemption model, the lockup watchdogs and timer migration.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "hostcheck/checker.h"

namespace rtvs::hostcheck {

void Checker::loadCmdline() {
  const auto text = host_.read("proc/cmdline");
  if (!text) return;
  cmdlineRead_ = true;
  std::istringstream in(*text);
  std::string tok;
  while (in >> tok) {
    if (tok == "--") break;  // what follows belongs to init, not to the kernel
    const size_t eq = tok.find('=');
    cmdline_[tok.substr(0, eq)] = eq == std::string::npos ? "" : tok.substr(eq + 1);
  }
}

std::optional<std::string> Checker::cmdlineValue(const std::string& key) const {
  const auto it = cmdline_.find(key);
  if (it == cmdline_.end()) return std::nullopt;
  return it->second;
}

// A kernel command-line cpu list: flags such as "domain,managed_irq" may precede it.
std::optional<CpuSet> Checker::cmdlineCpus(const std::string& key) const {
  const auto v = cmdlineValue(key);
  if (!v) return std::nullopt;
  std::vector<std::string> numeric;
  std::istringstream in(*v);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (part == "all" && online_) return *online_;
    if (!part.empty() && std::isdigit(static_cast<unsigned char>(part[0]))) {
      numeric.push_back(part);
    }
  }
  return parseCpus(join(numeric, ","));
}

void Checker::checkTimerMigration() {
  const std::string title = "timer migration off (kernel.timer_migration=0)";
  const std::string why =
      "with migration on, timers armed on housekeeping cores may be moved to and expire on "
      "the PMD core";
  const auto text = host_.read("proc/sys/kernel/timer_migration");
  const auto v = toLong(text.value_or(""));
  if (!v) {
    add("timer_migration", title, Verdict::kWarn, "cannot read /proc/sys/kernel/timer_migration",
        why, "sysctl -w kernel.timer_migration=0");
    return;
  }
  add("timer_migration", title, *v == 0 ? Verdict::kPass : Verdict::kWarn,
      "timer_migration=" + std::to_string(*v), why, "sysctl -w kernel.timer_migration=0");
}

void Checker::checkWatchdog(const std::string& file, const std::string& key,
                            const std::string& what, const std::string& why) {
  const std::string id = file == "watchdog" ? "watchdog" : "nmi-watchdog";
  const auto text = host_.read("proc/sys/kernel/" + file);
  const auto v = toLong(text.value_or(""));
  const std::string remedy = "sysctl -w " + key + "=0";
  if (!v) {
    add(id, what + " off (" + key + "=0)", Verdict::kInfo, "cannot read /proc/sys/kernel/" + file,
        why, "");
    return;
  }
  add(id, what + " off (" + key + "=0)", *v == 0 ? Verdict::kPass : Verdict::kWarn,
      key + "=" + std::to_string(*v), why, remedy);
}

void Checker::checkPreemptModel() {
  const std::string title = "kernel preemption model PREEMPT_RT";
  const std::string rtWhy =
      "only PREEMPT_RT bounds how long the kernel keeps a core non-preemptible (threaded IRQs, "
      "sleeping spinlocks); RT guests need it on the host for a bounded vCPU wake-up";
  const std::string remedy =
      "boot a PREEMPT_RT kernel (Debian: linux-image-rt-amd64); the PMD itself, isolated and "
      "polling in user space, does not depend on it";
  if (trim(host_.read("sys/kernel/realtime").value_or("")) == "1") {
    add("preempt-model", title, Verdict::kPass, "PREEMPT_RT (/sys/kernel/realtime=1)", rtWhy, "");
    return;
  }
  const auto version = host_.read("proc/version");
  if (!version) {
    add("preempt-model", title, Verdict::kWarn, "cannot read /proc/version", rtWhy, remedy);
    return;
  }
  std::istringstream in(*version);
  std::set<std::string> words{std::istream_iterator<std::string>(in), {}};
  if (words.count("PREEMPT_RT")) {
    add("preempt-model", title, Verdict::kPass, "PREEMPT_RT (/proc/version)", rtWhy, "");
    return;
  }
  std::string found;
  std::string meaning;
  if (words.count("PREEMPT_DYNAMIC")) {
    // The active mode is in debugfs (root only) and on the command line.
    std::string mode;
    if (auto d = host_.read("sys/kernel/debug/sched/preempt")) {
      const size_t open = d->find('(');
      const size_t close = d->find(')');
      if (open != std::string::npos && close > open) mode = d->substr(open + 1, close - open - 1);
    }
    if (mode.empty()) mode = cmdlineValue("preempt").value_or("");
    found = "PREEMPT_DYNAMIC, mode " +
            (mode.empty() ? std::string("unknown (build default; /sys/kernel/debug/sched/preempt "
                                        "not readable, no preempt= on the command line)")
                          : mode);
    meaning = mode == "full" ? "; full: preemptible except in spinlocks and IRQ-off regions, "
                               "worst case typically 100s of us"
              : mode.empty() ? "; the build default is voluntary or full: with voluntary a "
                               "kernel path may run for ms before it yields; boot with "
                               "preempt=full for the best non-RT latency"
                             : "; " + mode +
                                   ": a kernel path may run for ms before it yields; "
                                   "preempt=full is the best non-RT choice";
  } else if (words.count("PREEMPT")) {
    found = "PREEMPT (full)";
    meaning =
        "; preemptible except in spinlocks and IRQ-off regions, worst case typically 100s "
        "of us";
  } else {
    found = "PREEMPT_NONE or PREEMPT_VOLUNTARY";
    meaning = "; a kernel path may run for ms before it yields";
  }
  add("preempt-model", title, Verdict::kWarn, found + meaning, rtWhy, remedy);
}

}  // namespace rtvs::hostcheck
