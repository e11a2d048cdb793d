#pragma once
// The control thread's reader of the PMDs' counters and histograms: sums them across PMDs and
// keeps every baseline that "clear" takes (stats.clear, latency.clear), so the PMDs never write
// for a reader (OVS's n[] and zero[]). A cleared value is the sum now minus its baseline.

#include <cstdint>
#include <memory>
#include <vector>

#include "switch/core/counters.h"
#include "switch/core/histogram.h"
#include "switch/dataplane/pmd.h"

namespace rtvs {

class StatsReader {
 public:
  // `pmds` outlives the reader (the Switch's); the reader sizes its PMD baselines on first use.
  explicit StatsReader(const std::vector<NodePtr<Pmd>>& pmds);

  // ---- ports, by switch port index ----
  // The PMDs' counters of port `index` summed (rx/tx, drops, over_budget); the counters of other
  // sources (guest_notifications, the driver's) are the caller's to add.
  PortTotals portSum(uint16_t index) const;
  // `now` minus the port's baseline.
  PortTotals portSince(uint16_t index, const PortTotals& now) const {
    return now.minus(port_base_[index]);
  }
  void clearPort(uint16_t index, const PortTotals& now) { port_base_[index] = now; }

  // Residence histograms of port `index` summed over PMDs, since start.
  void latency(uint16_t index, HistogramSnapshot& in, HistogramSnapshot& out) const;
  // The same since the port's last latency clear.
  void latencySince(uint16_t index, HistogramSnapshot& in, HistogramSnapshot& out) const;
  void clearLatency(uint16_t index);

  // ---- PMDs (since the last stats.clear of all ports, or since start) ----
  uint64_t busyCycles(const Pmd& pmd) const;
  uint64_t idleCycles(const Pmd& pmd) const;
  uint64_t rxPackets(const Pmd& pmd) const;  // on all its rx queues
  uint64_t rxqBusyCycles(const Pmd& pmd, unsigned port, unsigned queue) const;
  uint64_t rxqBusyCycles(const Pmd& pmd) const;  // all rx queues
  void clearPmd(const Pmd& pmd);

  // Iteration and poll-gap histograms since the last latency.clear of all ports.
  HistogramSnapshot iteration(const Pmd& pmd) const;
  HistogramSnapshot pollGap(const Pmd& pmd) const;
  void clearPmdLatency(const Pmd& pmd);

 private:
  struct PortLatencyBase {
    HistogramSnapshot in, out;
  };
  struct PmdBase {
    uint64_t busy = 0, idle = 0, rx = 0;
    // rx queue busy cycles by port index and queue.
    std::vector<uint64_t> rxq_busy = std::vector<uint64_t>(size_t{kMaxPorts} * kMaxPortQueues);
    HistogramSnapshot iteration, poll_gap;
  };
  PmdBase& pmdBase(const Pmd& pmd);
  const PmdBase* pmdBaseOrNull(const Pmd& pmd) const;

  const std::vector<NodePtr<Pmd>>& pmds_;
  std::vector<PortTotals> port_base_ = std::vector<PortTotals>(kMaxPorts);
  // Allocated at a port's first clear (a snapshot is a few KiB).
  std::vector<std::unique_ptr<PortLatencyBase>> lat_base_ =
      std::vector<std::unique_ptr<PortLatencyBase>>(kMaxPorts);
  std::vector<std::unique_ptr<PmdBase>> pmd_base_;
};

}  // namespace rtvs
