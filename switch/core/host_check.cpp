#include "switch/core/host_check.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "switch/core/config.h"
#include "switch/core/port_spec.h"

namespace rtvs {
namespace {

namespace fs = std::filesystem;
using CpuSet = std::set<unsigned>;

constexpr unsigned kPfKthread = 0x00200000;  // task flag of kernel threads (linux/sched.h)
constexpr int kPolicyFifo = 1;
constexpr int kPolicyRr = 2;
constexpr unsigned kMaxIdleExitLatencyUs = 10;  // deeper idle states are "deep C-states"
constexpr size_t kMaxNamesShown = 6;

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::optional<long> toLong(const std::string& s) {
  long v = 0;
  const std::string t = trim(s);
  const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size()) return std::nullopt;
  return v;
}

bool isNumber(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

// "a, b, c, ... (+n more)": keeps found values readable on hosts with hundreds of threads.
std::string shortList(const std::vector<std::string>& names) {
  std::vector<std::string> shown(names.begin(),
                                 names.begin() + std::min(names.size(), kMaxNamesShown));
  std::string out = join(shown, ", ");
  if (names.size() > kMaxNamesShown) {
    out += ", ... (+" + std::to_string(names.size() - kMaxNamesShown) + " more)";
  }
  return out;
}

std::string cpuListText(const CpuSet& cpus) {
  return cpus.empty() ? "none" : formatCpuList(std::vector<unsigned>(cpus.begin(), cpus.end()));
}

std::optional<CpuSet> parseCpus(const std::string& text) {
  const std::string t = trim(text);
  if (t == "(null)") return CpuSet{};  // sysfs prints this for an empty nohz_full mask
  try {
    const auto v = parseCpuList(t, "cpu list");
    return CpuSet(v.begin(), v.end());
  } catch (const ConfigError&) {
    return std::nullopt;
  }
}

// A hex mask as in /proc/irq/default_smp_affinity: 32-bit groups separated by commas.
std::optional<CpuSet> parseHexMask(const std::string& text) {
  std::string hex;
  for (char c : trim(text)) {
    if (c == ',') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    hex += c;
  }
  if (hex.empty()) return std::nullopt;
  CpuSet cpus;
  unsigned bit = 0;
  for (auto it = hex.rbegin(); it != hex.rend(); ++it, bit += 4) {
    const unsigned nibble = static_cast<unsigned>(std::stoul(std::string(1, *it), nullptr, 16));
    for (unsigned b = 0; b < 4; ++b) {
      if (nibble & (1u << b)) cpus.insert(bit + b);
    }
  }
  return cpus;
}

bool intersects(const CpuSet& a, const CpuSet& b) {
  return std::any_of(a.begin(), a.end(), [&](unsigned c) { return b.count(c) > 0; });
}

CpuSet minus(const CpuSet& a, const CpuSet& b) {
  CpuSet out;
  for (unsigned c : a) {
    if (!b.count(c)) out.insert(c);
  }
  return out;
}

std::string policyName(int policy, int prio) {
  switch (policy) {
    case 0:
      return "SCHED_OTHER";
    case kPolicyFifo:
      return "SCHED_FIFO:" + std::to_string(prio);
    case kPolicyRr:
      return "SCHED_RR:" + std::to_string(prio);
    case 3:
      return "SCHED_BATCH";
    case 5:
      return "SCHED_IDLE";
    case 6:
      return "SCHED_DEADLINE";
    default:
      return "policy " + std::to_string(policy);
  }
}

struct ThreadInfo {
  long pid = 0;
  long tid = 0;
  std::string comm;          // the thread's name
  std::string process_comm;  // the name of its process
  char state = '?';
  unsigned flags = 0;
  unsigned processor = 0;
  int rt_priority = 0;
  int policy = 0;
  CpuSet allowed;
  bool isKernel() const { return (flags & kPfKthread) != 0; }
  bool isRealtime() const { return policy == kPolicyFifo || policy == kPolicyRr; }
  std::string label() const { return comm + "[" + std::to_string(tid) + "]"; }
};

// Parses /proc/<pid>/task/<tid>/stat: the comm is in parentheses and may hold spaces.
bool parseStat(const std::string& text, ThreadInfo& t) {
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  t.comm = text.substr(open + 1, close - open - 1);
  std::istringstream rest(text.substr(close + 1));
  std::vector<std::string> f{std::istream_iterator<std::string>(rest), {}};
  // f[0] is field 3 (state); flags is field 9, processor 39, rt_priority 40, policy 41.
  if (f.size() < 39 || f[0].size() != 1) return false;
  const auto flags = toLong(f[6]);
  const auto cpu = toLong(f[36]);
  const auto prio = toLong(f[37]);
  const auto policy = toLong(f[38]);
  if (!flags || !cpu || !prio || !policy || *cpu < 0) return false;
  t.state = f[0][0];
  t.flags = static_cast<unsigned>(*flags);
  t.processor = static_cast<unsigned>(*cpu);
  t.rt_priority = static_cast<int>(*prio);
  t.policy = static_cast<int>(*policy);
  return true;
}

class HostReader {
 public:
  explicit HostReader(std::string root) : root_(std::move(root)) {}

  fs::path path(const std::string& rel) const { return fs::path(root_) / rel; }

  std::optional<std::string> read(const std::string& rel) const {
    std::error_code ec;
    const fs::path p = path(rel);
    if (fs::is_directory(p, ec)) return std::nullopt;
    std::ifstream in(p);
    if (!in) return std::nullopt;
    std::string text{std::istreambuf_iterator<char>(in), {}};
    if (in.bad()) return std::nullopt;
    return text;
  }

  std::vector<std::string> list(const std::string& rel) const {
    std::vector<std::string> names;
    std::error_code ec;
    fs::directory_iterator it(path(rel), ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::vector<std::string> listNumeric(const std::string& rel) const {
    std::vector<std::string> names = list(rel);
    std::erase_if(names, [](const std::string& n) { return !isNumber(n) || !toLong(n); });
    std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
      return std::stol(a) < std::stol(b);
    });
    return names;
  }

 private:
  std::string root_;
};

class Checker {
 public:
  explicit Checker(const HostCheckInput& in) : in_(in), host_(in.root) {
    pmd_ = CpuSet(in.pmd_cores.begin(), in.pmd_cores.end());
    hk_ = CpuSet(in.housekeeping_cores.begin(), in.housekeeping_cores.end());
    pmdText_ = cpuListText(pmd_);
    loadCmdline();
    if (auto t = host_.read("sys/devices/system/cpu/online")) online_ = parseCpus(*t);
    loadIsolated();
    loadNohzFull();
    loadThreads();
  }

  HostCheckReport run() {
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

 private:
  void add(std::string id, std::string title, Verdict v, std::string found, std::string why,
           std::string remedy) {
    if (v == Verdict::kPass) remedy.clear();
    report_.items.push_back(
        {std::move(id), std::move(title), v, std::move(found), std::move(why), std::move(remedy)});
  }

  void loadCmdline() {
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

  std::optional<std::string> cmdlineValue(const std::string& key) const {
    const auto it = cmdline_.find(key);
    if (it == cmdline_.end()) return std::nullopt;
    return it->second;
  }

  // A kernel command-line cpu list: flags such as "domain,managed_irq" may precede it.
  std::optional<CpuSet> cmdlineCpus(const std::string& key) const {
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

  void loadIsolated() {
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

  void loadNohzFull() {
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

  void loadThreads() {
    if (auto target = readSelfPid()) selfPid_ = *target;
    const auto pids = host_.listNumeric("proc");
    procReadable_ = !pids.empty();
    for (const auto& pid : pids) {
      const std::string procComm = trim(host_.read("proc/" + pid + "/comm").value_or(""));
      const bool own = std::find(in_.own_process_names.begin(), in_.own_process_names.end(),
                                 procComm) != in_.own_process_names.end();
      if (own || std::stol(pid) == selfPid_) continue;
      for (const auto& tid : host_.listNumeric("proc/" + pid + "/task")) {
        const std::string dir = "proc/" + pid + "/task/" + tid;
        ThreadInfo t;
        const auto stat = host_.read(dir + "/stat");
        const auto status = host_.read(dir + "/status");
        if (!stat || !status || !parseStat(*stat, t)) continue;  // gone, or not ours to read
        std::istringstream lines(*status);
        std::string line;
        std::optional<CpuSet> allowed;
        while (std::getline(lines, line)) {
          if (line.rfind("Cpus_allowed_list:", 0) == 0) allowed = parseCpus(line.substr(18));
        }
        if (!allowed) continue;
        t.pid = std::stol(pid);
        t.tid = std::stol(tid);
        t.process_comm = procComm;
        t.allowed = *allowed;
        threads_.push_back(std::move(t));
      }
    }
  }

  // The checker's own process must not count as "another thread on the PMD core".
  std::optional<long> readSelfPid() const {
    std::error_code ec;
    const fs::path target = fs::read_symlink(host_.path("proc/self"), ec);
    if (ec) return std::nullopt;
    return toLong(target.filename().string());
  }

  std::optional<CpuSet> siblingsOf(unsigned cpu) const {
    const auto t = host_.read("sys/devices/system/cpu/cpu" + std::to_string(cpu) +
                              "/topology/thread_siblings_list");
    if (!t) return std::nullopt;
    auto s = parseCpus(*t);
    if (s) s->erase(cpu);
    return s;
  }

  bool isIsolated(unsigned cpu) const {
    return (isolated_ && isolated_->count(cpu)) || cpusetIsolated_.count(cpu);
  }

  // --- items -----------------------------------------------------------------------------------

  void checkPmdCores() {
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
    const Verdict v = !problems.empty() ? Verdict::kFail
                      : online_         ? Verdict::kPass
                                        : Verdict::kWarn;
    add("pmd-cores", "PMD cores exist and are apart from housekeeping", v, found,
        "a PMD polls its core at 100%: the core must exist and carry nothing else",
        "choose online cores for pmd-cores and different ones for housekeeping-cores");
  }

  void checkIsolcpus() {
    const std::string title = "PMD cores isolated from the scheduler (isolcpus or isolated cpuset)";
    const std::string why =
        "without isolation the load balancer puts other tasks on the PMD core and each one costs "
        "the PMD a context switch (tens of us) or, under a FIFO PMD, is starved";
    const std::string remedy =
        "add isolcpus=managed_irq,domain," + pmdText_ +
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
      found +=
          "; isolated cpusets " + join(cpusetNames_, ", ") + ": " + cpuListText(cpusetIsolated_);
    }
    if (!missing.empty()) found += "; PMD cores not isolated: " + cpuListText(missing);
    add("isolcpus", title, missing.empty() ? Verdict::kPass : Verdict::kFail, found, why, remedy);
  }

  void checkNohzFull() {
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

  void checkRcuNocbs() {
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

  void checkPmdThreads() {
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
        (user.empty() ? "" : " (" + shortList(user) + ")") + " and " +
        std::to_string(kernel.size()) + " unbound kernel threads" +
        (kernel.empty() ? "" : " (" + shortList(kernel) + ")") +
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

  void checkSmtSibling() {
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
        found.push_back("core " + std::to_string(c) +
                        ": cannot read topology/thread_siblings_list");
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

  void checkHousekeeping() {
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

  void checkIrqAffinity() {
    const std::string title =
        "device interrupts kept off PMD cores (/proc/irq/*/smp_affinity_list)";
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

  void checkIrqbalance() {
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

  void checkRtThrottling() {
    const std::string title =
        "RT throttling off for SCHED_FIFO PMDs (kernel.sched_rt_runtime_us=-1)";
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
                        (period ? ", sched_rt_period_us=" + std::to_string(*period) : "") +
                        ", PMD " +
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
  void checkFairServer() {
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

  static std::string fairServerFile(unsigned cpu) {
    return "/sys/kernel/debug/sched/fair_server/cpu" + std::to_string(cpu) + "/runtime";
  }

  void checkTimerMigration() {
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

  void checkKthreadPriority() {
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

  void checkVcpuPriority() {
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

  void checkKsm() {
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
      add("ksm", title, Verdict::kInfo, "cannot read /sys/kernel/mm/ksm/run (KSM not built in?)",
          why, "");
      return;
    }
    add("ksm", title, *v == 1 ? Verdict::kWarn : Verdict::kPass, "ksm/run=" + std::to_string(*v),
        why, remedy);
  }

  void checkSwap() {
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

  void checkWatchdog(const std::string& file, const std::string& key, const std::string& what,
                     const std::string& why) {
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

  void checkThp() {
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

  void checkGovernor() {
    const std::string title = "CPU frequency governor 'performance' on PMD cores";
    const std::string why =
        "other governors change the core's frequency under load: each change stalls the core "
        "and a lower clock lengthens every burst";
    std::vector<std::string> found;
    CpuSet slow;
    bool anyDriver = false;
    for (unsigned c : pmd_) {
      const auto g = host_.read("sys/devices/system/cpu/cpu" + std::to_string(c) +
                                "/cpufreq/scaling_governor");
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
    add("cpu-governor", title, slow.empty() ? Verdict::kPass : Verdict::kWarn, join(found, ", "),
        why,
        "echo performance > /sys/devices/system/cpu/cpu<n>/cpufreq/scaling_governor for cores " +
            cpuListText(slow) + " (scripts/rt-host-tune.sh does it)");
  }

  void checkCStates() {
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

  void checkClocksource() {
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

  struct HugeCount {
    unsigned long total_mb = 0;
    unsigned long free_mb = 0;
  };

  std::optional<HugeCount> hugepagesIn(const std::string& dir) const {
    std::optional<HugeCount> out;
    for (const auto& sub : host_.list(dir)) {
      if (sub.rfind("hugepages-", 0) != 0) continue;
      const auto kb = toLong(sub.substr(10, sub.size() - 12));  // "hugepages-2048kB"
      const auto nr = toLong(host_.read(dir + "/" + sub + "/nr_hugepages").value_or(""));
      const auto fr = toLong(host_.read(dir + "/" + sub + "/free_hugepages").value_or(""));
      constexpr long kMaxPages = 1L << 32;  // rejects garbage before it overflows
      if (!kb || !nr || !fr || *kb <= 0 || *kb > kMaxPages || *nr < 0 || *nr > kMaxPages ||
          *fr < 0 || *fr > *nr) {
        continue;
      }
      if (!out) out = HugeCount{};
      out->total_mb += static_cast<unsigned long>(*nr * *kb / 1024);
      out->free_mb += static_cast<unsigned long>(*fr * *kb / 1024);
    }
    return out;
  }

  void checkHugepages() {
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
    if (in_.hugepages_mb > 0)
      found.push_back("wanted " + std::to_string(in_.hugepages_mb) + " MiB");
    add("hugepages", title, v, join(found, "; "), why,
        "echo <pages> > /sys/devices/system/node/node<n>/hugepages/hugepages-2048kB/nr_hugepages "
        "(or hugepagesz=1G hugepages=<n> on the kernel command line) for the PMD/NIC node, and "
        "choose PMD cores on the NIC's node");
  }

  void checkPreemptModel() {
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

  const HostCheckInput& in_;
  HostReader host_;
  CpuSet pmd_;
  CpuSet hk_;
  std::string pmdText_;
  std::map<std::string, std::string> cmdline_;
  bool cmdlineRead_ = false;
  std::optional<CpuSet> online_;
  std::optional<CpuSet> isolated_;
  std::string isolatedSource_;
  CpuSet cpusetIsolated_;
  std::vector<std::string> cpusetNames_;
  std::optional<CpuSet> nohzFull_;
  std::string nohzSource_;
  long selfPid_ = -1;
  bool procReadable_ = false;
  std::vector<ThreadInfo> threads_;
  HostCheckReport report_;
};

}  // namespace

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
  return Checker(input).run();
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

std::string formatHostCheckTable(const HostCheckReport& report) {
  size_t idWidth = 4;
  for (const auto& i : report.items) idWidth = std::max(idWidth, i.id.size());
  std::ostringstream out;
  const auto pad = [](const std::string& s, size_t w) {
    return s + std::string(w > s.size() ? w - s.size() : 0, ' ');
  };
  out << "VERDICT  " << pad("ITEM", idWidth) << "  FOUND\n";
  std::map<Verdict, int> counts;
  for (const auto& i : report.items) {
    ++counts[i.verdict];
    out << pad(verdictName(i.verdict), 7) << "  " << pad(i.id, idWidth) << "  " << i.found << "\n";
    if (i.verdict == Verdict::kPass) continue;
    const std::string indent(9 + idWidth + 2, ' ');
    out << indent << "check: " << i.title << "\n";
    out << indent << "why:   " << i.why << "\n";
    if (!i.remedy.empty()) out << indent << "fix:   " << i.remedy << "\n";
  }
  out << "\n"
      << counts[Verdict::kPass] << " PASS, " << counts[Verdict::kInfo] << " INFO, "
      << counts[Verdict::kWarn] << " WARN, " << counts[Verdict::kFail] << " FAIL: "
      << (report.anyFail()         ? "this host is NOT ready for real-time PMDs"
          : counts[Verdict::kWarn] ? "ready, with warnings"
                                   : "ready")
      << "\n";
  return out.str();
}

nlohmann::json toJson(const HostCheckReport& report) {
  nlohmann::json items = nlohmann::json::array();
  nlohmann::json summary = {{"PASS", 0}, {"INFO", 0}, {"WARN", 0}, {"FAIL", 0}};
  for (const auto& i : report.items) {
    items.push_back({{"id", i.id},
                     {"title", i.title},
                     {"verdict", verdictName(i.verdict)},
                     {"found", i.found},
                     {"why", i.why},
                     {"remedy", i.remedy}});
    summary[verdictName(i.verdict)] = summary[verdictName(i.verdict)].get<int>() + 1;
  }
  return {{"items", items}, {"summary", summary}, {"ok", !report.anyFail()}};
}

}  // namespace rtvs
