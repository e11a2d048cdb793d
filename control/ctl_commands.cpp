#include "control/ctl_commands.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <set>

#include "switch/core/config.h"
#include "switch/core/counters.h"
#include "switch/core/drop_reasons.h"
#include "switch/core/port_spec.h"
#include "switch/protocol/jsonrpc.h"
#include "switch/protocol/rpc_client.h"

namespace rtvs {

namespace {

using nlohmann::json;

json optionalPort(const std::string& port) {
  return port.empty() ? json(nullptr) : json{{"port", port}};
}

// ---- value formatting: tolerant of missing fields, so an older or newer daemon still prints ----

std::string text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g", v.get<double>());
    return buf;
  }
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

const json& member(const json& o, const char* key) {
  static const json kNull;
  if (!o.is_object()) return kNull;
  auto it = o.find(key);
  return it == o.end() ? kNull : *it;
}

std::string field(const json& o, const char* key) {
  std::string s = text(member(o, key));
  return s.empty() ? "-" : s;
}

// A number with one decimal and a unit ("12.5 %", "1.5 s"); "-" when absent.
std::string fixed1(const json& o, const char* key, const char* unit) {
  const json& v = member(o, key);
  if (!v.is_number()) return field(o, key);
  char buf[48];
  std::snprintf(buf, sizeof(buf), *unit ? "%.1f %s" : "%.1f", v.get<double>(), unit);
  return buf;
}

std::string withUnit(const json& o, const char* key, const char* unit) {
  std::string s = field(o, key);
  return s == "-" ? s : s + " " + unit;
}

// Sum of the drops that lose the frame (learn_full and learn_limited forward it, so they are not).
std::string dropSum(const json& drops) {
  if (!drops.is_object()) return "-";
  uint64_t sum = 0;
  for (const char* r : kDropReasonNames) {
    const json& v = member(drops, r);
    if (v.is_number_unsigned() || v.is_number_integer()) sum += v.get<uint64_t>();
  }
  return std::to_string(sum);
}

// A counter's JSON key and column heading (counters.h).
const char* key(PortCounter c) { return kPortCounterInfo[c].key; }
const char* key(PmdCounter c) { return kPmdCounterInfo[c].key; }
const char* column(PortCounter c) { return kPortCounterInfo[c].column; }
const char* column(PmdCounter c) { return kPmdCounterInfo[c].column; }

std::string keyValues(const std::vector<std::pair<std::string, std::string>>& kv) {
  size_t width = 0;
  for (const auto& [k, v] : kv) width = std::max(width, k.size());
  std::string out;
  for (const auto& [k, v] : kv) out += k + std::string(width - k.size(), ' ') + " : " + v + "\n";
  return out;
}

// ---- one formatter per verb, on the result shapes of docs/api.md ----

// "k=v,k=v" of an external_ids object; "-" when there are none.
std::string externalIds(const json& p) {
  const json& ids = member(p, "external_ids");
  std::string s;
  if (ids.is_object()) {
    for (const auto& [k, v] : ids.items()) s += (s.empty() ? "" : ",") + k + "=" + text(v);
  }
  return s.empty() ? "-" : s;
}

std::string formatPortList(const json& r) {
  const json& ports = member(r, "ports");
  std::string out;
  if (!ports.is_array() || ports.empty()) {
    out = "no ports\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : ports) {
      std::string where = field(p, "path");
      if (where == "-") where = field(p, "devargs");
      rows.push_back({field(p, "name"), field(p, "index"), field(p, "type"), field(p, "state"),
                      field(p, "queues"), field(p, "mtu"), field(p, key(kRxPackets)),
                      field(p, key(kTxPackets)), field(p, "drops"), where, externalIds(p)});
    }
    out = formatTable({"NAME", "INDEX", "TYPE", "STATE", "QUEUES", "MTU", column(kRxPackets),
                       column(kTxPackets), "DROPS", "PATH/DEVARGS", "EXTERNAL-IDS"},
                      "lrllrrrrrll", rows);
  }
  if (const json& u = member(r, "unrestored"); u.is_array() && !u.empty()) {
    out += "\nsaved ports that could not be recreated (port del NAME forgets one):\n";
    for (const auto& e : u) out += "  " + field(e, "name") + ": " + field(e, "error") + "\n";
  }
  return out;
}

