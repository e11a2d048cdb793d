#pragma once
// The daemon's log level at run time (`vswitchctl log level`): one level drives spdlog (the
// control plane's log) and DPDK's rte_log, mapped as at start-up (DPDK's info for our debug and
// trace, its notice for info and warn, its error above). Control thread only.

#include "switch/core/config.h"
#include "switch/protocol/jsonrpc.h"

namespace rtvs {

// DPDK's level (RTE_LOG_*) for ours, and its name for the EAL's --log-level.
unsigned dpdkLogLevel(LogLevel level) noexcept;
const char* dpdkLogLevelName(LogLevel level) noexcept;

// Sets spdlog's level, and rte_log's once the EAL is up (`dpdk_too`).
void applyLogLevel(LogLevel level, bool dpdk_too);
LogLevel currentLogLevel() noexcept;

// log.show (read) and log.set (admin): docs/api.md.
void registerLogMethods(RpcDispatcher& d);

}  // namespace rtvs
