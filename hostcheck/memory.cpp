// Memory: KSM, swap, transparent hugepages and the hugepages the switch needs on the PMD node.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "hostcheck/checker.h"

namespace rtvs::hostcheck {

void Checker::checkKsm() {
  const std::string title = "kernel samepage merging (KSM) off";
  const std::string why =
      "ksmd scans and merges guest pages; a write to a merged page takes a copy-on-write fault "
      "in the guest or in the switch copying its packets";
  const std::string remedy =
      "echo 2 > /sys/kernel/mm/ksm/run (unmerge and stop), and disable "
      "ksm/ksmtuned services";
  const auto text = host_.read("sys/kernel/mm/ksm/run");
  const auto v = toLong(text.value_or(""));
  if (!v) {
    add("ksm", title, Verdict::kInfo, "cannot read /sys/kernel/mm/ksm/run (KSM not built in?)", why,
        "");
    return;
  }
  add("ksm", title, *v == 1 ? Verdict::kWarn : Verdict::kPass, "ksm/run=" + std::to_string(*v), why,
      remedy);
}

void Checker::checkSwap() {
  const std::string title = "swap off";
  const std::string why =
      "a page of the switch, QEMU or the guest swapped out costs milliseconds to fault back in";
  const auto text = host_.read("proc/swaps");
  if (!text) {
    add("swap", title, Verdict::kWarn, "cannot read /proc/swaps", why, "swapoff -a");
    return;
  }
  std::istringstream lines(*text);
  std::string line;
  std::vector<std::string> devices;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string dev;
    if (f >> dev) devices.push_back(dev);
  }
  add("swap", title, devices.empty() ? Verdict::kPass : Verdict::kWarn,
      devices.empty() ? "no swap" : "swap on " + shortList(devices), why,
      "swapoff -a, and remove the swap entries from /etc/fstab");
}

void Checker::checkThp() {
  const std::string title = "transparent hugepages not 'always'";
  const std::string why =
      "with 'always', khugepaged compacts and collapses pages in the background and page "
      "faults may stall on compaction";
  const auto text = host_.read("sys/kernel/mm/transparent_hugepage/enabled");
  const size_t open = text ? text->find('[') : std::string::npos;
  const size_t close = text ? text->find(']') : std::string::npos;
  if (open == std::string::npos || close == std::string::npos || close < open) {
    add("thp", title, Verdict::kInfo,
        text ? "cannot parse /sys/kernel/mm/transparent_hugepage/enabled: " + trim(*text)
             : "cannot read /sys/kernel/mm/transparent_hugepage/enabled",
        why, "");
    return;
  }
  const std::string mode = text->substr(open + 1, close - open - 1);
  add("thp", title, mode == "always" ? Verdict::kWarn : Verdict::kPass,
      "transparent_hugepage=" + mode, why,
      "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled (or never); "
      "transparent_hugepage=never on the kernel command line");
}

std::optional<Checker::HugeCount> Checker::hugepagesIn(const std::string& dir) const {
  std::optional<HugeCount> out;
  for (const auto& sub : host_.list(dir)) {
    if (sub.rfind("hugepages-", 0) != 0) continue;
    const auto kb = toLong(sub.substr(10, sub.size() - 12));  // "hugepages-2048kB"
    const auto nr = toLong(host_.read(dir + "/" + sub + "/nr_hugepages").value_or(""));
    const auto fr = toLong(host_.read(dir + "/" + sub + "/free_hugepages").value_or(""));
    constexpr long kMaxPages = 1L << 32;  // rejects garbage before it overflows
    if (!kb || !nr || !fr || *kb <= 0 || *kb > kMaxPages || *nr < 0 || *nr > kMaxPages || *fr < 0 ||
        *fr > *nr) {
      continue;
    }
    if (!out) out = HugeCount{};
    out->total_mb += static_cast<unsigned long>(*nr * *kb / 1024);
    out->free_mb += static_cast<unsigned long>(*fr * *kb / 1024);
  }
  return out;
}

