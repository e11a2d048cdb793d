#pragma once
// Private to hostcheck/: the pieces the topic files share. The host is read through HostReader
// (paths under the input's root, so tests run against fixture trees); Checker loads what several
// checks need once, then each check*() adds one item. Each topic file defines its checks:
// cpu_isolation.cpp, irqs.cpp, scheduling.cpp, memory.cpp, power_clock.cpp, kernel.cpp.

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hostcheck/host_check.h"

namespace rtvs::hostcheck {

namespace fs = std::filesystem;
using CpuSet = std::set<unsigned>;

inline constexpr unsigned kPfKthread = 0x00200000;  // task flag of kernel threads (linux/sched.h)
inline constexpr int kPolicyFifo = 1;
inline constexpr int kPolicyRr = 2;
inline constexpr unsigned kMaxIdleExitLatencyUs = 10;  // deeper idle states are "deep C-states"
inline constexpr size_t kMaxNamesShown = 6;

std::string trim(std::string_view s);
std::optional<long> toLong(const std::string& s);
bool isNumber(const std::string& s);
std::string join(const std::vector<std::string>& parts, const std::string& sep);
// "a, b, c, ... (+n more)": keeps found values readable on hosts with hundreds of threads.
std::string shortList(const std::vector<std::string>& names);
std::string cpuListText(const CpuSet& cpus);
std::optional<CpuSet> parseCpus(const std::string& text);
// A hex mask as in /proc/irq/default_smp_affinity: 32-bit groups separated by commas.
std::optional<CpuSet> parseHexMask(const std::string& text);
bool intersects(const CpuSet& a, const CpuSet& b);
CpuSet minus(const CpuSet& a, const CpuSet& b);
std::string policyName(int policy, int prio);

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
bool parseStat(const std::string& text, ThreadInfo& t);

class HostReader {
 public:
  explicit HostReader(std::string root) : root_(std::move(root)) {}

  fs::path path(const std::string& rel) const { return fs::path(root_) / rel; }
  // The file's text; nullopt when it is missing, a directory or unreadable.
  std::optional<std::string> read(const std::string& rel) const;
  // The entries of a directory, sorted; empty when it cannot be listed.
  std::vector<std::string> list(const std::string& rel) const;
  // Only the numeric entries (pids, irqs), in numeric order.
  std::vector<std::string> listNumeric(const std::string& rel) const;

 private:
  std::string root_;
};

class Checker {
 public:
  explicit Checker(const HostCheckInput& in);
  // Every check, in the report's order (host_check.cpp).
  HostCheckReport run();

 private:
  void add(std::string id, std::string title, Verdict v, std::string found, std::string why,
           std::string remedy);

  // What several checks share, loaded once by the constructor.
  void loadCmdline();
  std::optional<std::string> cmdlineValue(const std::string& key) const;
  std::optional<CpuSet> cmdlineCpus(const std::string& key) const;
  void loadIsolated();
  void loadNohzFull();
  void loadThreads();
  std::optional<long> readSelfPid() const;
  std::optional<CpuSet> siblingsOf(unsigned cpu) const;
  bool isIsolated(unsigned cpu) const;

  // cpu_isolation.cpp
  void checkPmdCores();
  void checkIsolcpus();
  void checkNohzFull();
  void checkRcuNocbs();
  void checkPmdThreads();
  void checkSmtSibling();
  void checkHousekeeping();
  // irqs.cpp
  void checkIrqAffinity();
  void checkIrqbalance();
  // scheduling.cpp
  void checkRtThrottling();
  void checkFairServer();
  static std::string fairServerFile(unsigned cpu);
  void checkKthreadPriority();
  void checkVcpuPriority();
  // memory.cpp
  struct HugeCount {
    unsigned long total_mb = 0;
    unsigned long free_mb = 0;
  };
  void checkKsm();
  void checkSwap();
  void checkThp();
  std::optional<HugeCount> hugepagesIn(const std::string& dir) const;
  void checkHugepages();
  // power_clock.cpp
  void checkGovernor();
  void checkCStates();
  void checkClocksource();
  // kernel.cpp
  void checkTimerMigration();
  void checkWatchdog(const std::string& file, const std::string& key, const std::string& what,
                     const std::string& why);
  void checkPreemptModel();

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

}  // namespace rtvs::hostcheck
