// rtvswitch: the daemon. Parses the configuration, starts DPDK's EAL with the PMD cores as worker
// lcores, creates the configured ports, launches the PMDs and serves the control socket until
// SIGTERM/SIGINT, then closes every port and releases DPDK's memory.
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
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#ifdef RTVS_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "switch/core/config.h"
#include "switch/core/jsonrpc.h"
#include "switch/core/rpc_server.h"
#include "switch/daemon/eal_args.h"
#include "switch/daemon/switch.h"

namespace {

std::atomic<bool> g_stop{false};

void onSignal(int) { g_stop.store(true); }

spdlog::level::level_enum toSpdlog(rtvs::LogLevel l) {
  switch (l) {
    case rtvs::LogLevel::kTrace: return spdlog::level::trace;
    case rtvs::LogLevel::kDebug: return spdlog::level::debug;
    case rtvs::LogLevel::kInfo: return spdlog::level::info;
    case rtvs::LogLevel::kWarn: return spdlog::level::warn;
    case rtvs::LogLevel::kError: return spdlog::level::err;
    case rtvs::LogLevel::kCritical: return spdlog::level::critical;
    case rtvs::LogLevel::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

void notify(const char* state) {
#ifdef RTVS_HAVE_SYSTEMD
  sd_notify(0, state);
#else
  (void)state;
#endif
}

void makeDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create directory " + dir + ": " + ec.message());
}

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
    rtvs::RpcDispatcher dispatcher;
    try {
      sw = std::make_unique<rtvs::Switch>(cfg);
      sw->registerMethods(dispatcher);
      server = std::make_unique<rtvs::RpcServer>(cfg.control_socket, dispatcher);
      for (const auto& spec : cfg.ports) sw->addPort(spec);
      sw->startPmds();
    } catch (const std::exception& e) {
      spdlog::critical("start-up failed: {}", e.what());
      rc = 1;
    }
    if (rc == 0) {
      spdlog::info("rtvswitch {} ready: {} PMD(s), {} port(s), control socket {}", RTVS_VERSION,
                   sw->pmdCount(), cfg.ports.size(), cfg.control_socket);
      notify("READY=1");
      while (!g_stop.load()) {
        server->poll(5);
        sw->poll();
      }
      notify("STOPPING=1");
      spdlog::info("stopping");
    }
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

  auto logger = spdlog::stderr_color_mt("rtvswitch");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(toSpdlog(args.config.log_level));

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
