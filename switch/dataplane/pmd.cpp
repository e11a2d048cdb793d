// runs on a PMD thread: no locks, syscalls, allocation or logging
// (except run()'s prologue, which sets the thread's scheduling policy once before polling.)
#include "switch/dataplane/pmd.h"

#include <pthread.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include <cerrno>
#include <cstring>

namespace rtvs {

namespace {
constexpr unsigned kMaxTxRetries = 4;

inline bool isMulticast(const uint8_t* mac) noexcept { return mac[0] & 1; }

// The MAC at `p` as MacTable::fromBytes gives it, from one unaligned 8-byte load: the caller
// guarantees 8 readable bytes (both addresses of a 14-byte Ethernet header qualify).
inline MacAddr loadMac(const uint8_t* p) noexcept {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return rte_be_to_cpu_64(w) >> 16;
}
// Not a 48-bit MAC: the "nothing cached yet" value of the per-burst lookup caches.
constexpr MacAddr kNoMac = ~MacAddr{0};

// Frees `n` mbufs that were not transmitted.
inline void freeBulk(rte_mbuf** pkts, uint16_t n) noexcept {
  if (n) rte_pktmbuf_free_bulk(pkts, n);
}
}  // namespace

Pmd::Pmd(unsigned id, unsigned core, const Shared& shared, rte_ring* learn_ring)
    : id_(id), core_(core), shared_(shared), learn_ring_(learn_ring),
      stats_(std::make_unique<PmdStats>()) {}

int Pmd::run() noexcept {
  if (priority_ > 0) {
    sched_param sp{};
    sp.sched_priority = priority_;
    prio_error_.store(pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp),
                      std::memory_order_release);
  }
  rte_rcu_qsbr_thread_register(shared_.rcu, id_);
  rte_rcu_qsbr_thread_online(shared_.rcu, id_);
  started_.store(true, std::memory_order_release);

  PmdStats& st = *stats_;
  const bool accounting = shared_.accounting;
  rte_mbuf* pkts[kBurst];
  uint64_t prev_end = rte_rdtsc();
  while (!stop_.load(std::memory_order_relaxed)) {
    const Snapshot* s = shared_.snapshot->load(std::memory_order_acquire);
    const uint64_t iter_start = rte_rdtsc();
    bool busy = false;
    for (const RxqRef& q : s->rxqs[id_]) {
      const uint64_t now = rte_rdtsc();
      uint64_t& last = last_poll_[q.port->index][q.queue];
      if (accounting && last != 0) {
        const uint64_t gap = now - last;
        st.poll_gap.record(gap);
        if (gap > st.longest_gap.get()) {
          st.longest_gap.v.store(gap, std::memory_order_relaxed);
          st.longest_gap_tsc.v.store(now, std::memory_order_relaxed);
        }
      }
      last = now;
      const uint16_t n = rte_eth_rx_burst(q.port->port_id, q.queue, pkts, kBurst);
      if (n == 0) continue;
      busy = true;
      processBurst(*s, q, pkts, n, now);
      st.rxq_busy_cycles[q.port->index][q.queue].add(rte_rdtsc() - now);
    }
    const uint64_t end = rte_rdtsc();
    if (accounting) st.iteration.record(end - prev_end);
    (busy ? st.busy_cycles : st.idle_cycles).add(end - iter_start);
    st.iterations.add(1);
    prev_end = end;
    rte_rcu_qsbr_quiescent(shared_.rcu, id_);
  }
  rte_rcu_qsbr_thread_offline(shared_.rcu, id_);
  rte_rcu_qsbr_thread_unregister(shared_.rcu, id_);
  return 0;
}

void Pmd::postLearn(MacAddr mac, uint16_t port, uint64_t now) noexcept {
  // A small direct-mapped filter keeps one MAC from flooding the ring before the control thread
  // has learned it: the same (mac, port) is posted again only after ~10 ms.
  const uint64_t key = encodeLearn(mac, port);
  Posted& p = posted_[(key * 0x9E3779B97F4A7C15ull) >> 56];
  if (p.key == key && now - p.tsc < shared_.tsc_hz / 100) return;
  p.key = key;
  p.tsc = now;
  void* obj = reinterpret_cast<void*>(static_cast<uintptr_t>(key));
  if (rte_ring_sp_enqueue(learn_ring_, obj) == 0) {
    stats_->learn_posted.add(1);
  } else {
    stats_->learn_ring_full.add(1);
  }
}

inline void Pmd::enqueueTx(uint16_t port, rte_mbuf* m) noexcept {
  TxBuf& b = tx_[port];
  if (b.n == 0) tx_dirty_[n_dirty_++] = port;
  b.pkts[b.n++] = m;
}

