// rtvswitch: the daemon. Parses the configuration, starts DPDK's EAL with the PMD cores as worker
// lcores, creates the configured ports, launches the PMDs and serves the control socket until
// SIGTERM/SIGINT, then closes every port and releases DPDK's memory.
#include <grp.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <vector>

#include "hostcheck/config_input.h"
#include "switch/core/config.h"
#include "switch/core/control_pacer.h"
#include "switch/daemon/control_api.h"
#include "switch/daemon/dpdk_log.h"
#include "switch/daemon/eal_args.h"
#include "switch/daemon/log_control.h"
#include "switch/daemon/state_file.h"
#include "switch/daemon/switch.h"
#include "switch/daemon/watchdog.h"
#include "switch/protocol/authz.h"
#include "switch/protocol/jsonrpc.h"
#include "switch/server/metrics_server.h"
#include "switch/server/rpc_server.h"

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
  group gr{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    throw std::runtime_error(std::string(key) + ": no group named \"" + name + "\"");
  }
  return found->gr_gid;
}

// The guest socket directory: its group and mode let QEMU (e.g. user libvirt-qemu) create
// server sockets in it and connect to the switch's; applied at every start.
void prepareSocketDir(const rtvs::Config& cfg) {
  makeDir(cfg.socket_dir);
  if (const std::optional<gid_t> gid = groupId(cfg.socket_dir_group, "socket-dir-group")) {
    if (chown(cfg.socket_dir.c_str(), static_cast<uid_t>(-1), *gid) != 0) {
      throw std::runtime_error("socket-dir-group: cannot give " + cfg.socket_dir + " to group " +
                               cfg.socket_dir_group + ": " + strerror(errno));
    }
  }
  if (!cfg.socket_dir_mode.empty()) {
    const unsigned mode = rtvs::parseFileMode(cfg.socket_dir_mode, "socket-dir-mode");
    if (chmod(cfg.socket_dir.c_str(), mode) != 0) {
      throw std::runtime_error("socket-dir-mode: cannot chmod " + cfg.socket_dir + ": " +
                               strerror(errno));
    }
  }
}

// Scrapes arrive on the metrics server's thread, but the switch's state belongs to the control
// thread: the scrape asks, the control loop renders between two rounds, the scrape waits.
class MetricsHandoff {
 public:
  // The control thread may be asleep (ControlPacer): `wake` ends its sleep.
  void setWake(const std::function<void()>& wake) { wake_ = wake; }

