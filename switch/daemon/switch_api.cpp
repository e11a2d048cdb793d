// The switch's JSON-RPC methods (docs/api.md): views of the control thread's state.
#include <rte_ethdev.h>
#include <rte_version.h>

#include <algorithm>

#include "switch/daemon/dpdk_log.h"
#include "switch/daemon/switch.h"
#include "switch/protocol/counters_json.h"

namespace rtvs {

using nlohmann::json;

namespace {

double pct(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

std::string optString(const json& params, const char* key) {
  if (!params.is_object() || !params.contains(key) || params.at(key).is_null()) return {};
  if (!params.at(key).is_string()) {
    throw RpcError(rpc_code::kInvalidParams,
                   std::string("parameter ") + key + ": must be a string");
  }
  return params.at(key).get<std::string>();
}

bool optBool(const json& params, const char* key) {
  if (!params.is_object() || !params.contains(key)) return false;
  if (!params.at(key).is_boolean()) {
    throw RpcError(rpc_code::kInvalidParams,
                   std::string("parameter ") + key + ": must be a boolean");
  }
  return params.at(key).get<bool>();
}

}  // namespace

std::vector<Switch::PortRec*> Switch::selectPorts(const json& params) {
  std::vector<PortRec*> out;
  const std::string name = optString(params, "port");
  if (!name.empty()) {
    out.push_back(&findPort(name));
  } else {
    for (auto& [n, p] : ports_) out.push_back(p.get());
  }
  return out;
}

json Switch::portSummary(const PortRec& p) const {
  const PortTotals t = current(p);
  return {{"name", p.spec.name},
          {"index", p.dp->index},
          {"type", std::string(portTypeName(p.spec.type))},
          {"state", p.link_up ? "up" : "down"},
          {"path", p.spec.path},
          {"devargs", p.spec.devargs},
          {"queues", p.spec.queues},
          {"mtu", p.spec.mtu},
          {kPortCounterInfo[kRxPackets].key, t[kRxPackets]},
          {kPortCounterInfo[kTxPackets].key, t[kTxPackets]},
          {"drops", t.dropSum()},
          {"external_ids", json(p.external_ids)}};
}

json Switch::portStats(const PortRec& p) const {
  const PortTotals t = current(p);
  json drops = json::object();
  for (unsigned r = 0; r < kNumDropReasons; ++r) drops[kDropReasonNames[r]] = t.drops[r];
  drops["learn_full"] = p.learn_full;
  drops["learn_limited"] = p.learn_limited;
  json o = {{"name", p.spec.name},
            {"drops", drops},
            {"link", p.link_up ? "up" : "down"},
            {"reconnects", p.reconnects}};
  portCountersJson(t, o);
  return o;
}

json Switch::portObject(const PortRec& p) const {
  json o = portSummary(p);
  json opts = json::object();
  for (const auto& [k, v] : toOptions(p.spec)) opts[k] = v;
  o["options"] = opts;
  o["reconnects"] = p.reconnects;
  json rxqs = json::array();
  for (size_t q = 0; q < p.rxq_pmd.size(); ++q) {
    rxqs.push_back({{"queue", q}, {"pmd", p.rxq_pmd[q]}, {"core", cfg_.pmd_cores[p.rxq_pmd[q]]}});
  }
  o["rxqs"] = rxqs;
  o["numa"] = p.numa >= 0 ? json(p.numa) : json();  // device or guest memory node
  // Native vhost ports have no ethdev.
  o["ethdev"] = p.vhost ? json(nullptr) : json(p.dp->port_id);
  o["stats"] = portStats(p);
  return o;
}

// The switch's own counters of a native vhost port, then the vhost library's per-virtqueue
// counters while a guest is connected (they restart with each connection).
json Switch::vhostXstats(const PortRec& p) const {
  const PortTotals t = current(p);
  json a = json::array({{{"name", "rx_good_packets"}, {"value", t[kRxPackets]}},
                        {{"name", "rx_good_bytes"}, {"value", t[kRxBytes]}},
                        {{"name", "tx_good_packets"}, {"value", t[kTxPackets]}},
                        {{"name", "tx_good_bytes"}, {"value", t[kTxBytes]}}});
  for (const auto& [n, v] : vhostVringStats(p)) a.push_back({{"name", n}, {"value", v}});
  return json{{"name", p.spec.name}, {"ethdev", nullptr}, {"xstats", a}};
}

json Switch::portLatency(const PortRec& p, bool buckets) const {
  HistogramSnapshot in, out;
  stats_.latencySince(p.dp->index, in, out);
  const LatencySummary si = summarize(in, tsc_hz_);
  const LatencySummary so = summarize(out, tsc_hz_);
  json o = {{"name", p.spec.name},
            {"ingress", json(si)},
            {"egress", json(so)},
            {"latency_budget_us", p.spec.latency_budget_us},
            {kPortCounterInfo[kOverBudget].key, current(p)[kOverBudget]}};
  if (buckets) {
    o["ingress_buckets"] = bucketsToJson(in, tsc_hz_);
    o["egress_buckets"] = bucketsToJson(out, tsc_hz_);
  }
  return o;
}

json Switch::pmdObject(const Pmd& pmd) const {
  const PmdStats& s = pmd.stats();
  const unsigned id = pmd.id();
  const uint64_t busy = stats_.busyCycles(pmd);
  const uint64_t idle = stats_.idleCycles(pmd);
  const uint64_t rx = stats_.rxPackets(pmd);
  // Cycles per packet count only the non-empty polls, from rx burst to the end of its tx
  // bursts (as testpmd's --record-core-cycles): what forwarding costs, without idle polling.
  const uint64_t rxq_busy = stats_.rxqBusyCycles(pmd);
  json rxqs = json::array();
  bool isolated = false;
  for (const RxqRef& q : snapshot_.load(std::memory_order_acquire)->rxqs[id]) {
    const uint64_t qb = stats_.rxqBusyCycles(pmd, q.port->index, q.queue);
    const PortRec* rec = by_index_[q.port->index];
    const bool pinned =
        rec != nullptr && std::any_of(rec->spec.rxq_affinity.begin(), rec->spec.rxq_affinity.end(),
                                      [&](const auto& a) { return a.first == q.queue; });
    isolated = isolated || pinned;
    rxqs.push_back({{"port", q.port->name},
                    {"queue", q.queue},
                    {"pinned", pinned},
                    {"numa", rec != nullptr && rec->numa >= 0 ? json(rec->numa) : json()},
                    {"busy_pct", pct(qb, busy + idle)}});
  }
  std::string sched = "SCHED_OTHER";
  if (cfg_.pmd_priority > 0 && pmd.priorityError() == 0) {
    sched = "SCHED_FIFO:" + std::to_string(cfg_.pmd_priority);
  }
  uint64_t counters[kNumPmdCounters];
  for (unsigned c = 0; c < kNumPmdCounters; ++c) counters[c] = (s.*kPmdCounterField[c]).get();
  json o = {{"id", id},
            {"core", pmd.core()},
            {"numa", pmd.node()},
            {"sched", sched},
            {"isolated", isolated},
            {"busy_pct", pct(busy, busy + idle)},
            {kPortCounterInfo[kRxPackets].key, rx},
            {"busy_cycles_per_packet", rx ? static_cast<double>(rxq_busy) / rx : 0.0},
            {"rxqs", rxqs}};
  pmdCountersJson(counters, o);
  return o;
}

json Switch::pmdPerf(const Pmd& pmd) const {
  const PmdStats& s = pmd.stats();
  json o = pmdObject(pmd);
  o["iteration"] = json(summarize(stats_.iteration(pmd), tsc_hz_));
  o["poll_gap"] = json(summarize(stats_.pollGap(pmd), tsc_hz_));
  const uint64_t longest = s.longest_gap.get();
  const uint64_t at = s.longest_gap_tsc.get();
  o["longest_stall_ns"] = static_cast<uint64_t>(static_cast<double>(longest) * 1e9 / tsc_hz_);
  if (at != 0) {
    const double when = start_realtime_ + static_cast<double>(at - start_tsc_) / tsc_hz_;
    const time_t secs = static_cast<time_t>(when);
    tm tmv{};
    gmtime_r(&secs, &tmv);
    char buf[40];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    o["longest_stall_at"] = buf;
  } else {
    o["longest_stall_at"] = nullptr;
  }
  return o;
}

void Switch::registerMethods(RpcDispatcher& d) {
  d.add("version", "", "daemon and DPDK versions", [](const json&) {
    return json{{"version", RTVS_VERSION}, {"dpdk", rte_version()}};
  });
  d.add("list-commands", "", "the methods this daemon answers", [&d](const json&) {
    json cmds = json::array();
    for (const auto& m : d.methods()) {
      cmds.push_back(
          {{"method", m.method}, {"params", m.params_help}, {"help", m.help}, {"role", m.role}});
    }
    return json{{"commands", cmds}};
  });
  registerPortMethods(d);
  d.add("port.xstats", "name",
        "the port's extended statistics (DPDK xstats; vhost ports: the vhost library's)",
        [this](const json& params) {
          const std::string name = optString(params, "name");
          if (name.empty()) throw RpcError(rpc_code::kInvalidParams, "missing parameter: name");
          const PortRec& p = findPort(name);
          if (p.vhost) return vhostXstats(p);
          const uint16_t id = p.dp->port_id;
          // The driver's counters, in its order; read on the control thread (a PMD never
          // calls the stats functions).
          const int n = rte_eth_xstats_get_names(id, nullptr, 0);
          std::vector<rte_eth_xstat_name> names(n > 0 ? n : 0);
          std::vector<rte_eth_xstat> values(names.size());
          if (n < 0 || rte_eth_xstats_get_names(id, names.data(), n) != n ||
              rte_eth_xstats_get(id, values.data(), n) != n) {
            throw RpcError(rpc_code::kFailed, "port \"" + name + "\": cannot read xstats");
          }
          json a = json::array();
          for (const rte_eth_xstat& x : values) {
            a.push_back({{"name", names.at(x.id).name}, {"value", x.value}});
          }
          return json{{"name", name}, {"ethdev", id}, {"xstats", a}};
        });
  d.add(
      "fdb.show", "[port] [vlan]", "the learned MAC table (per VLAN)", [this](const json& params) {
        const std::string only = optString(params, "port");
        int only_index = -1;
        if (!only.empty()) only_index = findPort(only).dp->index;
        int only_vlan = -1;
        if (params.is_object() && params.contains("vlan") && !params.at("vlan").is_null()) {
          const json& v = params.at("vlan");
          if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > kMaxVlanId) {
            throw RpcError(rpc_code::kInvalidParams, "parameter vlan: must be an integer 0..4094");
          }
          only_vlan = v.get<int>();
        }
        const uint64_t now = rte_rdtsc();
        json entries = json::array();
        macs_.forEach([&](uint16_t vlan, MacAddr mac, uint16_t port, uint64_t seen) {
          if (only_index >= 0 && port != only_index) return;
          if (only_vlan >= 0 && vlan != only_vlan) return;
          if (port >= kMaxPorts || by_index_[port] == nullptr) return;
          const double age = now > seen ? static_cast<double>(now - seen) / tsc_hz_ : 0.0;
          entries.push_back({{"vlan", vlan},
                             {"mac", macString(mac)},
                             {"port", by_index_[port]->spec.name},
                             {"age_s", age}});
        });
        std::sort(entries.begin(), entries.end(), [](const json& a, const json& b) {
          return std::tie(a["vlan"], a["mac"]) < std::tie(b["vlan"], b["mac"]);
        });
        return json{{"entries", entries},
                    {"count", macs_.size()},
                    {"capacity", macs_.maxEntries()},
                    {"learn_failed", learn_failed_},
                    {"learn_collisions", macs_.probeRefusals()},
                    {kPmdCounterInfo[kLearnRingFull].key,
                     [this] {
                       uint64_t n = 0;
                       for (const auto& p : pmds_) n += p->stats().learn_ring_full.get();
                       return n;
                     }()},
                    {"aging_s", cfg_.mac_aging_s}};
      });
  d.add("fdb.flush", "[port]", "forget learned MACs (of one port)", [this](const json& params) {
    const std::string only = optString(params, "port");
    size_t n = only.empty() ? macs_.flushAll() : macs_.flushPort(findPort(only).dp->index);
    updateMacLimits();
    return json{{"flushed", n}};
  });
  d.add("pmd.show", "", "PMD threads, their rx queues and busy share", [this](const json&) {
    json a = json::array();
    for (const auto& p : pmds_) a.push_back(pmdObject(*p));
    return json{{"pmds", a}, {"degraded", degraded_}};
  });
  d.add("pmd.perf", "", "PMD iteration time, poll gaps, longest stall", [this](const json&) {
    json a = json::array();
    for (const auto& p : pmds_) a.push_back(pmdPerf(*p));
    return json{{"pmds", a}, {"tsc_hz", tsc_hz_}};
  });
  d.add("stats.show", "[port]", "port counters and drops by reason", [this](const json& params) {
    json a = json::array();
    for (PortRec* p : selectPorts(params)) a.push_back(portStats(*p));
    return json{{"ports", a},
                {"mempool", {{"size", mempoolSize()}, {"in_use", mempoolInUse()}}},
                {"dpdk_log",
                 {{"lines", dpdk_log_ ? dpdk_log_->lines() : 0},
                  {"dropped", dpdk_log_ ? dpdk_log_->dropped() : 0}}}};
  });
  d.add("stats.clear", "[port]", "zero port counters (and PMD busy shares)",
        [this](const json& params) {
          json names = json::array();
          const bool all = optString(params, "port").empty();
          for (PortRec* p : selectPorts(params)) {
            stats_.clearPort(p->dp->index, totals(p->dp->index));
            p->learn_full = 0;
            p->learn_limited = 0;
            names.push_back(p->spec.name);
          }
          if (all) {
            for (const auto& p : pmds_) stats_.clearPmd(*p);
          }
          return json{{"cleared", names}};
        });
  d.add("latency.show", "[port] [histogram]", "residence-time percentiles per port",
        [this](const json& params) {
          const bool buckets = optBool(params, "histogram");
          json a = json::array();
          for (PortRec* p : selectPorts(params)) a.push_back(portLatency(*p, buckets));
          return json{{"ports", a}};
        });
  d.add("latency.clear", "[port]", "restart latency accounting", [this](const json& params) {
    json names = json::array();
    const bool all = optString(params, "port").empty();
    for (PortRec* p : selectPorts(params)) {
      stats_.clearLatency(p->dp->index);
      names.push_back(p->spec.name);
    }
    if (all) {
      for (const auto& p : pmds_) stats_.clearPmdLatency(*p);
    }
    return json{{"cleared", names}};
  });
}

}  // namespace rtvs
