#include "switch/daemon/watchdog.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstring>

#include "switch/daemon/switch.h"

namespace rtvs {

namespace {

using Clock = std::chrono::steady_clock;

std::string plural(unsigned n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

}  // namespace

Watchdog::Watchdog() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) interval_ = std::chrono::microseconds(usec);
  // systemd's advice is to ping at half the interval; checking at a quarter leaves a stalled
  // check or two of slack on a loaded host before the service is killed.
  check_every_ = interval_.count() > 0 ? Clock::duration(interval_ / 4) : std::chrono::seconds(1);
  if (check_every_ < std::chrono::milliseconds(10)) check_every_ = std::chrono::milliseconds(10);
}

void Watchdog::send(const std::string& state) {
  // Not under systemd (no NOTIFY_SOCKET): sd_notify returns 0 and sends nothing.
  const int rc = sd_notify(0, state.c_str());
  if (rc < 0) spdlog::debug("sd_notify({}): {}", state, strerror(-rc));
}

std::string Watchdog::status(const Switch& sw, const std::vector<unsigned>& stalled) const {
  const Switch::Health h = sw.health();
  std::string s = plural(h.ports, "port") + " (" + std::to_string(h.ports_up) + " up), " +
                  plural(static_cast<unsigned>(h.pmd_iterations.size()), "PMD");
  if (stalled.empty()) return "running: " + s;
  std::string which;
  for (unsigned i : stalled) {
    which += (which.empty() ? "" : ", ") + std::to_string(i) + " (core " +
             std::to_string(h.pmd_cores[i]) + ")";
  }
  return "degraded: PMD " + which + " not iterating, watchdog pings withheld; " + s;
}

void Watchdog::ready(const Switch& sw) {
  last_iterations_ = sw.health().pmd_iterations;
  last_check_ = Clock::now();
  last_progress_.assign(last_iterations_.size(), last_check_);
  last_status_ = status(sw, {});
  send("READY=1\nSTATUS=" + last_status_);
  if (interval_.count() > 0) {
    spdlog::info(
        "systemd watchdog: {} ms, pinged while the control loop runs and every PMD "
        "iterates",
        interval_.count() / 1000);
  }
}

void Watchdog::stopping() { send("STOPPING=1\nSTATUS=stopping"); }

void Watchdog::tick(const Switch& sw) {
  const Clock::time_point now = Clock::now();
  if (now - last_check_ < check_every_) return;
  last_check_ = now;
  const std::vector<uint64_t> iterations = sw.health().pmd_iterations;
  std::vector<unsigned> stalled;
  for (unsigned i = 0; i < iterations.size() && i < last_iterations_.size(); ++i) {
    if (iterations[i] != last_iterations_[i]) {
      last_progress_[i] = now;
    } else {
      stalled.push_back(i);
    }
  }
  last_iterations_ = iterations;

  if (!stalled.empty() && !was_stalled_) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        now - last_progress_[stalled.front()]);
    spdlog::error("PMD {} has not iterated for {} ms: watchdog pings withheld", stalled.front(),
                  ms.count());
  } else if (stalled.empty() && was_stalled_) {
    spdlog::warn("every PMD iterates again: watchdog pings resume");
  }
  was_stalled_ = !stalled.empty();

  std::string state;
  if (stalled.empty() && interval_.count() > 0) state = "WATCHDOG=1";
  const std::string st = status(sw, stalled);
  if (st != last_status_) {
    state += (state.empty() ? "" : "\n") + ("STATUS=" + st);
    last_status_ = st;
  }
  if (!state.empty()) send(state);
}

}  // namespace rtvs