std::string formatPortShow(const json& p) {
  std::vector<std::pair<std::string, std::string>> kv{
      {"name", field(p, "name")},
      {"index", field(p, "index")},
      {"type", field(p, "type")},
      {"state", field(p, "state")},
      {"path", field(p, "path")},
      {"devargs", field(p, "devargs")},
      {"queues", field(p, "queues")},
      {"mtu", withUnit(p, "mtu", "bytes")},
      {"reconnects", field(p, "reconnects")},
      {"external-ids", externalIds(p)},
  };
  std::string opts;
  if (const json& o = member(p, "options"); o.is_object()) {
    for (const auto& [k, v] : o.items()) opts += (opts.empty() ? "" : " ") + k + "=" + text(v);
  }
  kv.emplace_back("options", opts.empty() ? "-" : opts);
  std::string rxqs;
  if (const json& q = member(p, "rxqs"); q.is_array()) {
    for (const auto& e : q) {
      rxqs += (rxqs.empty() ? "" : ", ") + std::string("queue ") + field(e, "queue") + " on pmd " +
              field(e, "pmd") + " (core " + field(e, "core") + ")";
    }
  }
  kv.emplace_back("rxqs", rxqs.empty() ? "not polled" : rxqs);
  kv.emplace_back("numa", field(p, "numa"));  // device or guest memory node, "-" unknown
  const json& s = member(p, "stats");
  kv.emplace_back("link", field(s, "link"));
  kv.emplace_back("rx",
                  field(s, key(kRxPackets)) + " packets, " + field(s, key(kRxBytes)) + " bytes");
  kv.emplace_back("tx", field(s, key(kTxPackets)) + " packets, " + field(s, key(kTxBytes)) +
                            " bytes, " + field(s, key(kTxRetries)) + " retries, " +
                            field(s, key(kTxDeferred)) + " deferred");
  const json& d = member(s, "drops");
  std::string reasons;
  for (const char* r : kDropReasonNames) {
    reasons += (reasons.empty() ? "" : ", ") + std::string(r) + " " + field(d, r);
  }
  kv.emplace_back("drops", dropSum(d) + " (" + reasons + ")");
  kv.emplace_back("learn_full",
                  field(d, "learn_full") + " (source MACs not learned, frames forwarded)");
  kv.emplace_back("learn_limited", field(d, "learn_limited") + " (source MACs over mac-limit)");
  return keyValues(kv);
}

std::string formatFdb(const json& r) {
  std::string out;
  const json& entries = member(r, "entries");
  if (entries.is_array() && !entries.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : entries) {
      rows.push_back(
          {field(e, "vlan"), field(e, "mac"), field(e, "port"), fixed1(e, "age_s", "s")});
    }
    out += formatTable({"VLAN", "MAC", "PORT", "AGE"}, "rllr", rows);
  } else {
    out += "no learned MAC addresses\n";
  }
  out += field(r, "count") + " entries, capacity " + field(r, "capacity") + ", aging " +
         withUnit(r, "aging_s", "s") + ", learn failed " + field(r, "learn_failed") +
         " (collisions " + field(r, "learn_collisions") + "), learn events dropped " +
         field(r, key(kLearnRingFull)) + "\n";
  return out;
}

std::string formatPmdShow(const json& r) {
  const json& pmds = member(r, "pmds");
  if (!pmds.is_array() || pmds.empty()) return "no PMD threads\n";
  std::vector<std::vector<std::string>> rows, rxqs;
  std::string isolated;
  for (const auto& p : pmds) {
    rows.push_back({field(p, "id"), field(p, "core"), field(p, "numa"), field(p, "sched"),
                    field(p, key(kIterations)), fixed1(p, "busy_pct", "%"),
                    field(p, key(kRxPackets)), fixed1(p, "busy_cycles_per_packet", "")});
    if (const json& q = member(p, "rxqs"); q.is_array()) {
      for (const auto& e : q) {
        const bool pinned = member(e, "pinned").is_boolean() && member(e, "pinned").get<bool>();
        // A queue whose port is on another node than its PMD (no PMD free on the port's node, or
        // pinned there) is marked: every frame crosses the interconnect.
        const json& qn = member(e, "numa");
        const bool cross = qn.is_number_integer() && member(p, "numa").is_number_integer() &&
                           qn.get<int64_t>() != member(p, "numa").get<int64_t>();
        rxqs.push_back(
            {field(p, "id"), field(e, "port"), field(e, "queue") + (pinned ? " pinned" : ""),
             field(e, "numa") + (cross ? " cross-numa" : ""), fixed1(e, "busy_pct", "%")});
      }
    }
    if (member(p, "isolated").is_boolean() && member(p, "isolated").get<bool>()) {
      isolated += (isolated.empty() ? "" : ", ") + field(p, "id");
    }
  }
  std::string out = formatTable({"PMD", "CORE", "NUMA", "SCHED", column(kIterations), "BUSY",
                                 column(kRxPackets), "CYCLES/PKT"},
                                "rrrlrrrr", rows);
  out += "\n";
  out += rxqs.empty() ? "no rx queues assigned\n"
                      : formatTable({"PMD", "PORT", "QUEUE", "NUMA", "BUSY"}, "rlrrr", rxqs);
  if (!isolated.empty()) {
    out += "isolated (rxq-affinity, only pinned queues): pmd " + isolated + "\n";
  }
  if (const json& d = member(r, "degraded"); d.is_array() && !d.empty()) {
    out += "\nDEGRADED: started with --allow-degraded; real-time preconditions not met:\n";
    for (const auto& reason : d) out += "  " + text(reason) + "\n";
  }
  return out;
}

