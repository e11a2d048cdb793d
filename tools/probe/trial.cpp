#include "tools/probe/trial.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <array>
#include <cmath>
#include <cstring>

#include "tools/guest/testframe.h"

namespace rtvs::probe {

namespace tf = testframe;

namespace {

constexpr unsigned kRxBurst = 32;
constexpr uint32_t kWarmBit = 0x80000000u;  // flow ids of warm-up frames
constexpr uint32_t kMarkerFlow = 0xFFFFFFFFu;

}  // namespace

nlohmann::json toJson(const TrialResult& r, uint64_t tsc_hz, bool with_buckets) {
  nlohmann::json j = {{"rate_pps", r.rate_pps}, {"duration_s", r.duration_s},
                      {"offered", r.offered},   {"offered_pps", r.offeredRate()},
                      {"sent", r.sent},         {"tx_failed", r.tx_failed},
                      {"received", r.received}, {"rx_pps", r.rxRate()},
                      {"lost", r.lost()},       {"loss_ratio", r.lossRatio()},
                      {"dup", r.dup},           {"reorder", r.reorder},
                      {"bad", r.bad},           {"foreign", r.foreign}};
  if (r.latency.count() != 0) {
    j["latency"] = summarize(r.latency, tsc_hz);
    if (with_buckets) j["latency_buckets"] = bucketsToJson(r.latency, tsc_hz);
  }
  return j;
}

rte_ether_addr flowMac(const rte_ether_addr& base, unsigned f) noexcept {
  rte_ether_addr m = base;
  m.addr_bytes[3] ^= static_cast<uint8_t>(f >> 8);
  m.addr_bytes[4] ^= static_cast<uint8_t>(f);
  return m;
}

TrialRunner::TrialRunner(guest::VirtioPort& a, guest::VirtioPort& b, rte_mempool* pool)
    : a_(a), b_(b), pool_(pool), loop_gaps_(std::make_unique<Histogram>()) {}

HistogramSnapshot TrialRunner::loopGaps() const {
  HistogramSnapshot s;
  loop_gaps_->addTo(s);
  return s;
}

namespace {

struct DrainState {
  uint32_t flow = 0;
  Histogram* latency = nullptr;
  tf::SeqTracker* seq = nullptr;
  TrialResult* result = nullptr;
  bool marker_seen = false;
};

// Receives one burst from port p (queue 0), frees it, and accounts our frames of `st.flow`.
unsigned drainOnce(guest::VirtioPort& p, DrainState& st) {
  std::array<rte_mbuf*, kRxBurst> pkts;
  const uint16_t n = rte_eth_rx_burst(p.portId(), 0, pkts.data(), kRxBurst);
  if (n == 0) return 0;
  const uint64_t now = rte_rdtsc();
  for (uint16_t i = 0; i < n; ++i) {
    const tf::Parsed f = tf::parse(pkts[i], false);
    TrialResult* r = st.result;
    if (f.kind == tf::Kind::kOurs && f.flow == kMarkerFlow) {
      st.marker_seen = true;
    } else if (r == nullptr || (f.kind == tf::Kind::kOurs && f.flow == (st.flow | kWarmBit))) {
      // outside a trial, or warm-up: not counted
    } else if (f.kind == tf::Kind::kBad && f.flow == st.flow) {
      r->bad++;
    } else if (f.kind != tf::Kind::kOurs || f.flow != st.flow) {
      r->foreign++;
    } else {
      switch (st.seq->observe(f.seq)) {
        case tf::SeqTracker::Result::kDup:
          r->dup++;
          break;
        case tf::SeqTracker::Result::kReorder:
          r->reorder++;
          [[fallthrough]];
        case tf::SeqTracker::Result::kNew:
          r->received++;
          st.latency->record(now > f.tsc ? now - f.tsc : 0);
          break;
      }
    }
  }
  rte_pktmbuf_free_bulk(pkts.data(), n);
  return n;
}

}  // namespace

bool TrialRunner::waitForwarding(double timeout_s, unsigned flows) {
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t end = rte_rdtsc() + static_cast<uint64_t>(timeout_s * static_cast<double>(hz));
  DrainState at_a, at_b;
  auto marker = [&](guest::VirtioPort& from, guest::VirtioPort& to, unsigned flow = 0) {
    tf::FrameSpec spec;
    spec.src = flowMac(from.args().mac, flow);
    spec.dst = to.args().mac;
    const auto bytes = tf::buildTemplate(spec);
    rte_mbuf* m = tf::mbufFromBytes(pool_, bytes.data(), spec.size);
    if (m == nullptr) return;
    tf::stamp(m, tf::headerLen(false), kMarkerFlow, 0, rte_rdtsc());
    if (rte_eth_tx_burst(from.portId(), 0, &m, 1) != 1) rte_pktmbuf_free(m);
  };
  uint64_t next_send = 0;
  while (!(at_a.marker_seen && at_b.marker_seen)) {
    const uint64_t now = rte_rdtsc();
    if (now > end) return false;
    if (now >= next_send) {
      if (!at_b.marker_seen) marker(a_, b_);
      if (!at_a.marker_seen) marker(b_, a_);
      next_send = now + hz / 100;
    }
    if (drainOnce(a_, at_a) + drainOnce(b_, at_b) == 0) rte_delay_us_sleep(200);
  }
  // The other flows' MACs, a few at a time: a switch learns through a bounded queue.
  for (unsigned f = 1; f < flows; ++f) {
    marker(a_, b_, f);
    marker(b_, a_, f);
    if (f % 16 == 0) {
      const uint64_t pause = rte_rdtsc() + hz / 500;
      while (rte_rdtsc() < pause) {
        if (drainOnce(a_, at_a) + drainOnce(b_, at_b) == 0) rte_delay_us_sleep(200);
      }
    }
  }
  // Let the other markers in flight arrive before measuring.
  const uint64_t settle = rte_rdtsc() + hz / 20;
  while (rte_rdtsc() < settle) {
    if (drainOnce(a_, at_a) + drainOnce(b_, at_b) == 0) rte_delay_us_sleep(200);
  }
  return true;
}

TrialResult TrialRunner::run(const TrialConfig& cfg) {
  TrialResult r;
  r.rate_pps = cfg.rate_pps;
  Histogram latency;
  tf::SeqTracker seq;
  DrainState at_b{next_flow_++, &latency, &seq, &r};
  DrainState at_a{0, &latency, &seq, &r};  // flow 0 is never used: everything at A is foreign
  const uint32_t warm_flow = at_b.flow | kWarmBit;

  tf::FrameSpec spec;
  spec.src = a_.args().mac;
  spec.dst = b_.args().mac;
  spec.size = cfg.size;
  const std::vector<uint8_t> tmpl = tf::buildTemplate(spec);
  const uint32_t off = tf::headerLen(false);
  const bool one_seg = cfg.size <= guest::kDataRoom - RTE_PKTMBUF_HEADROOM;

  const uint64_t hz = rte_get_tsc_hz();
  const double dhz = static_cast<double>(hz);
  const uint64_t t0 = rte_rdtsc();
  const uint64_t t_measure = t0 + static_cast<uint64_t>(cfg.warmup_s * dhz);
  const uint64_t t_end = t_measure + static_cast<uint64_t>(cfg.duration_s * dhz);
  // Paced: frame k is due at t0 + k / rate, and belongs to the warm-up or the measurement by that
  // schedule, not by when a busy host let it out; the trial ends when every frame was offered.
  const bool paced = cfg.rate_pps > 0;
  const double ticks_per_frame = paced ? dhz / cfg.rate_pps : 0;
  const auto warm_frames = static_cast<uint64_t>(std::llround(cfg.warmup_s * cfg.rate_pps));
  const uint64_t total_frames =
      warm_frames + static_cast<uint64_t>(std::llround(cfg.duration_s * cfg.rate_pps));
  uint64_t scheduled = 0;  // frames offered so far, warm-up included
  uint64_t prev = t0;
  uint64_t last_tx = t0;
  std::array<rte_mbuf*, 64> burst;
  const unsigned max_burst = std::min<unsigned>(cfg.burst, burst.size());

  for (;;) {
    const uint64_t now = rte_rdtsc();
    if (now >= t_measure) loop_gaps_->record(now - prev);
    prev = now;
    drainOnce(b_, at_b);
    drainOnce(a_, at_a);
    if (paced ? scheduled >= total_frames : now >= t_end) break;
    unsigned want = max_burst;
    bool measuring = now >= t_measure;
    if (paced) {
      const auto due = std::min<uint64_t>(
          total_frames, static_cast<uint64_t>(static_cast<double>(now - t0) / ticks_per_frame) + 1);
      if (due <= scheduled) continue;
      uint64_t n = std::min<uint64_t>(max_burst, due - scheduled);
      measuring = scheduled >= warm_frames;
      if (!measuring) n = std::min(n, warm_frames - scheduled);  // never mix the two in a burst
      want = static_cast<unsigned>(n);
    }
    const uint32_t flow = measuring ? at_b.flow : warm_flow;
    unsigned built = 0;
    if (one_seg) {
      if (rte_pktmbuf_alloc_bulk(pool_, burst.data(), want) == 0) {
        for (; built < want; ++built) {
          rte_mbuf* m = burst[built];
          std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), tmpl.data(), cfg.size);
          m->data_len = static_cast<uint16_t>(cfg.size);
          m->pkt_len = cfg.size;
        }
      }
    } else {
      while (built < want &&
             (burst[built] = tf::mbufFromBytes(pool_, tmpl.data(), cfg.size)) != nullptr) {
        ++built;
      }
    }
    for (unsigned i = 0; i < built; ++i) {
      if (cfg.flows > 1) {
        // Frame by frame through the MAC pairs: bytes 3-4 of both addresses (see flowMac).
        const unsigned f = static_cast<unsigned>(seq_ % cfg.flows);
        auto* eth = rte_pktmbuf_mtod(burst[i], uint8_t*);
        eth[3] = tmpl[3] ^ static_cast<uint8_t>(f >> 8);
        eth[4] = tmpl[4] ^ static_cast<uint8_t>(f);
        eth[9] = tmpl[9] ^ static_cast<uint8_t>(f >> 8);
        eth[10] = tmpl[10] ^ static_cast<uint8_t>(f);
      }
      tf::stamp(burst[i], off, flow, seq_++, now);
    }
    const uint16_t done = rte_eth_tx_burst(a_.portId(), 0, burst.data(), built);
    if (done < built) rte_pktmbuf_free_bulk(burst.data() + done, built - done);
    scheduled += want;
    last_tx = now;
    if (measuring) {
      r.sent += done;
      r.tx_failed += want - done;
    }
  }
  r.duration_s = paced ? cfg.duration_s : static_cast<double>(t_end - t_measure) / dhz;
  // Paced: a frame the port refused was offered and lost. Unpaced, the port's refusals are the
  // back-pressure that sets the rate, not losses.
  r.offered = paced ? r.sent + r.tx_failed : r.sent;

  const uint64_t quiet = static_cast<uint64_t>(cfg.drain_quiet_s * dhz);
  uint64_t last_rx = rte_rdtsc();
  for (uint64_t now = last_rx; now - last_rx < quiet && now - last_tx < hz; now = rte_rdtsc()) {
    if (drainOnce(b_, at_b) != 0) last_rx = now;
    drainOnce(a_, at_a);
  }
  latency.addTo(r.latency);
  return r;
}

}  // namespace rtvs::probe