void Checker::checkHugepages() {
  const std::string title = "hugepages reserved on the NUMA node of the PMD cores and the NIC";
  const std::string why =
      "vhost-user needs guest and switch memory in shared hugepages; memory on another node "
      "than the PMD or the NIC adds a cross-node access to every packet";
  std::map<unsigned, CpuSet> nodes;  // node -> cpus
  for (const auto& name : host_.list("sys/devices/system/node")) {
    const auto id = name.rfind("node", 0) == 0 ? toLong(name.substr(4)) : std::nullopt;
    if (!id || *id < 0 || *id > 0xffff) continue;
    if (auto t = host_.read("sys/devices/system/node/" + name + "/cpulist")) {
      if (auto cpus = parseCpus(*t)) nodes[static_cast<unsigned>(*id)] = *cpus;
    }
  }
  std::set<unsigned> wanted;  // nodes that need hugepages
  std::vector<std::string> found, problems;
  for (unsigned c : pmd_) {
    for (const auto& [node, cpus] : nodes) {
      if (cpus.count(c)) wanted.insert(node);
    }
  }
  std::set<unsigned> nicNodes;
  for (const auto& pci : in_.nic_pci) {
    const auto n = toLong(host_.read("sys/bus/pci/devices/" + pci + "/numa_node").value_or(""));
    if (!n) {
      problems.push_back("cannot read /sys/bus/pci/devices/" + pci + "/numa_node");
      continue;
    }
    found.push_back("NIC " + pci + " on node " + std::to_string(*n));
    if (*n >= 0) {
      nicNodes.insert(static_cast<unsigned>(*n));
      wanted.insert(static_cast<unsigned>(*n));
    }
  }
  Verdict v = Verdict::kPass;
  if (nodes.empty()) {
    // A kernel without NUMA: the global pools.
    const auto h = hugepagesIn("sys/kernel/mm/hugepages");
    if (!h) {
      add("hugepages", title, Verdict::kWarn, "cannot read /sys/kernel/mm/hugepages", why, "");
      return;
    }
    found.push_back("no NUMA nodes; " + std::to_string(h->total_mb) + " MiB reserved, " +
                    std::to_string(h->free_mb) + " MiB free");
    if (h->total_mb == 0 || h->free_mb < in_.hugepages_mb) v = Verdict::kFail;
  } else {
    for (unsigned node : wanted) {
      const auto h =
          hugepagesIn("sys/devices/system/node/node" + std::to_string(node) + "/hugepages");
      if (!h) {
        found.push_back("node " + std::to_string(node) + ": cannot read hugepages");
        v = std::max(v, Verdict::kWarn);
        continue;
      }
      found.push_back("node " + std::to_string(node) + ": " + std::to_string(h->total_mb) +
                      " MiB reserved, " + std::to_string(h->free_mb) + " MiB free");
      if (h->total_mb == 0 || h->free_mb < in_.hugepages_mb) v = Verdict::kFail;
    }
    if (wanted.empty()) {
      found.push_back("PMD cores " + pmdText_ + " on no known NUMA node");
      v = std::max(v, Verdict::kWarn);
    }
    for (unsigned n : nicNodes) {
      bool pmdThere = false;
      for (unsigned c : pmd_) pmdThere = pmdThere || (nodes.count(n) && nodes[n].count(c));
      if (!pmdThere) {
        problems.push_back("no PMD core on the NIC's node " + std::to_string(n));
        v = std::max(v, Verdict::kWarn);
      }
    }
  }
  if (!problems.empty()) {
    v = std::max(v, Verdict::kWarn);
    found.push_back(join(problems, "; "));
  }
  if (in_.hugepages_mb > 0) found.push_back("wanted " + std::to_string(in_.hugepages_mb) + " MiB");
  add("hugepages", title, v, join(found, "; "), why,
      "echo <pages> > /sys/devices/system/node/node<n>/hugepages/hugepages-2048kB/nr_hugepages "
      "(or hugepagesz=1G hugepages=<n> on the kernel command line) for the PMD/NIC node, and "
      "choose PMD cores on the NIC's node");
}

}  // namespace rtvs::hostcheck