std::string formatStats(const json& r) {
  std::string out;
  const json& ports = member(r, "ports");
  if (ports.is_array() && !ports.empty()) {
    std::vector<std::vector<std::string>> rows, drops;
    for (const auto& p : ports) {
      const json& d = member(p, "drops");
      std::vector<std::string> cells{field(p, "name"), field(p, "link")};
      for (unsigned c = 0; c < kNumPmdPortCounters; ++c) {
        cells.push_back(field(p, key(static_cast<PortCounter>(c))));
      }
      cells.insert(cells.end(),
                   {dropSum(d), field(p, "reconnects"), field(p, key(kGuestNotifications))});
      rows.push_back(std::move(cells));
      std::vector<std::string> row{field(p, "name")};
      for (const char* reason : kDropReasonNames) row.push_back(field(d, reason));
      row.push_back(field(d, "learn_full"));
      drops.push_back(std::move(row));
    }
    // The PMDs' port counters, the drops, reconnects, guest notifications.
    std::vector<std::string> heads{"PORT", "LINK"};
    for (unsigned c = 0; c < kNumPmdPortCounters; ++c) {
      heads.emplace_back(column(static_cast<PortCounter>(c)));
    }
    heads.insert(heads.end(), {"DROPS", "RECONNECTS", column(kGuestNotifications)});
    out += formatTable(heads, "ll" + std::string(heads.size() - 2, 'r'), rows);
    out += "\ndrops by reason (packets):\n";
    std::vector<std::string> drop_heads{"PORT"};
    for (unsigned r = 0; r < kNumDropReasons; ++r) drop_heads.push_back(dropReasonColumn(r));
    drop_heads.emplace_back("LEARN_FULL*");
    out += formatTable(drop_heads, "l" + std::string(drop_heads.size() - 1, 'r'), drops);
    out += "* not a drop: the source MAC was not learned (table full), the frame was forwarded\n";
  } else {
    out += "no ports\n";
  }
  const json& mp = member(r, "mempool");
  if (mp.is_object()) {
    out += "\nmempool: " + field(mp, "in_use") + " of " + field(mp, "size") + " mbufs in use\n";
  }
  return out;
}

// ---- latency: nanoseconds in the results, microseconds for people ----

// Microseconds with three significant digits at least: 0.35, 2.84, 28.4, 284, 28374.
std::string micros(double ns) {
  const double us = ns / 1000.0;
  char buf[32];
  std::snprintf(buf, sizeof(buf), us < 10 ? "%.2f" : us < 100 ? "%.1f" : "%.0f", us);
  return buf;
}

std::string microsField(const json& o, const char* key) {
  const json& v = member(o, key);
  return v.is_number() ? micros(v.get<double>()) : field(o, key);
}

const char* const kSummaryHeaders[] = {"COUNT", "MEAN",  "P50",    "P90",
                                       "P99",   "P99.9", "P99.99", "MAX"};

