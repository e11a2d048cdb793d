// Prometheus metrics of the switch, rendered on the control thread (it owns the port table).
#include <rte_ethdev.h>
#include <rte_version.h>

#include "switch/core/counter_metrics.h"
#include "switch/core/metrics.h"
#include "switch/daemon/dpdk_log.h"
#include "switch/daemon/switch.h"

namespace rtvs {

namespace {

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

}  // namespace

std::string Switch::renderMetrics() const {
  std::vector<MetricFamily> port = counterFamilies(kPortCounterInfo);
  auto drops = family("rtvswitch_port_dropped_packets_total", "Frames dropped, by reason.",
                      MetricType::kCounter);
  auto link =
      family("rtvswitch_port_link_up", "1 when the port's link is up, else 0.", MetricType::kGauge);
  auto reconnects =
      family("rtvswitch_port_link_reconnects_total",
             "Times the port's link came up again after going down.", MetricType::kCounter);
  auto residence = family("rtvswitch_port_residence_time_seconds",
                          "Time from the rx burst to handing the frame to the egress port, by "
                          "port and direction.",
                          MetricType::kHistogram);
  auto info = family("rtvswitch_port_info",
                     "Always 1: the port's external ids as labels (iface-id as iface_id), to join "
                     "its metrics to a VM or pod.",
                     MetricType::kGauge);
  for (const auto& [name, p] : ports_) {
    info.samples.push_back({portInfoLabels(name, p->external_ids), 1.0});
    const PortTotals t = current(*p);
    const MetricLabels l = {{"port", name}};
    addCounterSamples(port, l, t.n);
    for (unsigned r = 0; r < kNumDropReasons; ++r) {
      drops.samples.push_back(
          {{{"port", name}, {"reason", kDropReasonNames[r]}}, static_cast<double>(t.drops[r])});
    }
    link.samples.push_back({l, p->link_up ? 1.0 : 0.0});
    reconnects.samples.push_back({l, static_cast<double>(p->reconnects)});
    HistogramSnapshot in, out;
    stats_.latencySince(p->dp->index, in, out);
    residence.histograms.push_back({{{"port", name}, {"direction", "ingress"}}, in, tsc_hz_});
    residence.histograms.push_back({{{"port", name}, {"direction", "egress"}}, out, tsc_hz_});
  }

  std::vector<MetricFamily> pmd_counters = counterFamilies(kPmdCounterInfo);
  auto iter = family("rtvswitch_pmd_iteration_time_seconds", "Wall time of one PMD loop iteration.",
                     MetricType::kHistogram);
  auto gap = family("rtvswitch_pmd_poll_gap_seconds",
                    "Time between two polls of the same rx queue.", MetricType::kHistogram);
  const double hz = static_cast<double>(tsc_hz_);
  for (const auto& pmd : pmds_) {
    const PmdStats& s = pmd->stats();
    const MetricLabels l = {{"pmd", std::to_string(pmd->id())},
                            {"core", std::to_string(pmd->core())}};
    uint64_t counters[kNumPmdCounters];
    for (unsigned c = 0; c < kNumPmdCounters; ++c) counters[c] = (s.*kPmdCounterField[c]).get();
    addCounterSamples(pmd_counters, l, counters, hz);
    HistogramSnapshot hi, hg;
    s.iteration.addTo(hi);
    s.poll_gap.addTo(hg);
    iter.histograms.push_back({l, hi, tsc_hz_});
    gap.histograms.push_back({l, hg, tsc_hz_});
  }

  auto fdb = family("rtvswitch_fdb_learned_mac_entries", "MAC addresses in the table.",
                    MetricType::kGauge);
  fdb.samples.push_back({{}, static_cast<double>(macs_.size())});
  auto fdb_failed =
      family("rtvswitch_fdb_learn_failed_total",
             "Source MACs not learned because the table was full.", MetricType::kCounter);
  fdb_failed.samples.push_back({{}, static_cast<double>(learn_failed_)});
  auto fdb_collisions =
      family("rtvswitch_fdb_learn_collisions_total",
             "Source MACs not learned because no slot near their hash was free (of learn_failed).",
             MetricType::kCounter);
  fdb_collisions.samples.push_back({{}, static_cast<double>(macs_.probeRefusals())});
  auto mbufs = family("rtvswitch_mempool_in_use_mbufs", "Mbufs of the packet pool in use.",
                      MetricType::kGauge);
  mbufs.samples.push_back({{}, static_cast<double>(mempoolInUse())});
  auto degraded = family("rtvswitch_realtime_degraded_bool",
                         "1 when the switch runs without a real-time precondition "
                         "(--allow-degraded); reasons in rtvswitch_realtime_degraded_reason_info.",
                         MetricType::kGauge);
  degraded.samples.push_back({{}, degraded_.empty() ? 0.0 : 1.0});
  auto degraded_reason = family("rtvswitch_realtime_degraded_reason_info",
                                "A real-time precondition not met, by id (sched-fifo, "
                                "rt-throttling, fair-server, isolcpus, mlockall).",
                                MetricType::kGauge);
  for (const std::string& r : degraded_) {
    const std::string id = r.substr(0, r.find(':'));
    bool seen = false;
    for (const auto& s : degraded_reason.samples) seen = seen || s.labels[0].second == id;
    if (!seen) degraded_reason.samples.push_back({{{"reason", id}}, 1.0});
  }
  auto log_lines =
      family("rtvswitch_dpdk_log_lines_total", "DPDK log lines passed to the control thread's log.",
             MetricType::kCounter);
  log_lines.samples.push_back({{}, dpdk_log_ ? static_cast<double>(dpdk_log_->lines()) : 0.0});
  auto log_dropped =
      family("rtvswitch_dpdk_log_dropped_total",
             "DPDK log lines dropped because the log ring was full.", MetricType::kCounter);
  log_dropped.samples.push_back({{}, dpdk_log_ ? static_cast<double>(dpdk_log_->dropped()) : 0.0});

  auto build = family("rtvswitch_build_info", "The daemon's version and DPDK's; value 1.",
                      MetricType::kGauge);
  build.samples.push_back({{{"version", RTVS_VERSION}, {"dpdk", rte_version()}}, 1.0});

  // Each counter list's families in list order, with the others placed among them as ever.
  std::vector<MetricFamily> all{build, info};
  appendFamilies(all, port, 0, kOverBudget);  // rx_packets .. guest_notifications
  all.push_back(std::move(drops));
  appendFamilies(all, port, kOverBudget, kNumPortCounters);
  all.insert(all.end(), {link, reconnects, residence});
  appendFamilies(all, pmd_counters, 0, kLongestGap);  // busy, idle
  all.insert(all.end(), {iter, gap});
  appendFamilies(all, pmd_counters, kLongestGap, kNumPmdCounters);  // longest stall
  all.insert(all.end(), {fdb, fdb_failed, fdb_collisions, mbufs, log_lines, log_dropped, degraded,
                         degraded_reason});
  return renderPrometheus(all);
}

}  // namespace rtvs
