// rtvswitch-probe: measures a vhost-user switch from the guest side. Two net_virtio_user ports
// (A and B) in one process: one-way latency at fixed rates, the maximum forwarding rate, and the
// zero-loss / small-loss rates by binary search (RFC 2544 style).

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_version.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "switch/core/histogram.h"
#include "tools/guest/testframe.h"
#include "tools/guest/virtio_port.h"
#include "tools/probe/trial.h"

namespace rtvs::probe {
namespace {

using nlohmann::json;

struct Options {
  guest::EalOptions eal;
  std::string port_a, port_b, vhost = "server", mac_a = "52:54:00:72:70:0a",
                              mac_b = "52:54:00:72:70:0b";
  unsigned size = 64, queue_size = 1024, flows = 1;
  double link_timeout_s = 30;
  std::string json_file;
  // latency
  std::vector<double> rates = {10000, 100000, 1000000};
  double lat_duration_s = 5, lat_warmup_s = 1;
  unsigned lat_burst = 4;
  // throughput
  double max_duration_s = 5, trial_s = 2, tput_warmup_s = 0.2, resolution = 0.01;
  std::vector<double> loss_ratios = {0, 0.0001};
  unsigned max_trials = 12;
  bool max_only = false;
};

// The probe's own noise floor: how often and how long its polling loop did not run.
json noiseJson(const HistogramSnapshot& gaps, uint64_t hz) {
  const uint64_t five_us = hz / 200000;
  uint64_t n_long = 0;
  double t_long = 0;
  for (unsigned b = 0; b < Histogram::kBuckets; ++b) {
    const uint64_t c = gaps.buckets()[b];
    if (c == 0 || Histogram::bucketLow(b) < five_us) continue;
    n_long += c;
    const uint64_t lo = Histogram::bucketLow(b);
    t_long +=
        static_cast<double>(c) * static_cast<double>(lo + (Histogram::bucketHigh(b) - lo) / 2);
  }
  const double total = static_cast<double>(gaps.sum());
  const double seconds = total / static_cast<double>(hz);
  return {{"loop_gap", summarize(gaps, hz)},
          {"measured_s", seconds},
          {"gaps_over_5us", n_long},
          {"gaps_over_5us_per_s", seconds > 0 ? static_cast<double>(n_long) / seconds : 0.0},
          {"time_in_gaps_over_5us_ratio", total > 0 ? std::min(1.0, t_long / total) : 0.0}};
}

void printNoise(const json& n) {
  const auto& g = n["loop_gap"];
  std::printf(
      "probe loop gaps (its noise floor): p50 %.2f us, p99 %.2f us, p99.9 %.1f us, max %.1f us; "
      "%.0f gaps > 5 us per s, %.2f%% of the time\n",
      g["p50_ns"].get<double>() / 1e3, g["p99_ns"].get<double>() / 1e3,
      g["p999_ns"].get<double>() / 1e3, g["max_ns"].get<double>() / 1e3,
      n["gaps_over_5us_per_s"].get<double>(), 100 * n["time_in_gaps_over_5us_ratio"].get<double>());
}

json runLatency(TrialRunner& runner, const Options& o, uint64_t hz) {
  std::printf("latency: %u B frames A -> B, %.1f s per rate after %.1f s warm-up, bursts <= %u\n",
              o.size, o.lat_duration_s, o.lat_warmup_s, o.lat_burst);
  std::printf("%11s %10s %10s %8s %8s %5s %5s %9s %9s %9s %9s %9s %9s\n", "rate(pps)", "offered",
              "received", "lost", "loss%", "dup", "reord", "p50(us)", "p90", "p99", "p99.9",
              "p99.99", "max");
  json results = json::array();
  for (double rate : o.rates) {
    TrialConfig c;
    c.rate_pps = rate;
    c.duration_s = o.lat_duration_s;
    c.warmup_s = o.lat_warmup_s;
    c.burst = o.lat_burst;
    c.size = o.size;
    c.flows = o.flows;
    const TrialResult r = runner.run(c);
    const LatencySummary s = summarize(r.latency, hz);
    std::printf("%11.0f %10lu %10lu %8lu %8.4f %5lu %5lu %9.2f %9.2f %9.2f %9.1f %9.1f %9.1f\n",
                rate, r.offered, r.received, r.lost(), 100 * r.lossRatio(), r.dup, r.reorder,
                s.p50_ns / 1e3, s.p90_ns / 1e3, s.p99_ns / 1e3, s.p999_ns / 1e3, s.p9999_ns / 1e3,
                s.max_ns / 1e3);
    std::fflush(stdout);
    results.push_back(toJson(r, hz, true));
  }
  return results;
}

json runThroughput(TrialRunner& runner, const Options& o, uint64_t hz) {
  TrialConfig c;
  c.size = o.size;
  c.flows = o.flows;
  c.burst = 32;
  c.warmup_s = o.tput_warmup_s;
  c.duration_s = o.max_duration_s;
  const TrialResult max = runner.run(c);
  std::printf("throughput: %u B frames A -> B\n", o.size);
  std::printf(
      "maximum rate (%.1f s as fast as A's port takes frames): sent %.3f Mpps, received "
      "%.3f Mpps, lost %lu (%.4f%%)\n",
      max.duration_s, max.offeredRate() / 1e6, max.rxRate() / 1e6, max.lost(),
      100 * max.lossRatio());
  json out = {{"max", toJson(max, hz, false)}, {"searches", json::array()}};
  // The search range tops out at what the probe itself can offer.
  const double top = max.offeredRate();
  for (double threshold : o.loss_ratios) {
    c.duration_s = o.trial_s;
    json trials = json::array();
    double lo = 0, hi = top, best = 0;
    bool first = true;
    for (unsigned t = 0; t < o.max_trials && (first || hi - lo > o.resolution * top); ++t) {
      const double rate = first ? top : (lo + hi) / 2;
      first = false;
      c.rate_pps = rate;
      const TrialResult r = runner.run(c);
      const bool pass = r.lossRatio() <= threshold && r.dup == 0;
      trials.push_back(toJson(r, hz, false));
      trials.back()["pass"] = pass;
      if (pass) {
        lo = best = rate;
        if (rate == top) break;
      } else {
        hi = rate;
      }
    }
    std::printf("rate with loss <= %g%%: %.3f Mpps (%zu trials of %.1f s, resolution %.3f Mpps)\n",
                100 * threshold, best / 1e6, trials.size(), o.trial_s, o.resolution * top / 1e6);
    std::fflush(stdout);
    out["searches"].push_back(
        {{"loss_threshold", threshold}, {"rate_pps", best}, {"trials", trials}});
  }
  return out;
}

// Waits until both ports are attached (server mode: the switch connected) and their links are
// up. Returns false on timeout.
bool waitLinks(guest::VirtioPort& a, guest::VirtioPort& b, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (std::chrono::steady_clock::now() < end) {
    a.service();
    b.service();
    if (a.linkUp() && b.linkUp()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

int probeMain(int argc, char** argv) {
  CLI::App app{
      "rtvswitch-probe: one-way latency and throughput of a vhost-user switch, measured from two "
      "DPDK guest ports (net_virtio_user) A and B in this process, on one clock.\n"
      "Run it at low priority (nice -n 19) when it shares a CPU with the switch's housekeeping."};
  Options o;
  o.eal.prog = argv[0];
  o.eal.mem_mb = 256;
  app.add_option("--file-prefix", o.eal.file_prefix, "EAL file prefix (unique per process)")
      ->required();
  app.add_option("--mem", o.eal.mem_mb, "hugepage memory in MB")
      ->capture_default_str()
      ->check(CLI::Range(64, 2048));
  app.add_option("--lcore", o.eal.lcore, "CPU to run on")->capture_default_str();
  app.add_option("--port-a", o.port_a, "vhost-user socket of port A (sender)")->required();
  app.add_option("--port-b", o.port_b, "vhost-user socket of port B (receiver)")->required();
  app.add_option("--vhost", o.vhost,
                 "server: the probe listens and the switch connects (vhostuserclient ports); "
                 "client: the switch listens (vhostuser ports)")
      ->capture_default_str()
      ->check(CLI::IsMember({"server", "client"}));
  app.add_option("--mac-a", o.mac_a, "MAC of port A")->capture_default_str();
  app.add_option("--mac-b", o.mac_b, "MAC of port B")->capture_default_str();
  app.add_option("--size", o.size, "frame length without FCS: 60-1518, or up to 9014 (jumbo)")
      ->capture_default_str()
      ->check(CLI::Range(60, 9014));
  app.add_option("--flows", o.flows,
                 "MAC pairs the test frames cycle through, frame by frame (all learned first)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--queue-size", o.queue_size, "virtio ring size")
      ->capture_default_str()
      ->check(CLI::IsMember({256, 512, 1024, 2048, 4096}));
  app.add_option("--link-timeout", o.link_timeout_s, "seconds to wait for the switch")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--json", o.json_file, "also write machine-readable results to this file");

  auto* lat = app.add_subcommand("latency", "one-way latency at fixed rates");
  lat->add_option("--rates", o.rates, "frames per second, one trial each")
      ->capture_default_str()
      ->delimiter(',')
      ->check(CLI::Range(1.0, 50e6));
  lat->add_option("--duration", o.lat_duration_s, "measured seconds per rate")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  lat->add_option("--warmup", o.lat_warmup_s, "seconds sent first and not counted")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  lat->add_option("--burst", o.lat_burst, "most frames per tx burst (catching up after a stall)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));

  auto* tput = app.add_subcommand("throughput", "maximum rate and loss-bounded rates");
  tput->add_option("--duration", o.max_duration_s, "seconds of the maximum-rate run")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  tput->add_option("--trial", o.trial_s, "seconds per binary-search trial")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  tput->add_option("--warmup", o.tput_warmup_s, "seconds sent first in each trial, not counted")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  tput->add_option("--resolution", o.resolution,
                   "stop the search when the range is below this fraction of the maximum rate")
      ->capture_default_str()
      ->check(CLI::Range(0.0001, 0.5));
  tput->add_option("--loss", o.loss_ratios, "loss ratios to search for (0.0001 = 0.01%)")
      ->capture_default_str()
      ->delimiter(',')
      ->check(CLI::Range(0.0, 0.5));
  tput->add_option("--max-trials", o.max_trials, "most trials per search")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  tput->add_flag("--max-only", o.max_only, "only the maximum-rate run, no loss searches");
  app.require_subcommand(1);

  guest::PortArgs pa, pb;
  try {
    app.parse(argc, argv);
    if (o.max_only) o.loss_ratios.clear();
    const std::string mode = o.vhost == "server" ? ",server=1" : "";
    // Above 1518 B the ports' MTU follows the frame size (jumbo).
    const std::string common = mode + ",queue_size=" + std::to_string(o.queue_size) +
                               ",mtu=" + std::to_string(std::max(1500u, o.size - 14));
    pa = guest::parsePortArgs("path=" + o.port_a + ",mac=" + o.mac_a + common);
    pb = guest::parsePortArgs("path=" + o.port_b + ",mac=" + o.mac_b + common);
    if (o.port_a == o.port_b) throw std::invalid_argument("--port-b: must differ from --port-a");
    if (o.mac_a == o.mac_b) throw std::invalid_argument("--mac-b: must differ from --mac-a");
    if (o.flows > 1) {
      // Flow MACs vary bytes 3-4 (flowMac): A's and B's must differ elsewhere to stay apart.
      const auto& ma = pa.mac.addr_bytes;
      const auto& mb = pb.mac.addr_bytes;
      if (ma[0] == mb[0] && ma[1] == mb[1] && ma[2] == mb[2] && ma[5] == mb[5]) {
        throw std::invalid_argument(
            "--flows: --mac-a and --mac-b must differ outside bytes 3-4, which flows vary");
      }
    }
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; every other parse error is a bad option: 2, as documented.
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    std::cerr << "rtvswitch-probe: " << e.what() << '\n';
    return 2;
  }
  const bool latency_mode = lat->parsed();

  std::signal(SIGPIPE, SIG_IGN);
  try {
    guest::initEal(o.eal);
  } catch (const std::exception& e) {
    std::cerr << "rtvswitch-probe: " << e.what() << '\n';
    return 1;
  }
  int rc = 0;
  rte_mempool* pool =
      rte_pktmbuf_pool_create("probe_pool", guest::mbufsFor(pa) + guest::mbufsFor(pb) + 4096, 256,
                              0, guest::kDataRoom, static_cast<int>(rte_socket_id()));
  try {
    if (pool == nullptr) {
      throw std::runtime_error(std::string("cannot create the mbuf pool (raise --mem): ") +
                               rte_strerror(rte_errno));
    }
    guest::VirtioPort a(0, pa, pool), b(1, pb, pool);
    a.attach();
    b.attach();
    if (!waitLinks(a, b, o.link_timeout_s)) {
      throw std::runtime_error("ports not up after " + std::to_string(o.link_timeout_s) +
                               " s (--link-timeout): is the switch running and connected?" +
                               (a.lastError().empty() ? "" : " A: " + a.lastError()) +
                               (b.lastError().empty() ? "" : " B: " + b.lastError()));
    }
    TrialRunner runner(a, b, pool);
    if (!runner.waitForwarding(o.link_timeout_s, o.flows)) {
      throw std::runtime_error("links are up but no frame got through between A and B in " +
                               std::to_string(o.link_timeout_s) + " s");
    }
    const uint64_t hz = rte_get_tsc_hz();
    json out = {{"tool", "rtvswitch-probe"},
                {"dpdk", rte_version()},
                {"tsc_hz", hz},
                {"config",
                 {{"mode", latency_mode ? "latency" : "throughput"},
                  {"size", o.size},
                  {"flows", o.flows},
                  {"vhost", o.vhost},
                  {"queue_size", o.queue_size},
                  {"port_a", o.port_a},
                  {"port_b", o.port_b},
                  {"mac_a", o.mac_a},
                  {"mac_b", o.mac_b}}}};
    if (latency_mode) {
      out["config"]["rates"] = o.rates;
      out["config"]["duration_s"] = o.lat_duration_s;
      out["config"]["warmup_s"] = o.lat_warmup_s;
      out["config"]["burst"] = o.lat_burst;
      out["latency"] = runLatency(runner, o, hz);
    } else {
      out["config"]["max_duration_s"] = o.max_duration_s;
      out["config"]["trial_s"] = o.trial_s;
      out["config"]["warmup_s"] = o.tput_warmup_s;
      out["config"]["resolution"] = o.resolution;
      out["config"]["loss_ratios"] = o.loss_ratios;
      out["throughput"] = runThroughput(runner, o, hz);
    }
    out["noise"] = noiseJson(runner.loopGaps(), hz);
    printNoise(out["noise"]);
    if (!o.json_file.empty()) {
      std::ofstream f(o.json_file);
      f << out.dump(2) << '\n';
      if (!f) throw std::runtime_error("--json: cannot write " + o.json_file);
    }
  } catch (const std::exception& e) {
    std::cerr << "rtvswitch-probe: " << e.what() << '\n';
    rc = 1;
  }
  if (pool != nullptr) rte_mempool_free(pool);
  rte_eal_cleanup();
  return rc;
}

}  // namespace
}  // namespace rtvs::probe

int main(int argc, char** argv) { return rtvs::probe::probeMain(argc, argv); }