// COUNT MEAN P50 P90 P99 P99.9 P99.99 MAX of a LatencySummary; only dashes when it is empty.
std::vector<std::string> summaryCells(const json& s) {
  std::vector<std::string> cells{field(s, "count")};
  const bool empty = member(s, "count") == json(0);
  for (const char* key :
       {"mean_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "p9999_ns", "max_ns"}) {
    cells.push_back(empty ? "-" : microsField(s, key));
  }
  return cells;
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::string> withSummaryHeaders(std::vector<std::string> first) {
  return concat(std::move(first),
                std::vector<std::string>(std::begin(kSummaryHeaders), std::end(kSummaryHeaders)));
}

// Non-empty buckets as a table: upper bound, count, cumulative share and a bar scaled to the
// fullest bucket.
std::string formatBuckets(const json& buckets) {
  if (!buckets.is_array() || buckets.empty()) return "    no samples\n";
  uint64_t total = 0, fullest = 0;
  for (const auto& b : buckets) {
    const json& c = member(b, "count");
    const uint64_t n = c.is_number_unsigned() || c.is_number_integer() ? c.get<uint64_t>() : 0;
    total += n;
    fullest = std::max(fullest, n);
  }
  constexpr size_t kBarWidth = 40;
  std::vector<std::vector<std::string>> rows;
  uint64_t below = 0;
  for (const auto& b : buckets) {
    const json& c = member(b, "count");
    const uint64_t n = c.is_number_unsigned() || c.is_number_integer() ? c.get<uint64_t>() : 0;
    below += n;
    char pct[16] = "-";
    if (total > 0) std::snprintf(pct, sizeof(pct), "%.2f %%", 100.0 * below / total);
    size_t bar = fullest > 0 ? (n * kBarWidth + fullest - 1) / fullest : 0;
    rows.push_back({microsField(b, "le_ns"), field(b, "count"), pct, std::string(bar, '#')});
  }
  return formatTable({"<= US", "COUNT", "CUMULATIVE", ""}, "rrrl", rows, "    ");
}

std::string formatLatencyShow(const json& r) {
  const json& ports = member(r, "ports");
  if (!ports.is_array() || ports.empty()) return "no ports\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : ports) {
    const json& budget = member(p, "latency_budget_us");
    const bool none = budget == json(0);
    rows.push_back(concat({field(p, "name"), "ingress"}, summaryCells(member(p, "ingress"))));
    rows.back().insert(rows.back().end(), {"", ""});
    rows.push_back(concat({"", "egress"}, summaryCells(member(p, "egress"))));
    rows.back().insert(rows.back().end(), {none ? "none" : field(p, "latency_budget_us"),
                                           none ? "-" : field(p, key(kOverBudget))});
  }
  std::string out =
      formatTable(concat(withSummaryHeaders({"PORT", "DIR"}), {"BUDGET", column(kOverBudget)}),
                  "llrrrrrrrrrr", rows);
  out +=
      "times in µs: residence from the rx burst to the hand-off to the egress port, by ingress and "
      "egress port;\nthe budget (µs) applies on egress, OVER-BUDGET counts the packets above it\n";
  for (const auto& p : ports) {
    for (const char* dir : {"ingress", "egress"}) {
      const std::string key = std::string(dir) + "_buckets";
      if (!p.is_object() || !p.contains(key)) continue;
      out += "\n" + field(p, "name") + " " + dir + " histogram (" + field(member(p, dir), "count") +
             " packets):\n";
      out += formatBuckets(member(p, key.c_str()));
    }
  }
  return out;
}

std::string formatPmdPerf(const json& r) {
  const json& pmds = member(r, "pmds");
  if (!pmds.is_array() || pmds.empty()) return "no PMD threads\n";
  std::vector<std::vector<std::string>> threads, times;
  for (const auto& p : pmds) {
    const json& stall = member(p, "longest_stall_ns");
    threads.push_back(
        {field(p, "id"), field(p, "core"), field(p, "sched"), field(p, key(kIterations)),
         fixed1(p, "busy_pct", "%"),
         stall.is_number() ? micros(stall.get<double>()) : field(p, "longest_stall_ns"),
         field(p, "longest_stall_at")});
    times.push_back(concat({field(p, "id"), "iteration"}, summaryCells(member(p, "iteration"))));
    times.push_back(concat({field(p, "id"), "poll gap"}, summaryCells(member(p, "poll_gap"))));
  }
  std::string out = formatTable(
      {"PMD", "CORE", "SCHED", column(kIterations), "BUSY", "LONGEST-STALL", "STALL-AT"}, "rrlrrrl",
      threads);
  out += "\n";
  out += formatTable(withSummaryHeaders({"PMD", "TIME"}), "rlrrrrrrrr", times);
  out +=
      "times in µs; iteration: one pass of the poll loop; poll gap: between two polls of the same "
      "rx queue;\nlongest stall: the longest poll gap since start\n";
  if (const json& hz = member(r, "tsc_hz"); hz.is_number()) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "TSC %.3f GHz\n", hz.get<double>() / 1e9);
    out += buf;
  }
  return out;
}

std::string formatXstats(const json& r) {
  const json& xs = member(r, "xstats");
  if (!xs.is_array() || xs.empty()) return "no extended statistics\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& x : xs) rows.push_back({field(x, "name"), field(x, "value")});
  return formatTable({"XSTAT", "VALUE"}, "lr", rows);
}

