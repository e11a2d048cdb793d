// IRQs: no device interrupt lands on a PMD core, and irqbalance cannot move one there.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "hostcheck/checker.h"

namespace rtvs::hostcheck {

void Checker::checkIrqAffinity() {
  const std::string title = "device interrupts kept off PMD cores (/proc/irq/*/smp_affinity_list)";
  const std::string why =
      "each interrupt on a PMD core runs its handler and softirq there: several us per IRQ";
  const std::string hkText = cpuListText(hk_);
  const std::string remedy =
      "for each IRQ: echo " + hkText + " > /proc/irq/<n>/smp_affinity_list, and echo <mask of " +
      hkText +
      "> > /proc/irq/default_smp_affinity (scripts/rt-host-tune.sh does both); "
      "managed IRQs of multi-queue devices follow isolcpus=managed_irq";
  std::map<long, std::string> names;
  if (auto text = host_.read("proc/interrupts")) {
    std::istringstream lines(*text);
    std::string line;
    while (std::getline(lines, line)) {
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      const auto irq = toLong(line.substr(0, colon));
      if (!irq) continue;  // NMI, LOC, ... are per-cpu, not device IRQs
      std::istringstream f(line.substr(colon + 1));
      std::vector<std::string> words{std::istream_iterator<std::string>(f), {}};
      names[*irq] = words.empty() ? "" : words.back();
    }
  }
  const auto irqs = host_.listNumeric("proc/irq");
  if (irqs.empty()) {
    add("irq-affinity", title, Verdict::kWarn, "cannot read /proc/irq", why, remedy);
    return;
  }
  std::vector<std::string> onPmd, unreadable;
  size_t devices = 0;
  for (const auto& irq : irqs) {
    const long n = std::stol(irq);
    // Without /proc/interrupts every IRQ counts as a device IRQ.
    if (!names.empty() && !names.count(n)) continue;
    ++devices;
    const auto text = host_.read("proc/irq/" + irq + "/smp_affinity_list");
    const auto cpus = text ? parseCpus(*text) : std::nullopt;
    if (!cpus) {
      unreadable.push_back(irq);
      continue;
    }
    if (intersects(*cpus, pmd_)) {
      onPmd.push_back(irq + (names[n].empty() ? "" : " " + names[n]) + " -> " + trim(*text));
    }
  }
  std::string found = std::to_string(onPmd.size()) + " of " + std::to_string(devices) +
                      " device IRQs may fire on PMD cores" +
                      (onPmd.empty() ? "" : " (" + shortList(onPmd) + ")");
  if (!unreadable.empty())
    found += "; cannot read smp_affinity_list of IRQ " + shortList(unreadable);
  bool defaultOnPmd = false;
  const auto def = host_.read("proc/irq/default_smp_affinity");
  if (const auto mask = def ? parseHexMask(*def) : std::nullopt) {
    defaultOnPmd = intersects(*mask, pmd_);
    found += "; default_smp_affinity " + trim(*def) + " (" + cpuListText(*mask) + ")";
  } else {
    found += "; cannot read /proc/irq/default_smp_affinity";
  }
  const Verdict v = !onPmd.empty()                                ? Verdict::kFail
                    : defaultOnPmd || !unreadable.empty() || !def ? Verdict::kWarn
                                                                  : Verdict::kPass;
  add("irq-affinity", title, v, found, why, remedy);
}

void Checker::checkIrqbalance() {
  const std::string title = "irqbalance does not move interrupts back onto PMD cores";
  const std::string why =
      "irqbalance rewrites IRQ affinities every 10 s and undoes a manual placement unless it is "
      "told to keep off the PMD cores";
  if (!procReadable_) {
    add("irqbalance", title, Verdict::kWarn, "cannot read /proc", why, "");
    return;
  }
  const bool running = std::any_of(threads_.begin(), threads_.end(), [](const ThreadInfo& t) {
    return t.process_comm == "irqbalance";
  });
  if (!running) {
    add("irqbalance", title, Verdict::kPass, "irqbalance not running", why, "");
    return;
  }
  CpuSet banned;
  std::string source;
  for (const std::string file : {"etc/default/irqbalance", "etc/sysconfig/irqbalance"}) {
    const auto text = host_.read(file);
    if (!text) continue;
    std::istringstream lines(*text);
    std::string line;
    while (std::getline(lines, line)) {
      line = trim(line);
      std::string value;
      const auto strip = [](std::string v) {
        std::erase(v, '"');
        return trim(v);
      };
      if (line.rfind("IRQBALANCE_BANNED_CPULIST=", 0) == 0) {
        if (auto c = parseCpus(strip(line.substr(26)))) banned.insert(c->begin(), c->end());
        source = "/" + file;
      } else if (line.rfind("IRQBALANCE_BANNED_CPUS=", 0) == 0) {
        if (auto c = parseHexMask(strip(line.substr(23)))) banned.insert(c->begin(), c->end());
        source = "/" + file;
      }
    }
  }
  // irqbalance leaves isolcpus and nohz_full cores alone by itself.
  CpuSet kept = banned;
  kept.insert(cpusetIsolated_.begin(), cpusetIsolated_.end());
  if (isolated_) kept.insert(isolated_->begin(), isolated_->end());
  if (nohzFull_) kept.insert(nohzFull_->begin(), nohzFull_->end());
  const CpuSet exposed = minus(pmd_, kept);
  std::string found = "irqbalance running; banned cpus " + cpuListText(banned) +
                      (source.empty() ? "" : " (" + source + ")") +
                      "; isolated/nohz_full cores are skipped by irqbalance";
  if (!exposed.empty()) found += "; PMD cores it may use: " + cpuListText(exposed);
  add("irqbalance", title, exposed.empty() ? Verdict::kPass : Verdict::kWarn, found, why,
      "set IRQBALANCE_BANNED_CPULIST=" + pmdText_ +
          " in /etc/default/irqbalance and restart it, or stop it: systemctl disable --now "
          "irqbalance");
}

}  // namespace rtvs::hostcheck
