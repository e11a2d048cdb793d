#pragma once
// Real-time readiness check of the host: reads /proc and /sys under a root directory (so tests run
// it against fixture trees) and explains, item by item, what would make a PMD core stall.

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace rtvs {

enum class Verdict { kPass, kInfo, kWarn, kFail };

const char* verdictName(Verdict v) noexcept;  // "PASS", "INFO", "WARN", "FAIL"

struct HostCheckInput {
  std::string root = "/";                       // where proc/ and sys/ are read from
  std::vector<unsigned> pmd_cores{1};           // cores the PMD threads will poll on
  std::vector<unsigned> housekeeping_cores{0};  // cores for everything else
  int pmd_priority = 0;                         // 0: SCHED_OTHER PMDs; 1-99: SCHED_FIFO
  unsigned hugepages_mb = 0;                    // hugepage memory wanted on the PMD node
  std::vector<std::string> nic_pci;             // PCI addresses of physical NICs, e.g. 0000:03:00.0
  // Processes whose threads are ours (PMD threads sit on the PMD cores by design).
  std::vector<std::string> own_process_names{"rtvswitch"};
  bool operator==(const HostCheckInput&) const = default;
};

struct HostCheckItem {
  std::string id;     // stable key, e.g. "isolcpus"
  std::string title;  // what is checked, for people
  Verdict verdict = Verdict::kInfo;
  std::string found;   // the value found on this host
  std::string why;     // why it matters for latency
  std::string remedy;  // the exact fix (empty when nothing to do)
};

struct HostCheckReport {
  std::vector<HostCheckItem> items;
  bool anyFail() const noexcept;
  const HostCheckItem* find(const std::string& id) const noexcept;
};

// Runs every check. Never throws on missing or unreadable files: such an item says
// "cannot read X" as WARN or INFO. Throws ConfigError only for an unusable input (no PMD core).
HostCheckReport runHostCheck(const HostCheckInput& input);

// The host preconditions the daemon enforces for SCHED_FIFO PMDs (pmd_priority > 0): a FAIL of
// rt-throttling, fair-server or isolcpus, one line each, "<id>: <found> (fix: <remedy>)"; empty
// when all are met or the PMDs are SCHED_OTHER.
std::vector<std::string> rtPreconditionFailures(const HostCheckInput& input);

// A table for people: verdict, id, found value, then the reason and remedy for non-PASS items.
std::string formatHostCheckTable(const HostCheckReport& report);
// {"items": [{"id", "title", "verdict", "found", "why", "remedy"}], "summary": {"PASS": n, ...},
//  "ok": bool (no FAIL)}
nlohmann::json toJson(const HostCheckReport& report);

}  // namespace rtvs