std::string formatCleared(const char* what, const json& r) {
  const json& names = member(r, "cleared");
  if (!names.is_array() || names.empty()) return std::string("no ports: no ") + what + " cleared\n";
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + text(n);
  return std::string("cleared ") + what + " of " + list + "\n";
}

std::string formatListCommands(const json& r) {
  const json& cmds = member(r, "commands");
  if (!cmds.is_array() || cmds.empty()) return "no commands\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : cmds) {
    std::string params = text(member(c, "params"));
    rows.push_back({field(c, "method"), field(c, "role"),
                    params.empty() || params == "-" ? "-" : params, field(c, "help")});
  }
  return formatTable({"METHOD", "ROLE", "PARAMS", "HELP"}, "llll", rows);
}

std::string formatVersion(const json& r) {
  const json& d = member(r, "rtvswitch");
  return "vswitchctl " + field(r, "vswitchctl") + "\nrtvswitch " + field(d, "version") + " (" +
         field(d, "dpdk") + ")\n";
}

bool isScalar(const json& v) { return !v.is_object() && !v.is_array(); }

void tree(const json& v, const std::string& pad, std::string& out) {
  if (v.is_object()) {
    size_t width = 0;
    for (const auto& [k, x] : v.items()) {
      if (isScalar(x)) width = std::max(width, k.size());
    }
    for (const auto& [k, x] : v.items()) {
      if (isScalar(x)) {
        out += pad + k + ": " + std::string(width - k.size(), ' ') + text(x) + "\n";
      } else if (x.empty()) {
        out += pad + k + ": " + (x.is_object() ? "{}" : "[]") + "\n";
      } else {
        out += pad + k + ":\n";
        tree(x, pad + "  ", out);
      }
    }
  } else if (v.is_array()) {
    for (const auto& x : v) {
      bool flat = isScalar(x) || (x.is_object() && std::all_of(x.begin(), x.end(), isScalar));
      if (isScalar(x)) {
        out += pad + "- " + text(x) + "\n";
      } else if (flat) {
        std::string line;
        for (const auto& [k, y] : x.items())
          line += (line.empty() ? "" : ", ") + k + ": " + text(y);
        out += pad + "- " + (line.empty() ? "{}" : line) + "\n";
      } else {
        out += pad + "-\n";
        tree(x, pad + "  ", out);
      }
    }
  } else {
    out += pad + text(v) + "\n";
  }
}

// key=value tokens → {"options": {...}, "external_ids": {...}}; tokens "external-ids:KEY=VALUE"
// go to external_ids (with `removable`, an empty VALUE removes the key: null).
json optionParams(const std::vector<std::string>& tokens, bool removable) {
  PortOptions kv;
  try {
    kv = parseKeyValues(tokens);
  } catch (const ConfigError& e) {
    throw CLI::ValidationError(e.what());
  }
  json options = json::object();
  json ids = json::object();
  static const std::string kIds = "external-ids:";
  for (const auto& [k, v] : kv) {
    if (k.starts_with(kIds)) {
      const std::string id = k.substr(kIds.size());
      if (id.empty()) throw CLI::ValidationError("'" + k + "': missing key after external-ids:");
      if (ids.contains(id)) throw CLI::ValidationError("external id '" + id + "' given twice");
      ids[id] = v.empty() && removable ? json(nullptr) : json(v);
      continue;
    }
    if (options.contains(k)) throw CLI::ValidationError("option '" + k + "' given twice");
    options[k] = v;
  }
  json params{{"options", options}};
  if (!ids.empty()) params["external_ids"] = ids;
  return params;
}

// CLI11 reports an unknown or missing verb as "A subcommand is required"; this names it instead.
// Walks the tokens down the subcommand tree; empty if the verbs are fine.
std::string unknownVerb(CLI::App& app, const std::vector<std::string>& args) {
  CLI::App* level = &app;
  std::string path;
  auto names = [](CLI::App* a) {
    std::string list;
    for (CLI::App* sub : a->get_subcommands([](CLI::App*) { return true; })) {
      list += (list.empty() ? "" : ", ") + sub->get_name();
    }
    return list;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& tok = args[i];
    if (tok == "--") break;
    if (tok.starts_with("-")) {
      // Options that take a separate value: skip the value too.
      if (tok == "--socket" || tok == "--timeout") {
        if (i + 1 == args.size()) return {};  // CLI11 names the missing value
        ++i;
      }
      continue;
    }
    if (level->get_require_subcommand_min() == 0) return {};  // a positional of the verb
    CLI::App* next = nullptr;
    for (CLI::App* sub : level->get_subcommands([](CLI::App*) { return true; })) {
      if (sub->get_name() == tok) next = sub;
    }
    if (next == nullptr) {
      return "unknown command '" + (path.empty() ? tok : path + " " + tok) + "' (commands" +
             (path.empty() ? "" : " of '" + path + "'") + ": " + names(level) + ")";
    }
    path += (path.empty() ? "" : " ") + tok;
    level = next;
  }
  if (level->get_require_subcommand_min() > 0) {
    return (path.empty() ? std::string("a command is needed") : "'" + path + "' needs a command") +
           ": " + names(level);
  }
  return {};
}

}  // namespace

