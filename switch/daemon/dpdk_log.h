#pragma once
// DPDK's log routed through a lock-free ring to the control thread, which writes it with spdlog
// (see switch/core/log_ring.h): no thread that calls rte_log, a PMD least of all, ever blocks on
// stderr or syslog.

#include <cstdint>

#include "switch/core/log_ring.h"

namespace rtvs {

class DpdkLog {
 public:
  static constexpr size_t kRingSlots = 1024;

  // Installs the stream with rte_openlog_stream (before rte_eal_init, so EAL's own lines come
  // through it too).
  DpdkLog();
  // Restores DPDK's default stream after a last drain().
  ~DpdkLog();
  DpdkLog(const DpdkLog&) = delete;
  DpdkLog& operator=(const DpdkLog&) = delete;

  // Control thread: writes the waiting lines with spdlog ("dpdk: ..."), and one warning when
  // lines were dropped since the last call. Returns the number of lines written.
  size_t drain();

  uint64_t lines() const noexcept { return ring_.pushed(); }
  uint64_t dropped() const noexcept { return ring_.dropped(); }

 private:
  LogRing ring_{kRingSlots};
  LogStream stream_;
  uint64_t dropped_reported_ = 0;
};

}  // namespace rtvs
