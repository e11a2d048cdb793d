#include "switch/core/metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>

#include "switch/core/port_state.h"

namespace rtvs {
namespace {

const std::string kGoldenDir = std::string(RTVS_TEST_DATA) + "/metrics/";

// Set RTVS_UPDATE_GOLDENS=1 to rewrite the golden files after an intended format change.
void expectGolden(const std::string& file, const std::string& text) {
  const std::string path = kGoldenDir + file;
  if (std::getenv("RTVS_UPDATE_GOLDENS") != nullptr) {
    std::ofstream(path) << text;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing golden " << path;
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(text, want.str()) << "differs from " << path;
}

// promtool's output (lint findings and parse errors) and exit status.
std::pair<int, std::string> promtoolCheck(const std::string& text) {
  char path[] = "/tmp/rtvs-metrics-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  const std::string cmd = std::string("/usr/bin/promtool check metrics < ") + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string output;
  char buf[512];
  while (p != nullptr && fgets(buf, sizeof buf, p) != nullptr) output += buf;
  const int status = p != nullptr ? pclose(p) : -1;
  unlink(path);
  return {status, output};
}

HistogramSnapshot latencySnapshot() {
  // 2.5 GHz ticks: 0.8 us x 90, 3 us x 9, 2 ms x 1.
  auto h = std::make_unique<Histogram>();
  h->recordN(2'000, 90);
  h->recordN(7'500, 9);
  h->record(5'000'000);
  HistogramSnapshot s;
  h->addTo(s);
  return s;
}

std::vector<MetricFamily> sampleFamilies() {
  std::vector<MetricFamily> f;
  f.push_back({"rtvswitch_port_rx_packets_total",
               "Packets received on a port.",
               MetricType::kCounter,
               {{{{"port", "vm1"}}, 12345}, {{{"port", "vm2"}}, 0}},
               {}});
  f.push_back({"rtvswitch_pmd_busy_ratio",
               "Share of PMD\\iterations that moved packets,\nover the last second.",
               MetricType::kGauge,
               {{{{"pmd", "0"}, {"core", "1"}}, 0.25}, {{{"pmd", "1"}, {"core", "2"}}, 1e-9}},
               {}});
  f.push_back({"rtvswitch_daemon_uptime_seconds",
               "Seconds since the daemon started.",
               MetricType::kGauge,
               {{{}, 3600.5}},
               {}});
  f.push_back({"rtvswitch_port_label_escapes_info",
               "Label values with characters that need escaping.",
               MetricType::kGauge,
               {{{{"path", "C:\\tmp \"quoted\"\nline"}}, 1}},
               {}});
  f.push_back({"rtvswitch_pmd_latency_seconds",
               "Switching latency from rx burst to tx burst.",
               MetricType::kHistogram,
               {},
               {{{{"pmd", "0"}}, latencySnapshot(), 2'500'000'000},
                {{{"pmd", "1"}}, HistogramSnapshot{}, 2'500'000'000}}});
  return f;
}

TEST(Metrics, RendersGolden) { expectGolden("sample.prom", renderPrometheus(sampleFamilies())); }

TEST(Metrics, EmptyModelRendersNothing) { EXPECT_EQ(renderPrometheus({}), ""); }

TEST(Metrics, HistogramBucketsAreCumulativeInSeconds) {
  MetricFamily f{"rtvswitch_pmd_latency_seconds",
                 "Latency.",
                 MetricType::kHistogram,
                 {},
                 {{{}, latencySnapshot(), 2'500'000'000}}};
  const std::string text = renderPrometheus({f});
  EXPECT_NE(text.find("rtvswitch_pmd_latency_seconds_bucket{le=\"5e-07\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("rtvswitch_pmd_latency_seconds_bucket{le=\"1e-06\"} 90\n"),
            std::string::npos);
  EXPECT_NE(text.find("rtvswitch_pmd_latency_seconds_bucket{le=\"5e-06\"} 99\n"),
            std::string::npos);
  EXPECT_NE(text.find("rtvswitch_pmd_latency_seconds_bucket{le=\"0.001\"} 99\n"),
            std::string::npos);
  EXPECT_NE(text.find("rtvswitch_pmd_latency_seconds_bucket{le=\"0.0025\"} 100\n"),
            std::string::npos);
  EXPECT_NE(text.find("rtvswitch_pmd_latency_seconds_bucket{le=\"+Inf\"} 100\n"),
            std::string::npos);
  EXPECT_NE(text.find("rtvswitch_pmd_latency_seconds_count 100\n"), std::string::npos);
  // (90 * 2000 + 9 * 7500 + 5e6) ticks / 2.5e9
  EXPECT_NE(text.find("rtvswitch_pmd_latency_seconds_sum 0.002099\n"), std::string::npos);
}

TEST(Metrics, SpecialValues) {
  MetricFamily f{"rtvswitch_test_odd_values",
                 "Odd values.",
                 MetricType::kGauge,
                 {{{{"v", "nan"}}, std::nan("")},
                  {{{"v", "inf"}}, std::numeric_limits<double>::infinity()},
                  {{{"v", "-inf"}}, -std::numeric_limits<double>::infinity()},
                  {{{"v", "big"}}, 1e20}},
                 {}};
  expectGolden("special_values.prom", renderPrometheus({f}));
}

TEST(Metrics, PromtoolAcceptsRenderedText) {
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/promtool";
  auto families = sampleFamilies();
  const auto [status, output] = promtoolCheck(renderPrometheus(families));
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "");
}

TEST(Metrics, PromtoolCatchesABrokenText) {
  // Shows the check above can fail: promtool does complain about a bad exposition.
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/promtool";
  const auto [status, output] = promtoolCheck("# TYPE x counter\nx{a=\"b} 1\n");
  EXPECT_NE(status, 0);
  EXPECT_NE(output, "");
}

void expectRejected(const MetricFamily& f, const std::string& why) {
  try {
    renderPrometheus({f});
    ADD_FAILURE() << "accepted " << f.name << ", expected: " << why;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(f.name), std::string::npos) << e.what();
  }
}

TEST(Metrics, RejectsBadNames) {
  auto gauge = [](std::string n) {
    return MetricFamily{n, "Help.", MetricType::kGauge, {{{}, 1}}, {}};
  };
  expectRejected(gauge("port_rx_packets"), "must start with 'rtvswitch_'");
  expectRejected(gauge("rtvswitch_port_packets"), "rtvswitch_<subsystem>_<name>_<unit>");
  expectRejected(gauge("rtvswitch_port_Rx_packets"), "lowercase");
  expectRejected(gauge("rtvswitch_port__rx_packets"), "empty word");
  expectRejected(gauge("rtvswitch_port_rx_packets_"), "empty word");
  expectRejected(gauge("rtvswitch_port_rx-x_packets"), "lowercase");
  expectRejected(gauge("rtvswitch_port_rx_packets_total"), "only counter names end in '_total'");
  expectRejected(gauge("rtvswitch_port_rx_packets_count"), "reserved");
  expectRejected(MetricFamily{"rtvswitch_port_rx_packets", "Help.", MetricType::kCounter, {}, {}},
                 "must end in '_total'");
  expectRejected(
      MetricFamily{"rtvswitch_pmd_latency_ticks", "Help.", MetricType::kHistogram, {}, {}},
      "must end in '_seconds'");
  expectRejected(gauge("rtvswitch_info"), "rtvswitch_<subsystem>_<name>_<unit>");
  expectRejected(MetricFamily{"rtvswitch_build_info_total", "Help.", MetricType::kCounter, {}, {}},
                 "an _info metric is a gauge");
  EXPECT_NO_THROW(validateMetricName("rtvswitch_port_rx_packets_total", MetricType::kCounter));
  EXPECT_NO_THROW(validateMetricName("rtvswitch_build_info", MetricType::kGauge));
  EXPECT_NO_THROW(validateMetricName("rtvswitch_port_info", MetricType::kGauge));
  // Info metrics: a gauge rtvswitch_<subsystem>_info, no unit.
  EXPECT_NO_THROW(validateMetricName("rtvswitch_port_info", MetricType::kGauge));
  expectRejected(MetricFamily{"rtvswitch_port_state", "Help.", MetricType::kGauge, {}, {}},
                 "name must be rtvswitch_<subsystem>_<name>_<unit>");
  expectRejected(MetricFamily{"rtvswitch_info", "Help.", MetricType::kGauge, {}, {}},
                 "name must be rtvswitch_<subsystem>_<name>_<unit>");
}

TEST(Metrics, PortInfoRendersExternalIdsAsLabels) {
  MetricFamily f{"rtvswitch_port_info", "Identity.", MetricType::kGauge, {}, {}};
  f.samples.push_back({portInfoLabels("vm1", {{"iface-id", "3f2b"}, {"vm-uuid", "a\"b"}}), 1});
  EXPECT_EQ(renderPrometheus({f}),
            "# HELP rtvswitch_port_info Identity.\n"
            "# TYPE rtvswitch_port_info gauge\n"
            "rtvswitch_port_info{port=\"vm1\",iface_id=\"3f2b\",vm_uuid=\"a\\\"b\"} 1\n");
}

TEST(Metrics, RejectsBadModels) {
  const std::string n = "rtvswitch_port_rx_packets_total";
  expectRejected({n, "", MetricType::kCounter, {}, {}}, "help text is empty");
  expectRejected({n, "H.", MetricType::kCounter, {{{{"0port", "a"}}, 1}}, {}},
                 "invalid label name '0port'");
  expectRejected({n, "H.", MetricType::kCounter, {{{{"__name__", "a"}}, 1}}, {}},
                 "invalid label name '__name__'");
  expectRejected({n, "H.", MetricType::kCounter, {{{{"a-b", "a"}}, 1}}, {}},
                 "invalid label name 'a-b'");
  expectRejected({n, "H.", MetricType::kCounter, {{{{"a", "1"}, {"a", "2"}}, 1}}, {}},
                 "duplicate label name 'a'");
  expectRejected({n,
                  "H.",
                  MetricType::kCounter,
                  {{{{"a", "1"}, {"b", "2"}}, 1}, {{{"b", "2"}, {"a", "1"}}, 2}},
                  {}},
                 "duplicate label set");
  expectRejected({n, "H.", MetricType::kCounter, {{{}, -1}}, {}}, "must be >= 0");
  expectRejected({n, "H.", MetricType::kCounter, {{{}, std::nan("")}}, {}}, "must be >= 0");
  expectRejected({n, "H.", MetricType::kCounter, {}, {{{}, HistogramSnapshot{}, 1}}},
                 "only a histogram has histograms");
  const std::string h = "rtvswitch_pmd_latency_seconds";
  expectRejected({h, "H.", MetricType::kHistogram, {{{}, 1}}, {}}, "no plain samples");
  expectRejected({h, "H.", MetricType::kHistogram, {}, {{{}, HistogramSnapshot{}, 0}}},
                 "ticks_per_sec must be > 0");
  expectRejected({h, "H.", MetricType::kHistogram, {}, {{{{"le", "1"}}, HistogramSnapshot{}, 1}}},
                 "'le' is reserved");

  const MetricFamily ok{n, "H.", MetricType::kCounter, {{{}, 1}}, {}};
  try {
    renderPrometheus({ok, ok});
    ADD_FAILURE() << "duplicate family accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate family"), std::string::npos);
  }
}

}  // namespace
}  // namespace rtvs