std::string formatTree(const json& result) {
  std::string out;
  tree(result, "", out);
  return out;
}

std::string formatTable(const std::vector<std::string>& headers, const std::string& align,
                        const std::vector<std::vector<std::string>>& rows,
                        const std::string& indent) {
  std::vector<size_t> width(headers.size());
  for (size_t c = 0; c < headers.size(); ++c) width[c] = headers[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s = indent;
    for (size_t c = 0; c < width.size(); ++c) {
      const std::string& cell = c < cells.size() ? cells[c] : std::string();
      const std::string gap(width[c] - std::min(width[c], cell.size()), ' ');
      const bool right = c < align.size() && align[c] == 'r';
      const bool last = c + 1 == width.size();
      s += right ? gap + cell : cell + (last ? "" : gap);
      if (!last) s += "  ";
    }
    s.erase(s.find_last_not_of(' ') + 1);  // empty trailing cells leave no spaces behind
    return s + "\n";
  };
  std::string out = line(headers);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string formatResult(const std::string& verb, const json& result) {
  if (verb == "port list") return formatPortList(result);
  if (verb == "port show" || verb == "port add" || verb == "port set")
    return formatPortShow(result);
  if (verb == "port del") {
    return member(result, "deleted") == json(false)
               ? "no port " + field(result, "name") + ": nothing deleted\n"
               : "deleted port " + field(result, "name") + "\n";
  }
  if (verb == "fdb show") return formatFdb(result);
  if (verb == "fdb flush") return "flushed " + field(result, "flushed") + " entries\n";
  if (verb == "pmd show") return formatPmdShow(result);
  if (verb == "stats") return formatStats(result);
  if (verb == "list-commands") return formatListCommands(result);
  if (verb == "version") return formatVersion(result);
  if (verb == "latency show") return formatLatencyShow(result);
  if (verb == "latency clear") return formatCleared("latency", result);
  if (verb == "pmd perf") return formatPmdPerf(result);
  if (verb == "port xstats") return formatXstats(result);
  if (verb == "log level") {
    return "log level " + field(result, "level") + " (DPDK " + field(result, "dpdk") + ")\n";
  }
  return formatTree(result);
}

namespace {

std::function<std::vector<CtlCall>()> noParams(const char* method) {
  return [method] { return std::vector<CtlCall>{{method, nullptr}}; };
}

}  // namespace

CtlCli::CtlCli(CLI::App& app) : app_(app) {
  globals_.socket = kDefaultControlSocket;
  addGlobalOptions();
  addPortVerbs();
  addReadVerbs();
  addAdminVerbs();
}

void CtlCli::setVerb(CLI::App* sub, std::string verb,
                     std::function<std::vector<CtlCall>()> make_calls) {
  sub->callback([this, verb = std::move(verb), make_calls = std::move(make_calls)] {
    command_ = CtlCommand{verb, make_calls()};
  });
}

void CtlCli::addGlobalOptions() {
  CLI::App& app = app_;
  app.require_subcommand(1);
  app.fallthrough();  // global options also after the verb: `vswitchctl port list --json`
  app.add_option("--socket", globals_.socket, "Control socket of rtvswitch")
      ->envname("RTVSWITCH_SOCKET")
      ->capture_default_str();
  app.add_flag("--json", globals_.json, "Print the raw result as JSON");
  app.add_option("--timeout", globals_.timeout_s, "Seconds to wait for the daemon")
      ->check([](const std::string& v) -> std::string {
        char* end = nullptr;
        double d = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(d > 0) || d > 86400) {
          return "'" + v + "' is not a number of seconds in (0, 86400]";
        }
        return {};
      })
      ->capture_default_str();
}

