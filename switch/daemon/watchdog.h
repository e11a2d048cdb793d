#pragma once
// systemd supervision (sd_notify): READY=1 once the switch runs, STATUS= lines with ports, PMDs
// and what is degraded, and WATCHDOG=1 only while the control thread loops (it calls tick()) and
// every PMD's iteration counter has advanced since the previous ping. A PMD that stops iterating
// (a hang, a stop, a livelock outside the poll loop) stops the pings, and systemd restarts the
// service after WatchdogSec. Without NOTIFY_SOCKET (not under systemd) every call is a no-op.
// Runs on the control thread only.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace rtvs {

class Switch;

class Watchdog {
 public:
  // Reads WATCHDOG_USEC/WATCHDOG_PID (sd_watchdog_enabled) once.
  Watchdog();

  void ready(const Switch& sw);
  void stopping();

  // One control-loop round: every quarter of the watchdog interval (or second, without one)
  // compares the PMDs' iteration counters with the last check, pings when all advanced and
  // sends STATUS= when it changed.
  void tick(const Switch& sw);

  // The watchdog interval systemd asked for (zero: none).
  std::chrono::microseconds interval() const { return interval_; }

 private:
  std::string status(const Switch& sw, const std::vector<unsigned>& stalled) const;
  void send(const std::string& state);

  std::chrono::microseconds interval_{0};
  std::chrono::steady_clock::duration check_every_;
  std::chrono::steady_clock::time_point last_check_;
  std::vector<uint64_t> last_iterations_;
  std::vector<std::chrono::steady_clock::time_point> last_progress_;
  std::string last_status_;
  bool was_stalled_ = false;
};

}  // namespace rtvs
