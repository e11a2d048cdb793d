#include "switch/daemon/dpdk_log.h"

#include <rte_log.h>
#include <spdlog/spdlog.h>

#include <string_view>

namespace rtvs {

namespace {

spdlog::level::level_enum spdlogLevel(int rte_level) {
  if (rte_level <= 0) return spdlog::level::info;  // unknown: not from rte_log
  if (rte_level <= static_cast<int>(RTE_LOG_CRIT)) return spdlog::level::critical;
  if (rte_level == static_cast<int>(RTE_LOG_ERR)) return spdlog::level::err;
  if (rte_level == static_cast<int>(RTE_LOG_WARNING)) return spdlog::level::warn;
  if (rte_level <= static_cast<int>(RTE_LOG_INFO)) return spdlog::level::info;
  return spdlog::level::debug;
}

}  // namespace

DpdkLog::DpdkLog() : stream_(ring_, &rte_log_cur_msg_loglevel) {
  rte_openlog_stream(stream_.file());
}

DpdkLog::~DpdkLog() {
  drain();
  rte_openlog_stream(nullptr);
}

size_t DpdkLog::drain() {
  size_t n = 0;
  LogRing::Line line;
  while (ring_.pop(line)) {
    std::string_view text = line.text;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    spdlog::log(spdlogLevel(line.level), "dpdk: {}", text);
    ++n;
  }
  const uint64_t dropped = ring_.dropped();
  if (dropped != dropped_reported_) {
    spdlog::warn("dpdk: {} log lines dropped (log ring of {} lines full); {} in total",
                 dropped - dropped_reported_, ring_.capacity(), dropped);
    dropped_reported_ = dropped;
  }
  return n;
}

}  // namespace rtvs