  std::string request() {
    std::unique_lock<std::mutex> lock(mu_);
    wanted_ = true;
    done_ = false;
    if (wake_) wake_();
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
  std::function<void()> wake_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false, done_ = false;
  std::string text_, error_;
};

// Real-time preconditions not met, one line each: a refusal to start (false), or with
// allow-degraded a warning each, remembered in `degraded` for pmd.show and the metrics.
bool acceptUnmet(const rtvs::Config& cfg, const std::vector<std::string>& unmet,
                 std::vector<std::string>& degraded) {
  for (const std::string& line : unmet) {
    if (cfg.allow_degraded) {
      spdlog::warn("real-time precondition not met, running degraded: {}", line);
    } else {
      spdlog::critical("real-time precondition not met: {}", line);
    }
  }
  degraded.insert(degraded.end(), unmet.begin(), unmet.end());
  if (unmet.empty() || cfg.allow_degraded) return true;
  spdlog::critical(
      "refusing to start: {} real-time precondition(s) not met (rtvswitch "
      "--check-host explains them; --allow-degraded starts anyway)",
      unmet.size());
  return false;
}

int runDaemon(const rtvs::Config& cfg) {
  rtvs::pinToHousekeeping(cfg);
  std::vector<std::string> degraded;
  if (!acceptUnmet(cfg, rtvs::rtPreconditionFailures(rtvs::hostCheckInput(cfg)), degraded))
    return 1;
  prepareSocketDir(cfg);
  makeDir(std::filesystem::path(cfg.control_socket).parent_path().string());

  const std::vector<std::string> args = rtvs::ealArgs(cfg, "rtvswitch");
  std::vector<char*> argv;
  std::string joined;
  for (const auto& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
    joined += a + " ";
  }
  spdlog::info("starting EAL: {}", joined);
  rtvs::DpdkLog dpdk_log;
  const int eal_rc = rte_eal_init(static_cast<int>(argv.size()), argv.data());
  dpdk_log.drain();
  if (eal_rc < 0) {
    spdlog::critical("EAL initialisation failed: {} (hugepages reserved? see scripts/setup.sh)",
                     rte_strerror(rte_errno));
    return 1;
  }
  int rc = 0;
  {
    if (cfg.mlockall && mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
      const std::string why = std::string("mlockall: ") + strerror(errno) +
                              " (needs CAP_IPC_LOCK or RLIMIT_MEMLOCK; memory may be paged out)";
      if (!acceptUnmet(cfg, {why}, degraded)) rc = 1;
    }
    std::unique_ptr<rtvs::StateFile> state;
    size_t n_ports = 0;
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
    dispatcher.setAfterCall([&dpdk_log] { dpdk_log.drain(); });
    try {
      if (rc != 0) throw std::runtime_error("real-time preconditions not met");
      const rtvs::AccessPolicy policy{geteuid(),
                                      groupId(cfg.control_admin_group, "control-admin-group"),
                                      groupId(cfg.control_read_group, "control-read-group")};
      sw = std::make_unique<rtvs::Switch>(cfg);
      sw->setDpdkLog(&dpdk_log);
      sw->registerMethods(dispatcher);
      rtvs::registerControlMethods(dispatcher, sw->config());
      rtvs::registerLogMethods(dispatcher);
      server = std::make_unique<rtvs::RpcServer>(cfg.control_socket, dispatcher, policy);
      server->addWakeFd(sw->wakeFd());
      handoff.setWake([s = sw.get()] { s->wake(); });
      std::vector<rtvs::SavedPort> saved;
      if (!cfg.state_file.empty()) {
        state = std::make_unique<rtvs::StateFile>(cfg.state_file);
        saved = state->load();
        sw->setStateFile(state.get());
      }
      std::vector<rtvs::SavedPort> from_config;
      for (const auto& spec : cfg.ports) {
        from_config.push_back({spec.name, rtvs::toOptions(spec), {}, true});
      }
      const rtvs::StartPlan plan = rtvs::planStartPorts(from_config, saved);
      for (const std::string& note : plan.notes) spdlog::warn("{}", note);
      n_ports = sw->restorePorts(plan.ports);
      if (state) {
        spdlog::info("state file {}: {} saved port(s), {} port(s) created", cfg.state_file,
                     saved.size(), n_ports);
      }
      if (!acceptUnmet(cfg, sw->startPmds(), degraded)) {
        throw std::runtime_error("real-time preconditions not met");
      }
      sw->setDegraded(degraded);
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
                   sw->pmdCount(), n_ports, cfg.control_socket);
      rtvs::Watchdog watchdog;
      watchdog.ready(*sw);
      // The control thread sleeps until a client, a link change or a scrape wakes it, or the
      // pacer's timeout passes: every 1 ms while PMDs post learn events (they cannot wake it),
      // backing off to 100 ms when idle.
      rtvs::ControlPacer pacer;
      while (!g_stop.load()) {
        const bool woken = server->poll(pacer.timeoutMs()) > 0;
        const bool busy = sw->poll();
        dpdk_log.drain();
        handoff.serve(*sw);
        pacer.roundDone(busy || woken);
        watchdog.tick(*sw);
      }
      watchdog.stopping();
      spdlog::info("stopping");
    }
    metrics.reset();
    server.reset();
    sw.reset();
    dpdk_log.drain();
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
    const rtvs::HostCheckReport report = rtvs::runHostCheck(rtvs::hostCheckInput(args.config));
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