void CtlCli::addPortVerbs() {
  CLI::App* port = app_.add_subcommand("port", "Add, remove and inspect ports");
  port->require_subcommand(1);
  CLI::App* add = port->add_subcommand(
      "add", "Add a port: port add [--may-exist] NAME key=value... [external-ids:KEY=VALUE...]");
  add->add_flag("--may-exist", may_exist_,
                "Succeed without change if the port exists with this spec (a different one is an "
                "error)");
  add->add_option("NAME", name_, "Port name")->required();
  add->add_option("OPTIONS", options_,
                  "Port options, e.g. type=vhostuserclient path=/run/vm1.sock queues=1 "
                  "external-ids:iface-id=UUID");
  setVerb(add, "port add", [this] {
    json params = optionParams(options_, false);
    params["name"] = name_;
    if (may_exist_) params["may_exist"] = true;
    return std::vector<CtlCall>{{"port.add", params}};
  });
  CLI::App* del = port->add_subcommand("del", "Remove a port: port del [--if-exists] NAME");
  del->add_flag("--if-exists", if_exists_, "Succeed if there is no such port");
  del->add_option("NAME", name_, "Port name")->required();
  setVerb(del, "port del", [this] {
    json params{{"name", name_}};
    if (if_exists_) params["if_exists"] = true;
    return std::vector<CtlCall>{{"port.del", params}};
  });
  CLI::App* pset = port->add_subcommand(
      "set",
      "Change a running port: port set NAME key=value... [external-ids:KEY=VALUE...] "
      "[external-ids:KEY=] (empty value: remove)");
  pset->add_option("NAME", name_, "Port name")->required();
  pset->add_option("OPTIONS", options_,
                   "Settable options (mtu, latency-budget-us, tx-retry-us) and ids")
      ->required();
  setVerb(pset, "port set", [this] {
    json params = optionParams(options_, true);
    params["name"] = name_;
    return std::vector<CtlCall>{{"port.set", params}};
  });
  CLI::App* list = port->add_subcommand("list", "All ports: port list [--external-id KEY=VALUE]");
  list->add_option("--external-id", filters_, "Only ports with this external id (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  setVerb(list, "port list", [this] {
    if (filters_.empty()) return std::vector<CtlCall>{{"port.list", nullptr}};
    json ids = json::object();
    for (const std::string& f : filters_) {
      const size_t eq = f.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw CLI::ValidationError("--external-id: expected KEY=VALUE, got '" + f + "'");
      }
      ids[f.substr(0, eq)] = f.substr(eq + 1);
    }
    return std::vector<CtlCall>{{"port.list", {{"external_ids", ids}}}};
  });
  CLI::App* show = port->add_subcommand("show", "One port in detail");
  show->add_option("NAME", name_, "Port name")->required();
  setVerb(show, "port show", [this] {
    return std::vector<CtlCall>{{"port.show", {{"name", name_}}}};
  });

  CLI::App* xstats = port->add_subcommand("xstats", "The port's DPDK extended statistics");
  xstats->add_option("NAME", name_, "Port name")->required();
  setVerb(xstats, "port xstats", [this] {
    return std::vector<CtlCall>{{"port.xstats", {{"name", name_}}}};
  });
}

void CtlCli::addReadVerbs() {
  CLI::App& app = app_;
  CLI::App* fdb = app.add_subcommand("fdb", "The learned MAC table");
  fdb->require_subcommand(1);
  CLI::App* fdb_show = fdb->add_subcommand("show", "Learned MAC addresses");
  fdb_show->add_option("PORT", port_, "Only those learned on this port");
  fdb_show->add_option("--vlan", vlan_, "Only those of this VLAN (0: untagged)")
      ->check(CLI::Range(0, 4094));
  setVerb(fdb_show, "fdb show", [this] {
    json params = optionalPort(port_);
    if (vlan_ >= 0) params["vlan"] = vlan_;
    return std::vector<CtlCall>{{"fdb.show", params}};
  });
  CLI::App* fdb_flush = fdb->add_subcommand("flush", "Forget learned MAC addresses");
  fdb_flush->add_option("PORT", port_, "Only those learned on this port");
  setVerb(fdb_flush, "fdb flush", [this] {
    return std::vector<CtlCall>{{"fdb.flush", optionalPort(port_)}};
  });

  CLI::App* pmd = app.add_subcommand("pmd", "PMD threads");
  pmd->require_subcommand(1);
  setVerb(pmd->add_subcommand("show", "PMD threads, their rx queues and busy share"), "pmd show",
          noParams("pmd.show"));
  setVerb(pmd->add_subcommand("perf", "PMD iteration timing"), "pmd perf", noParams("pmd.perf"));

  CLI::App* stats = app.add_subcommand("stats", "Port counters and drops by reason");
  stats->add_option("PORT", port_, "Only this port");
  stats->add_flag("--clear", clear_, "Zero the counters first (a reader-side baseline)");
  setVerb(stats, "stats", [this] {
    std::vector<CtlCall> calls;
    if (clear_) calls.push_back({"stats.clear", optionalPort(port_)});
    calls.push_back({"stats.show", optionalPort(port_)});
    return calls;
  });

  CLI::App* latency = app.add_subcommand("latency", "Per-port residence time");
  latency->require_subcommand(1);
  CLI::App* lat_show = latency->add_subcommand("show", "Latency percentiles");
  lat_show->add_option("PORT", port_, "Only this port");
  lat_show->add_flag("--histogram", histogram_, "Include the histogram buckets");
  setVerb(lat_show, "latency show", [this] {
    json params = optionalPort(port_);
    if (histogram_) params["histogram"] = true;
    return std::vector<CtlCall>{{"latency.show", params}};
  });
  CLI::App* lat_clear = latency->add_subcommand("clear", "Restart latency accounting");
  lat_clear->add_option("PORT", port_, "Only this port");
  setVerb(lat_clear, "latency clear", [this] {
    return std::vector<CtlCall>{{"latency.clear", optionalPort(port_)}};
  });
}

