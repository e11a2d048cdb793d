// The report for people (a table) and for programs (JSON).

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hostcheck/host_check.h"

namespace rtvs {

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
