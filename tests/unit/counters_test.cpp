// The counter lists of switch/core/counters.h and what comes from them: names, JSON keys, metric
// families and vswitchctl's columns.
#include "switch/core/counters.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

#include "control/ctl_commands.h"
#include "switch/core/counter_metrics.h"
#include "switch/core/metrics.h"
#include "switch/protocol/counters_json.h"

namespace rtvs {
namespace {

using nlohmann::json;

TEST(Counters, NamesAreUnique) {
  std::set<std::string> port_keys, columns, metrics;
  for (const CounterInfo& c : kPortCounterInfo) {
    EXPECT_TRUE(port_keys.insert(c.key).second) << c.key;
    EXPECT_TRUE(columns.insert(c.column).second) << c.column;
    EXPECT_TRUE(metrics.insert(c.metric).second) << c.metric;
    EXPECT_STRNE(c.help, "") << c.key;
  }
  // A port's drops sit beside its counters in the same objects (metrics: their own family).
  for (unsigned r = 0; r < kNumDropReasons; ++r) {
    EXPECT_FALSE(port_keys.count(kDropReasonNames[r])) << kDropReasonNames[r];
    EXPECT_FALSE(columns.count(dropReasonColumn(r))) << kDropReasonNames[r];
  }
  std::set<std::string> pmd_keys, pmd_columns;
  for (const CounterInfo& c : kPmdCounterInfo) {
    if (*c.key) {
      EXPECT_TRUE(pmd_keys.insert(c.key).second) << c.key;
    }
    if (*c.column) {
      EXPECT_TRUE(pmd_columns.insert(c.column).second) << c.column;
    }
    if (*c.metric) {
      EXPECT_TRUE(metrics.insert(c.metric).second) << c.metric;
    }
    EXPECT_STRNE(c.help, "");
  }
  // pmd.show carries the PMD's rx_packets (a port counter summed) beside its own counters.
  EXPECT_FALSE(pmd_keys.count(kPortCounterInfo[kRxPackets].key));
}

TEST(Counters, ListsKeepTheirOrder) {
  // The PMDs' port counters come first (PortCounters' fields), in this order: JSON readers and
  // dashboards do not care, but vswitchctl's columns and the metrics' order do.
  ASSERT_EQ(kNumPmdPortCounters, 6u);
  const char* const port[] = {"rx_packets", "rx_bytes",    "tx_packets",          "tx_bytes",
                              "tx_retries", "tx_deferred", "guest_notifications", "over_budget"};
  ASSERT_EQ(std::size(port), size_t{kNumPortCounters});
  for (unsigned i = 0; i < kNumPortCounters; ++i) EXPECT_STREQ(kPortCounterInfo[i].key, port[i]);
  EXPECT_STREQ(kPmdCounterInfo[kIterations].key, "iterations");
  EXPECT_STREQ(kPmdCounterInfo[kLearnPosted].key, "learn_events");
  EXPECT_STREQ(kPmdCounterInfo[kLearnRingFull].key, "learn_events_dropped");
  EXPECT_STREQ(kPmdCounterInfo[kVlanCopies].key, "vlan_copies");
}

TEST(Counters, PortJsonKeysFollowTheList) {
  PortTotals t;
  for (unsigned i = 0; i < kNumPortCounters; ++i) t.n[i] = 100 + i;
  json o = json::object();
  portCountersJson(t, o);
  ASSERT_EQ(o.size(), size_t{kNumPortCounters});
  for (unsigned i = 0; i < kNumPortCounters; ++i) {
    EXPECT_EQ(o.at(kPortCounterInfo[i].key), 100 + i) << kPortCounterInfo[i].key;
  }
}

TEST(Counters, PmdJsonHasTheCountersWithAKey) {
  uint64_t v[kNumPmdCounters];
  for (unsigned i = 0; i < kNumPmdCounters; ++i) v[i] = 7 * i;
  json o = json::object();
  pmdCountersJson(v, o);
  EXPECT_EQ(o, json({{"iterations", v[kIterations]},
                     {"learn_events", v[kLearnPosted]},
                     {"learn_events_dropped", v[kLearnRingFull]},
                     {"vlan_copies", v[kVlanCopies]}}));
}

TEST(Counters, PortTotalsMinusAndDropSum) {
  PortTotals a, b;
  for (unsigned i = 0; i < kNumPortCounters; ++i) a.n[i] = 10 * (i + 1), b.n[i] = i;
  for (unsigned r = 0; r < kNumDropReasons; ++r) a.drops[r] = 5, b.drops[r] = r % 2;
  const PortTotals d = a.minus(b);
  for (unsigned i = 0; i < kNumPortCounters; ++i) EXPECT_EQ(d.n[i], 10 * (i + 1) - i);
  EXPECT_EQ(d[kRxPackets], 10u);
  uint64_t sum = 0;
  for (unsigned r = 0; r < kNumDropReasons; ++r) sum += 5 - r % 2;
  EXPECT_EQ(d.dropSum(), sum);
}

TEST(Counters, MetricsFollowTheList) {
  std::vector<MetricFamily> port = counterFamilies(kPortCounterInfo);
  ASSERT_EQ(port.size(), size_t{kNumPortCounters});
  for (unsigned i = 0; i < kNumPortCounters; ++i) {
    EXPECT_EQ(port[i].name, kPortCounterInfo[i].metric);
    EXPECT_EQ(port[i].help, kPortCounterInfo[i].help);
    EXPECT_EQ(port[i].type, MetricType::kCounter);
    EXPECT_NO_THROW(validateMetricName(port[i].name, port[i].type)) << port[i].name;
  }
  std::vector<MetricFamily> pmd = counterFamilies(kPmdCounterInfo);
  ASSERT_EQ(pmd.size(), size_t{kNumPmdCounters});
  EXPECT_EQ(pmd[kBusyCycles].name, "rtvswitch_pmd_busy_seconds_total");
  EXPECT_EQ(pmd[kBusyCycles].type, MetricType::kCounter);
  EXPECT_EQ(pmd[kLongestGap].name, "rtvswitch_pmd_longest_stall_seconds");
  EXPECT_EQ(pmd[kLongestGap].type, MetricType::kGauge);
  EXPECT_TRUE(pmd[kIterations].name.empty());
  for (const MetricFamily& f : pmd) {
    if (!f.name.empty()) {
      EXPECT_NO_THROW(validateMetricName(f.name, f.type)) << f.name;
    }
  }

  // Samples: value / divisor, only for the families with a name; appended in list order.
  uint64_t v[kNumPmdCounters] = {};
  v[kBusyCycles] = 3'000'000'000;
  v[kIdleCycles] = 1'000'000'000;
  v[kLongestGap] = 2'000;
  addCounterSamples(pmd, {{"pmd", "0"}}, v, 1e9);
  EXPECT_TRUE(pmd[kIterations].samples.empty());
  std::vector<MetricFamily> all;
  appendFamilies(all, pmd, 0, kNumPmdCounters);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "rtvswitch_pmd_busy_seconds_total");
  EXPECT_EQ(all[1].name, "rtvswitch_pmd_idle_seconds_total");
  EXPECT_EQ(all[2].name, "rtvswitch_pmd_longest_stall_seconds");
  EXPECT_DOUBLE_EQ(all[0].samples.at(0).value, 3.0);
  EXPECT_DOUBLE_EQ(all[2].samples.at(0).value, 2e-6);