void CtlCli::addAdminVerbs() {
  CLI::App& app = app_;
  CLI::App* control = app.add_subcommand("control", "The control socket's access policy");
  control->require_subcommand(1);
  setVerb(control->add_subcommand("show", "Your role, the rate limit, device and socket policy"),
          "control show", noParams("control.show"));

  CLI::App* log = app.add_subcommand("log", "The daemon's log");
  log->require_subcommand(1);
  CLI::App* log_level = log->add_subcommand(
      "level", "Show the log level, or set it (the daemon's and DPDK's): log level [LEVEL]");
  log_level->add_option("LEVEL", level_, "trace, debug, info, warn, error, critical or off");
  setVerb(log_level, "log level", [this] {
    if (level_.empty()) return std::vector<CtlCall>{{"log.show", nullptr}};
    try {
      parseLogLevel(level_, "LEVEL");
    } catch (const ConfigError& e) {
      throw CLI::ValidationError(e.what());
    }
    return std::vector<CtlCall>{{"log.set", {{"level", level_}}}};
  });

  setVerb(app.add_subcommand("version", "vswitchctl's and the daemon's versions"), "version",
          noParams("version"));
  setVerb(app.add_subcommand("list-commands", "The daemon's methods with their parameters"),
          "list-commands", noParams("list-commands"));
}

int CtlCli::run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  return run(std::vector<std::string>(argv + std::min(argc, 1), argv + argc), out, err);
}

int CtlCli::run(std::vector<std::string> args, std::ostream& out, std::ostream& err) {
  if (auto rc = parse(std::move(args), out, err)) return *rc;
  return execute(out, err);
}

std::optional<int> CtlCli::parse(std::vector<std::string> args, std::ostream& out,
                                 std::ostream& err) {
  const std::vector<std::string> given = args;
  std::reverse(args.begin(), args.end());  // CLI11 consumes a vector given in reverse order
  try {
    app_.parse(args);
  } catch (const CLI::Success& e) {  // --help
    return app_.exit(e, out, err);
  } catch (const CLI::RuntimeError& e) {  // a local command (e.g. host check) finished
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    std::string verb_error = unknownVerb(app_, given);
    err << "vswitchctl: " << (verb_error.empty() ? e.what() : verb_error) << "\n";
    return ctl_exit::kUsage;
  }
  if (command_.calls.empty()) return ctl_exit::kOk;
  return std::nullopt;
}

int CtlCli::execute(std::ostream& out, std::ostream& err) const {
  try {
    RpcClient client(
        globals_.socket,
        std::chrono::milliseconds(static_cast<int64_t>(std::ceil(globals_.timeout_s * 1000.0))));
    json result;
    for (const auto& c : command_.calls) result = client.call(c.method, c.params);
    if (command_.verb == "version")
      result = json{{"vswitchctl", RTVS_VERSION}, {"rtvswitch", result}};
    out << (globals_.json ? result.dump(2, ' ', false, json::error_handler_t::replace) + "\n"
                          : formatResult(command_.verb, result));
    out.flush();
    return ctl_exit::kOk;
  } catch (const RpcTransportError& e) {
    err << "vswitchctl: " << e.what() << "\n";
    return ctl_exit::kUnreachable;
  } catch (const RpcError& e) {
    err << "vswitchctl: " << e.what() << "\n";
    return ctl_exit::kDaemonError;
  } catch (const std::exception& e) {
    err << "vswitchctl: unexpected reply from rtvswitch: " << e.what() << "\n";
    return ctl_exit::kDaemonError;
  }
}

}  // namespace rtvs