void Pmd::processBurst(const Snapshot& s, const RxqRef& q, rte_mbuf** pkts, uint16_t n,
                       uint64_t rx_tsc) noexcept {
  PmdStats& st = *stats_;
  const uint16_t in = q.port->index;
  PortCounters& inc = st.ports[in];
  MacTable& macs = *shared_.macs;
  uint64_t bytes = 0;
  // A burst mostly repeats a few flows: each MAC is looked up once per run of equal addresses.
  // A source already handled in this burst needs no second touch or learn post.
  MacAddr last_src = kNoMac, last_dst = kNoMac;
  uint16_t last_dst_port = kNoPort;

  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    const uint32_t len = rte_pktmbuf_pkt_len(m);
    bytes += len;
    if (rte_pktmbuf_data_len(m) < kEthHdrLen) {
      inc.drops[kDropRunt].add(1);
      rte_pktmbuf_free(m);
      continue;
    }
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    const uint8_t* dst_b = eth->dst_addr.addr_bytes;
    const uint8_t* src_b = eth->src_addr.addr_bytes;

    if (const MacAddr src = loadMac(src_b); src != last_src) {
      last_src = src;
      if (!isMulticast(src_b)) {
        const MacTable::Hit h = macs.lookup(src);
        if (h.port == in) {
          macs.touch(h.slot, rx_tsc, shared_.tsc_hz);
        } else {
          postLearn(src, in, rx_tsc);
        }
      }
    }

    if (!isMulticast(dst_b)) {
      if (const MacAddr dst = loadMac(dst_b); dst != last_dst) {
        last_dst = dst;
        last_dst_port = macs.lookup(dst).port;
      }
      const uint16_t out_port = last_dst_port;
      if (out_port == in) {
        inc.drops[kDropHairpin].add(1);
        rte_pktmbuf_free(m);
        continue;
      }
      if (out_port != kNoPort) {
        const DpPort* out = s.ports[out_port];
        if (out == nullptr) {  // learned for a port being removed
          rte_pktmbuf_free(m);
          inc.drops[kDropLinkDown].add(1);
          continue;
        }
        if (!out->canSend()) {
          st.ports[out_port].drops[kDropLinkDown].add(1);
          rte_pktmbuf_free(m);
        } else if (len > out->max_frame) {
          st.ports[out_port].drops[kDropMtu].add(1);
          rte_pktmbuf_free(m);
        } else {
          enqueueTx(out_port, m);
        }
        continue;
      }
    }

    // Flood: broadcast, multicast, unknown unicast → every other port that is up.
    uint16_t outs[kMaxPorts];
    uint16_t n_out = 0;
    for (uint16_t p : s.port_list) {
      if (p == in) continue;
      const DpPort* out = s.ports[p];
      if (!out->canSend()) continue;
      if (len > out->max_frame) {
        st.ports[p].drops[kDropMtu].add(1);
        continue;
      }
      outs[n_out++] = p;
    }
    if (n_out == 0) {
      rte_pktmbuf_free(m);
      continue;
    }
    if (n_out > 1) {
      // Every segment carries its own reference count: each egress frees the chain once.
      for (rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
        rte_mbuf_refcnt_update(seg, static_cast<int16_t>(n_out - 1));
      }
    }
    for (uint16_t k = 0; k < n_out; ++k) enqueueTx(outs[k], m);
  }
  inc.rx_packets.add(n);
  inc.rx_bytes.add(bytes);
  flushTx(s, in, rx_tsc);
}

void Pmd::flushTx(const Snapshot& s, uint16_t ingress, uint64_t rx_tsc) noexcept {
  PmdStats& st = *stats_;
  for (uint16_t d = 0; d < n_dirty_; ++d) {
    const uint16_t p = tx_dirty_[d];
    TxBuf& b = tx_[p];
    const DpPort* out = s.ports[p];
    PortCounters& c = st.ports[p];
    const uint16_t txq = out->txq_of_pmd[id_];
    // Once handed over, an mbuf may be freed by the driver at once: sum the lengths before.
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < b.n; ++i) bytes += rte_pktmbuf_pkt_len(b.pkts[i]);
    if (out->txq_shared) rte_spinlock_lock(const_cast<rte_spinlock_t*>(&out->txq_lock[txq]));
    uint16_t sent = rte_eth_tx_burst(out->port_id, txq, b.pkts, b.n);
    // Retry while the queue makes progress: a guest that drains slowly gets a few more chances,
    // a stuck one costs at most one extra attempt.
    for (unsigned r = 0; sent < b.n && r < kMaxTxRetries; ++r) {
      const uint16_t more = rte_eth_tx_burst(out->port_id, txq, b.pkts + sent, b.n - sent);
      c.tx_retries.add(1);
      if (more == 0) break;
      sent += more;
    }
    if (out->txq_shared) rte_spinlock_unlock(const_cast<rte_spinlock_t*>(&out->txq_lock[txq]));
    const uint64_t tx_tsc = rte_rdtsc();
    if (sent < b.n) {
      for (uint16_t i = sent; i < b.n; ++i) bytes -= rte_pktmbuf_pkt_len(b.pkts[i]);
      c.drops[kDropTxFull].add(b.n - sent);
      freeBulk(b.pkts + sent, b.n - sent);
    }
    if (sent) {
      c.tx_packets.add(sent);
      c.tx_bytes.add(bytes);
      const uint64_t residence = tx_tsc - rx_tsc;
      if (shared_.accounting) {
        st.residence_out[p].recordN(residence, sent);
        st.residence_in[ingress].recordN(residence, sent);
      }
      if (out->latency_budget_ticks && residence > out->latency_budget_ticks) {
        st.over_budget[p].add(sent);
        if (residence > st.worst_over_budget[p].get()) {
          st.worst_over_budget[p].v.store(residence, std::memory_order_relaxed);
        }
      }
    }
    b.n = 0;
  }
  n_dirty_ = 0;
}

}  // namespace rtvs