  addCounterSamples(port, {{"port", "vm1"}}, PortTotals{}.n);
  std::vector<MetricFamily> ports;
  appendFamilies(ports, port, 0, kNumPortCounters);
  const std::string text = renderPrometheus(ports);
  size_t at = 0;
  for (const CounterInfo& c : kPortCounterInfo) {
    const size_t next = text.find(std::string("# HELP ") + c.metric + " " + c.help + "\n");
    ASSERT_NE(next, std::string::npos) << c.metric;
    EXPECT_GE(next, at) << c.metric;
    at = next;
  }
}

TEST(Counters, StatsTableColumnsFollowTheList) {
  json p = {{"name", "vm1"}, {"link", "up"}, {"reconnects", 0}, {"drops", json::object()}};
  for (unsigned i = 0; i < kNumPortCounters; ++i) p[kPortCounterInfo[i].key] = 1000 + i;
  const std::string out = formatResult("stats", json{{"ports", {p}}});
  const std::string head = out.substr(0, out.find('\n'));
  size_t at = 0;
  for (unsigned i = 0; i < kNumPmdPortCounters; ++i) {
    const size_t next = head.find(kPortCounterInfo[i].column, at);
    ASSERT_NE(next, std::string::npos) << kPortCounterInfo[i].column;
    at = next;
  }
  EXPECT_NE(head.find(kPortCounterInfo[kGuestNotifications].column, at), std::string::npos);
  const size_t row_at = out.find('\n') + 1;
  const std::string row = out.substr(row_at, out.find('\n', row_at) - row_at);
  for (unsigned i = 0; i < kNumPmdPortCounters; ++i) {
    EXPECT_NE(row.find(std::to_string(1000 + i)), std::string::npos) << kPortCounterInfo[i].key;
  }
}

}  // namespace
}  // namespace rtvs
