#include "switch/daemon/stats_reader.h"

namespace rtvs {

StatsReader::StatsReader(const std::vector<NodePtr<Pmd>>& pmds) : pmds_(pmds) {}

PortTotals StatsReader::portSum(uint16_t index) const {
  PortTotals t;
  for (const auto& pmd : pmds_) {
    const PortCounters& c = pmd->stats().ports[index];
    for (unsigned i = 0; i < kNumPmdPortCounters; ++i) t.n[i] += (c.*kPortCounterField[i]).get();
    for (unsigned r = 0; r < kNumDropReasons; ++r) t.drops[r] += c.drops[r].get();
    t[kOverBudget] += pmd->stats().over_budget[index].get();
  }
  return t;
}

void StatsReader::latency(uint16_t index, HistogramSnapshot& in, HistogramSnapshot& out) const {
  in = HistogramSnapshot();
  out = HistogramSnapshot();
  for (const auto& pmd : pmds_) {
    pmd->stats().residence_in[index].addTo(in);
    pmd->stats().residence_out[index].addTo(out);
  }
}

void StatsReader::latencySince(uint16_t index, HistogramSnapshot& in,
                               HistogramSnapshot& out) const {
  latency(index, in, out);
  if (const PortLatencyBase* b = lat_base_[index].get()) {
    in = in.minus(b->in);
    out = out.minus(b->out);
  }
}

void StatsReader::clearLatency(uint16_t index) {
  if (!lat_base_[index]) lat_base_[index] = std::make_unique<PortLatencyBase>();
  latency(index, lat_base_[index]->in, lat_base_[index]->out);
}

StatsReader::PmdBase& StatsReader::pmdBase(const Pmd& pmd) {
  if (pmd_base_.size() <= pmd.id()) pmd_base_.resize(pmd.id() + 1);
  if (!pmd_base_[pmd.id()]) pmd_base_[pmd.id()] = std::make_unique<PmdBase>();
  return *pmd_base_[pmd.id()];
}

const StatsReader::PmdBase* StatsReader::pmdBaseOrNull(const Pmd& pmd) const {
  return pmd.id() < pmd_base_.size() ? pmd_base_[pmd.id()].get() : nullptr;
}

uint64_t StatsReader::busyCycles(const Pmd& pmd) const {
  const PmdBase* b = pmdBaseOrNull(pmd);
  return pmd.stats().busy_cycles.get() - (b ? b->busy : 0);
}

uint64_t StatsReader::idleCycles(const Pmd& pmd) const {
  const PmdBase* b = pmdBaseOrNull(pmd);
  return pmd.stats().idle_cycles.get() - (b ? b->idle : 0);
}

namespace {

// Frames this PMD received, on all its rx queues, since start (the counters only grow).
uint64_t rxSinceStart(const PmdStats& s) {
  uint64_t n = 0;
  for (const PortCounters& c : s.ports) n += c.rx_packets.get();
  return n;
}

}  // namespace

uint64_t StatsReader::rxPackets(const Pmd& pmd) const {
  const PmdBase* b = pmdBaseOrNull(pmd);
  return rxSinceStart(pmd.stats()) - (b ? b->rx : 0);
}

uint64_t StatsReader::rxqBusyCycles(const Pmd& pmd, unsigned port, unsigned queue) const {
  const PmdBase* b = pmdBaseOrNull(pmd);
  return pmd.stats().rxq_busy_cycles[port][queue].get() -
         (b ? b->rxq_busy[size_t{port} * kMaxPortQueues + queue] : 0);
}

uint64_t StatsReader::rxqBusyCycles(const Pmd& pmd) const {
  uint64_t n = 0;
  for (unsigned port = 0; port < kMaxPorts; ++port) {
    for (unsigned q = 0; q < kMaxPortQueues; ++q) n += rxqBusyCycles(pmd, port, q);
  }
  return n;
}

void StatsReader::clearPmd(const Pmd& pmd) {
  PmdBase& b = pmdBase(pmd);
  const PmdStats& s = pmd.stats();
  b.busy = s.busy_cycles.get();
  b.idle = s.idle_cycles.get();
  b.rx = rxSinceStart(s);
  for (unsigned port = 0; port < kMaxPorts; ++port) {
    for (unsigned q = 0; q < kMaxPortQueues; ++q) {
      b.rxq_busy[size_t{port} * kMaxPortQueues + q] = s.rxq_busy_cycles[port][q].get();
    }
  }
}

HistogramSnapshot StatsReader::iteration(const Pmd& pmd) const {
  HistogramSnapshot h;
  pmd.stats().iteration.addTo(h);
  const PmdBase* b = pmdBaseOrNull(pmd);
  return b ? h.minus(b->iteration) : h;
}

HistogramSnapshot StatsReader::pollGap(const Pmd& pmd) const {
  HistogramSnapshot h;
  pmd.stats().poll_gap.addTo(h);
  const PmdBase* b = pmdBaseOrNull(pmd);
  return b ? h.minus(b->poll_gap) : h;
}

void StatsReader::clearPmdLatency(const Pmd& pmd) {
  PmdBase& b = pmdBase(pmd);
  b.iteration = HistogramSnapshot();
  b.poll_gap = HistogramSnapshot();
  pmd.stats().iteration.addTo(b.iteration);
  pmd.stats().poll_gap.addTo(b.poll_gap);
}

}  // namespace rtvs
