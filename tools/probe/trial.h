#pragma once
// One measurement trial of rtvswitch-probe: port A sends test frames to port B at a paced rate
// (or as fast as A's port takes them) for a duration; B timestamps arrivals. Both ports are in
// this process, so one-way latency is rx TSC - tx TSC on the same clock.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>

#include "switch/core/histogram.h"
#include "tools/guest/virtio_port.h"

namespace rtvs::probe {

struct TrialConfig {
  double rate_pps = 0;          // 0: as fast as port A takes frames
  double duration_s = 1;        // measured part
  double warmup_s = 0;          // sent before, same rate, not counted
  unsigned burst = 32;          // most frames per tx burst (catch-up after a stall included)
  uint32_t size = 64;           // frame length without FCS
  unsigned flows = 1;           // frame k uses MAC pair k % flows (flowMac)
  double drain_quiet_s = 0.05;  // after the last frame: wait until B is quiet this long (max 1 s)
};

struct TrialResult {
  double rate_pps = 0;     // asked
  double duration_s = 0;   // measured part, as it really took
  uint64_t offered = 0;    // frames handed to A's tx (sent + tx_failed)
  uint64_t sent = 0;       // A's port took them
  uint64_t tx_failed = 0;  // A's port refused them (its ring stayed full): lost at the switch
  uint64_t received = 0;   // unique frames of this trial at B
  uint64_t dup = 0;
  uint64_t reorder = 0;
  uint64_t bad = 0;           // ours but cut or padded
  uint64_t foreign = 0;       // anything else at A or B (floods, other trials' stragglers)
  HistogramSnapshot latency;  // TSC ticks, measured frames only

  uint64_t lost() const noexcept { return offered > received ? offered - received : 0; }
  double lossRatio() const noexcept {
    return offered == 0 ? 0.0 : static_cast<double>(lost()) / static_cast<double>(offered);
  }
  double offeredRate() const noexcept { return duration_s > 0 ? offered / duration_s : 0; }
  double rxRate() const noexcept { return duration_s > 0 ? received / duration_s : 0; }
};

nlohmann::json toJson(const TrialResult& r, uint64_t tsc_hz, bool with_buckets);

// The MAC of flow f on a port whose own MAC is `base`: bytes 3 and 4 XOR f (flow 0 is `base`).
// A's and B's flow MACs never meet when the two base MACs differ outside bytes 3-4.
rte_ether_addr flowMac(const rte_ether_addr& base, unsigned f) noexcept;

// Runs trials on two attached ports. Also keeps the gap histogram of its own poll loop while
// measuring: time the probe itself lost to the host, the noise floor beside the latencies.
class TrialRunner {
 public:
  TrialRunner(guest::VirtioPort& a, guest::VirtioPort& b, rte_mempool* pool);

  // Sends marker frames both ways (so a learning switch knows both MACs) until each side has
  // received one; then, for flows > 1, one frame from every other flow MAC of each side, so that
  // the switch has learned them all before measuring. Returns false on timeout.
  bool waitForwarding(double timeout_s, unsigned flows = 1);
  TrialResult run(const TrialConfig& cfg);
  // Gaps between consecutive iterations of the measuring loop, in TSC ticks, over all trials.
  HistogramSnapshot loopGaps() const;

 private:
  unsigned drain(guest::VirtioPort& p, uint32_t flow, TrialResult* r, uint64_t rx_tsc);

  guest::VirtioPort& a_;
  guest::VirtioPort& b_;
  rte_mempool* pool_;
  uint32_t next_flow_ = 1;
  uint64_t seq_ = 0;
  std::unique_ptr<Histogram> loop_gaps_;
};

}  // namespace rtvs::probe
