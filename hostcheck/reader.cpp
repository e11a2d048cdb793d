// The core of the check: reading the host under a root, the shared parsing helpers, and what
// the checker loads once (the threads of every process).

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "hostcheck/checker.h"
#include "switch/core/config.h"

namespace rtvs::hostcheck {

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

std::optional<std::string> HostReader::read(const std::string& rel) const {
  std::error_code ec;
  const fs::path p = path(rel);
  if (fs::is_directory(p, ec)) return std::nullopt;
  std::ifstream in(p);
  if (!in) return std::nullopt;
  std::string text{std::istreambuf_iterator<char>(in), {}};
  if (in.bad()) return std::nullopt;
  return text;
}

std::vector<std::string> HostReader::list(const std::string& rel) const {
  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(path(rel), ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> HostReader::listNumeric(const std::string& rel) const {
  std::vector<std::string> names = list(rel);
  std::erase_if(names, [](const std::string& n) { return !isNumber(n) || !toLong(n); });
  std::sort(names.begin(), names.end(),
            [](const std::string& a, const std::string& b) { return std::stol(a) < std::stol(b); });
  return names;
}

Checker::Checker(const HostCheckInput& in) : in_(in), host_(in.root) {
  pmd_ = CpuSet(in.pmd_cores.begin(), in.pmd_cores.end());
  hk_ = CpuSet(in.housekeeping_cores.begin(), in.housekeeping_cores.end());
  pmdText_ = cpuListText(pmd_);
  loadCmdline();
  if (auto t = host_.read("sys/devices/system/cpu/online")) online_ = parseCpus(*t);
  loadIsolated();
  loadNohzFull();
  loadThreads();
}

void Checker::loadThreads() {
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
std::optional<long> Checker::readSelfPid() const {
  std::error_code ec;
  const fs::path target = fs::read_symlink(host_.path("proc/self"), ec);
  if (ec) return std::nullopt;
  return toLong(target.filename().string());
}

}  // namespace rtvs::hostcheck
