// rtvswitch: the daemon. Parses the configuration, starts DPDK's EAL with the PMD cores as worker
// lcores, creates the configured ports, launches the PMDs and serves the control socket until
// SIGTERM/SIGINT, then closes every port and releases DPDK's memory.
#include <rte_eal.h>
#include <rte_errno.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "switch/core/authz.h"
#include "switch/core/config.h"
#include "switch/core/host_check.h"
#include "switch/core/jsonrpc.h"
#include "switch/core/metrics_server.h"
#include "switch/core/rpc_server.h"
#include "switch/daemon/control_api.h"
#include "switch/daemon/eal_args.h"
#include "switch/daemon/log_control.h"
#include "switch/daemon/switch.h"
#include "switch/daemon/watchdog.h"

namespace {

std::atomic<bool> g_stop{false};

void onSignal(int) { g_stop.store(true); }

void makeDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create directory " + dir + ": " + ec.message());
}

std::optional<gid_t> groupId(const std::string& name, const char* key) {
  if (name.empty()) return std::nullopt;
  group gr {};
  group* found = nullptr;
  std::vector<char> buf(16384);
  if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    throw std::runtime_error(std::string(key) + ": no group named \"" + name + "\"");
  }
  return found->gr_gid;
}

// Scrapes arrive on the metrics server's thread, but the switch's state belongs to the control
// thread: the scrape asks, the control loop renders between two rounds, the scrape waits.
class MetricsHandoff {
 public:
  std::string request() {
    std::unique_lock<std::mutex> lock(mu_);
    wanted_ = true;
    done_ = false;
    if (!cv_.wait_for(lock, std::chrono::seconds(2), [this] { return done_; })) {
      throw std::runtime_error("the control thread did not answer in 2 s");
    }
    if (!error_.empty()) throw std::runtime_error(error_);  // the server answers 500
    return text_;
  }
  void serve(const rtvs::Switch& sw) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!wanted_) return;
    error_.clear();
    try {
      text_ = sw.renderMetrics();
    } catch (const std::exception& e) {
      spdlog::error("metrics: {}", e.what());
      error_ = e.what();
    }
    wanted_ = false;
    done_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false, done_ = false;
  std::string text_, error_;
};

int runDaemon(const rtvs::Config& cfg) {
  rtvs::pinToHousekeeping(cfg);
  makeDir(cfg.socket_dir);
  makeDir(std::filesystem::path(cfg.control_socket).parent_path().string());

  const std::vector<std::string> args = rtvs::ealArgs(cfg, "rtvswitch");
  std::vector<char*> argv;
  std::string joined;
  for (const auto& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
    joined += a + " ";
  }
  spdlog::info("starting EAL: {}", joined);
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    spdlog::critical("EAL initialisation failed: {} (hugepages reserved? see scripts/setup.sh)",
                     rte_strerror(rte_errno));
    return 1;
  }
  int rc = 0;
  {
    if (cfg.mlockall && mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
      spdlog::warn("mlockall failed: {}; memory may be paged out", strerror(errno));
    }
    std::unique_ptr<rtvs::Switch> sw;
    std::unique_ptr<rtvs::RpcServer> server;
    std::unique_ptr<rtvs::MetricsServer> metrics;
    MetricsHandoff handoff;
    rtvs::RpcDispatcher dispatcher;
    rtvs::ControlAccess access(
        {static_cast<double>(cfg.control_mutation_rate), cfg.control_mutation_burst},
        [](const std::string& line) { spdlog::info("{}", line); },
        [](const std::string& line) { spdlog::warn("{}", line); });
    dispatcher.setAccess(&access);
    try {
      const rtvs::AccessPolicy policy{geteuid(),
                                      groupId(cfg.control_admin_group, "control-admin-group"),
                                      groupId(cfg.control_read_group, "control-read-group")};
      sw = std::make_unique<rtvs::Switch>(cfg);
      sw->registerMethods(dispatcher);
      rtvs::registerControlMethods(dispatcher, sw->config());
      rtvs::registerLogMethods(dispatcher);
      server = std::make_unique<rtvs::RpcServer>(cfg.control_socket, dispatcher, policy);
      for (const auto& spec : cfg.ports) sw->addPort(spec);
      sw->startPmds();
      if (!cfg.metrics_listen.empty()) {
        metrics = std::make_unique<rtvs::MetricsServer>(cfg.metrics_listen,
                                                        [&handoff] { return handoff.request(); });
        spdlog::info("Prometheus metrics on http://{}/metrics", cfg.metrics_listen);
      }
    } catch (const std::exception& e) {
      spdlog::critical("start-up failed: {}", e.what());
      rc = 1;
    }
    if (rc == 0) {
      spdlog::info("rtvswitch {} ready: {} PMD(s), {} port(s), control socket {}", RTVS_VERSION,
                   sw->pmdCount(), cfg.ports.size(), cfg.control_socket);
      rtvs::Watchdog watchdog;
      watchdog.ready(*sw);
      while (!g_stop.load()) {
        server->poll(5);
        sw->poll();
        handoff.serve(*sw);
        watchdog.tick(*sw);
      }
      watchdog.stopping();
      spdlog::info("stopping");
    }
    metrics.reset();
    server.reset();
    sw.reset();
  }
  rte_eal_cleanup();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  rtvs::DaemonArgs args;
  try {
    args = rtvs::parseDaemonArgs(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "rtvswitch: " << e.what() << "\n";
    return 2;
  }
  if (args.exit_now) return args.exit_code;
  if (args.check_host) {
    rtvs::HostCheckInput in;
    in.pmd_cores = args.config.pmd_cores;
    in.housekeeping_cores = args.config.housekeeping_cores;
    in.pmd_priority = args.config.pmd_priority;
    in.hugepages_mb = args.config.no_huge ? 0 : args.config.memory_mb;
    const rtvs::HostCheckReport report = rtvs::runHostCheck(in);
    std::cout << rtvs::formatHostCheckTable(report);
    return report.anyFail() ? 1 : 0;
  }

  auto logger = spdlog::stderr_color_mt("rtvswitch");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  rtvs::applyLogLevel(args.config.log_level, false);  // DPDK's: the EAL's --log-level

  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  try {
    return runDaemon(args.config);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
}
