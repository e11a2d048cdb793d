#include "switch/daemon/log_control.h"

#include <rte_log.h>
#include <spdlog/spdlog.h>

namespace rtvs {

namespace {

LogLevel g_level = LogLevel::kInfo;

spdlog::level::level_enum toSpdlog(LogLevel l) {
  switch (l) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kCritical:
      return spdlog::level::critical;
    case LogLevel::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

nlohmann::json levels() {
  return {{"level", logLevelName(g_level)}, {"dpdk", dpdkLogLevelName(g_level)}};
}

}  // namespace

unsigned dpdkLogLevel(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::kTrace:
    case LogLevel::kDebug:
      return RTE_LOG_INFO;  // DPDK's debug floods the log from every driver
    case LogLevel::kInfo:
    case LogLevel::kWarn:
      return RTE_LOG_NOTICE;
    default:
      return RTE_LOG_ERR;
  }
}

const char* dpdkLogLevelName(LogLevel level) noexcept {
  switch (dpdkLogLevel(level)) {
    case RTE_LOG_INFO:
      return "info";
    case RTE_LOG_NOTICE:
      return "notice";
    default:
      return "error";
  }
}

void applyLogLevel(LogLevel level, bool dpdk_too) {
  spdlog::set_level(toSpdlog(level));
  if (dpdk_too) {
    // Every log type, present and registered later (drivers probed at run time), as the
    // EAL's --log-level '*:LEVEL' does.
    rte_log_set_level_pattern("*", dpdkLogLevel(level));
  }
  g_level = level;
}

LogLevel currentLogLevel() noexcept { return g_level; }

void registerLogMethods(RpcDispatcher& d) {
  d.add("log.show", "", "the daemon's log level and DPDK's",
        [](const nlohmann::json&) { return levels(); });
  d.add("log.set", "level", "set the log level (the daemon's and DPDK's) at run time",
        [](const nlohmann::json& params) {
          if (!params.is_object() || !params.contains("level") || !params["level"].is_string()) {
            throw RpcError(rpc_code::kInvalidParams, "parameter level: a string is needed");
          }
          LogLevel level;
          try {
            level = parseLogLevel(params["level"].get<std::string>(), "level");
          } catch (const ConfigError& e) {
            throw RpcError(rpc_code::kInvalidParams, e.what());
          }
          const LogLevel before = g_level;
          applyLogLevel(level, true);
          spdlog::log(spdlog::level::info, "log level {} (DPDK {}), was {}", logLevelName(level),
                      dpdkLogLevelName(level), logLevelName(before));
          return levels();
        });
}

}  // namespace rtvs
