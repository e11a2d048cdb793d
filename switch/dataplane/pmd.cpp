// runs on a PMD thread: no locks, syscalls, allocation or logging
// (except run()'s prologue, which sets the thread's scheduling policy once before polling.)
#include "switch/dataplane/pmd.h"

#include <pthread.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>
#include <rte_vhost.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace rtvs {

namespace {

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

// A port's receive and transmit, by kind: one predictable branch on DpPort::vhost. A native vhost
// port's rx queue q is the guest's tx virtqueue 2q+1, its tx queue q the guest's rx virtqueue 2q.
// A vhost port's frames are copied out of the guest into `pool`, the polling PMD's node's pool
// (an ethdev rx queue has the pool it was set up with).
inline uint16_t rxBurst(const DpPort& p, uint16_t q, rte_mbuf** pkts, uint16_t n,
                        rte_mempool* pool) noexcept {
  if (p.vhost == nullptr) return rte_eth_rx_burst(p.port_id, q, pkts, n);
  const int vid = p.vhost->vid.load(std::memory_order_acquire);
  if (vid < 0) return 0;  // no guest
  return rte_vhost_dequeue_burst(vid, static_cast<uint16_t>(2 * q + 1), pool, pkts, n);
}

// Takes the sent mbufs (like rte_eth_tx_burst): the vhost library copies them into the guest's
// buffers, so they are freed here.
inline uint16_t txBurst(const DpPort& p, uint16_t q, rte_mbuf** pkts, uint16_t n) noexcept {
  if (p.vhost == nullptr) return rte_eth_tx_burst(p.port_id, q, pkts, n);
  const int vid = p.vhost->vid.load(std::memory_order_acquire);
  if (vid < 0) return 0;
  const uint16_t sent = rte_vhost_enqueue_burst(vid, static_cast<uint16_t>(2 * q), pkts, n);
  if (sent) rte_pktmbuf_free_bulk(pkts, sent);
  return sent;
}

// Frees `n` mbufs that were not transmitted.
inline void freeBulk(rte_mbuf** pkts, uint16_t n) noexcept {
  if (n) rte_pktmbuf_free_bulk(pkts, n);
}
}  // namespace

Pmd::Pmd(unsigned id, unsigned core, const Shared& shared, rte_ring* learn_ring, int node,
         rte_mempool* pool)
    : id_(id),
      core_(core),
      shared_(shared),
      learn_ring_(learn_ring),
      node_(node),
      pool_(pool),
      stats_(newOnNode<PmdStats>("rtvs_pmd_stats", node)) {}  // rt: start-up, control thread

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
      const uint16_t n = rxBurst(*q.port, q.queue, pkts, kBurst, pool_);
      if (n == 0) continue;
      busy = true;
      processBurst(*s, q, pkts, n, now);
      st.rxq_busy_cycles[q.port->index][q.queue].add(rte_rdtsc() - now);
    }
    endIteration(*s);
    const uint64_t end = rte_rdtsc();
    if (accounting) st.iteration.record(end - prev_end);
    (busy ? st.busy_cycles : st.idle_cycles).add(end - iter_start);
    st.iterations.add(1);
    prev_end = end;
    rte_rcu_qsbr_quiescent(shared_.rcu, id_);
  }
  dropPending();
  rte_rcu_qsbr_thread_offline(shared_.rcu, id_);
  rte_rcu_qsbr_thread_unregister(shared_.rcu, id_);
  return 0;
}

void Pmd::dropPending() noexcept {
  for (uint16_t d = 0; d < n_dirty_; ++d) {
    TxBuf& b = tx_[tx_dirty_[d]];
    stats_->ports[tx_dirty_[d]].drops[kDropLinkDown].add(b.n);
    freeBulk(b.pkts, b.n);
    b.n = 0;
  }
  n_dirty_ = 0;
}

void Pmd::processBurstForTest(const Snapshot& s, const RxqRef& q, rte_mbuf** pkts,
                              uint16_t n) noexcept {
  processBurst(s, q, pkts, n, rte_rdtsc());
}

void Pmd::endIterationForTest(const Snapshot& s) noexcept { endIteration(s); }

// Frames an egress queue did not take are offered again every iteration, rx or not.
inline void Pmd::endIteration(const Snapshot& s) noexcept {
  if (n_dirty_ != 0) flushTx(s, true);
  ++iter_;
}

void Pmd::postLearn(uint16_t vlan, MacAddr mac, uint16_t port, uint64_t now) noexcept {
  // A small direct-mapped filter keeps one MAC from flooding the ring before the control thread
  // has learned it: the same (vlan, mac, port) is posted again only after ~10 ms.
  const uint64_t key = (uint64_t{vlan} << 48) | mac;
  Posted& p = posted_[((key ^ port) * 0x9E3779B97F4A7C15ull) >> 56];
  if (p.key == key && p.port == port && now - p.tsc < shared_.tsc_hz / 100) return;
  p.key = key;
  p.port = port;
  p.tsc = now;
  LearnEvent ev{mac, vlan, port, 0};
  if (rte_ring_sp_enqueue_elem(learn_ring_, &ev, sizeof ev) == 0) {
    stats_->learn_posted.add(1);
  } else {
    stats_->learn_ring_full.add(1);
  }
}

inline void Pmd::enqueueTx(const DpPort& out, rte_mbuf* m, uint16_t ingress,
                           uint64_t rx_tsc) noexcept {
  TxBuf& b = tx_[out.index];
  if (b.n == kTxBufFrames) {  // the port has left a full buffer: the new frame goes
    stats_->ports[out.index].drops[kDropTxFull].add(1);
    rte_pktmbuf_free(m);
    return;
  }
  if (b.n == 0) {
    tx_dirty_[n_dirty_++] = out.index;
    b.uid = out.uid;
    b.offered = false;
  }
  b.pkts[b.n] = m;
  b.rx_tsc[b.n] = rx_tsc;
  b.ingress[b.n] = ingress;
  ++b.n;
}

namespace {

constexpr uint16_t kBeVlanType = RTE_BE16(RTE_ETHER_TYPE_VLAN);

inline bool hasTag(const rte_mbuf* m) noexcept {
  uint16_t type;
  std::memcpy(&type, rte_pktmbuf_mtod_offset(m, const uint8_t*, 12), 2);
  return type == kBeVlanType;
}

// Gives a private (refcount 1) frame the 802.1Q form a port wants: with a tag of `vlan` (the
// priority bits kept if it had a tag) or without a tag. In place, no allocation: a push uses the
// headroom. False if there is no headroom for a tag.
inline bool setTag(rte_mbuf* m, bool tagged, uint16_t vlan) noexcept {
  auto* p = rte_pktmbuf_mtod(m, uint8_t*);
  const bool has = hasTag(m);
  if (tagged) {
    if (has) {
      uint16_t tci;
      std::memcpy(&tci, p + 14, 2);
      tci = rte_cpu_to_be_16(static_cast<uint16_t>((rte_be_to_cpu_16(tci) & 0xF000) | vlan));
      std::memcpy(p + 14, &tci, 2);
      return true;
    }
    if (rte_pktmbuf_headroom(m) < 4) return false;
    p = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, 4));
    std::memmove(p, p + 4, 12);
    const uint16_t tci = rte_cpu_to_be_16(vlan);
    std::memcpy(p + 12, &kBeVlanType, 2);
    std::memcpy(p + 14, &tci, 2);
  } else if (has) {
    std::memmove(p + 4, p, 12);
    rte_pktmbuf_adj(m, 4);
  }
  return true;
}

inline bool tagIs(const rte_mbuf* m, bool frame_tagged, uint16_t vlan, bool want_tagged) noexcept {
  if (!want_tagged) return !frame_tagged;
  if (!frame_tagged) return false;
  uint16_t tci;
  std::memcpy(&tci, rte_pktmbuf_mtod_offset(m, const uint8_t*, 14), 2);
  return (rte_be_to_cpu_16(tci) & 0xFFF) == vlan;
}

inline void addRefs(rte_mbuf* m, uint16_t extra) noexcept {
  // Every segment carries its own reference count: each egress frees the chain once.
  if (extra == 0) return;
  for (rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
    rte_mbuf_refcnt_update(seg, static_cast<int16_t>(extra));
  }
}

}  // namespace

void Pmd::processBurst(const Snapshot& s, const RxqRef& q, rte_mbuf** pkts, uint16_t n,
                       uint64_t rx_tsc) noexcept {
  PmdStats& st = *stats_;
  const uint16_t in = q.port->index;
  PortCounters& inc = st.ports[in];
  MacTable& macs = *shared_.macs;
  const PortPolicy& pol = *s.policy[in];
  const bool at_limit = q.port->at_mac_limit.load(std::memory_order_relaxed);
  uint64_t bytes = 0;
  // A burst mostly repeats a few flows: each (VLAN, MAC) is looked up once per run of equal
  // keys. A source already handled in this burst needs no second check, touch or learn post.
  MacAddr last_src = kNoMac, last_dst = kNoMac;
  uint16_t last_dst_port = kNoPort;
  unsigned src_verdict = kNumDropReasons;  // kNumDropReasons: pass

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

    // The frame's VLAN from its tag (if any) and the ingress port's membership.
    const bool tagged = eth->ether_type == kBeVlanType;
    uint16_t vid = 0;
    if (tagged) {
      if (rte_pktmbuf_data_len(m) < kEthHdrLen + 4) {
        inc.drops[kDropRunt].add(1);
        rte_pktmbuf_free(m);
        continue;
      }
      uint16_t tci;
      std::memcpy(&tci, reinterpret_cast<const uint8_t*>(eth) + 14, 2);
      vid = rte_be_to_cpu_16(tci) & 0xFFF;
    }
    const int vl = pol.vlan.ingress(tagged, vid);
    if (vl < 0) {
      inc.drops[kDropVlan].add(1);
      rte_pktmbuf_free(m);
      continue;
    }
    const auto vlan = static_cast<uint16_t>(vl);
    const MacAddr vlan_key = MacAddr{vlan} << 48;

    if (const MacAddr src = loadMac(src_b); (src | vlan_key) != last_src) {
      last_src = src | vlan_key;
      src_verdict = kNumDropReasons;
      if (!pol.allowsSource(src)) {
        src_verdict = kDropSpoof;  // never learned
      } else if (!isMulticast(src_b)) {
        const MacTable::Hit h = macs.lookup(vlan, src);
        if (h.port == in) {
          macs.touch(h.slot, rx_tsc, shared_.tsc_hz);
        } else if (at_limit) {
          src_verdict = kDropMacLimit;
        } else {
          postLearn(vlan, src, in, rx_tsc);
        }
      }
    }
    if (src_verdict != kNumDropReasons) {
      inc.drops[src_verdict].add(1);
      rte_pktmbuf_free(m);
      continue;
    }

    unsigned storm_class = kStormMulticast;
    if (!isMulticast(dst_b)) {
      if (const MacAddr dst = loadMac(dst_b); (dst | vlan_key) != last_dst) {
        last_dst = dst | vlan_key;
        last_dst_port = macs.lookup(vlan, dst).port;
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
        const PortVlan::Egress eg = s.policy[out_port]->vlan.egress(vlan);
        unsigned drop = kNumDropReasons;
        if (!out->canSend()) {
          drop = kDropLinkDown;
        } else if (eg == PortVlan::kNo) {
          drop = kDropVlan;  // an entry learned before the port's VLANs changed
        } else if (!setTag(m, eg == PortVlan::kTagged, vlan)) {
          drop = kDropNoMbuf;
        } else if (rte_pktmbuf_pkt_len(m) > out->max_frame) {
          drop = kDropMtu;
        }
        if (drop != kNumDropReasons) {
          st.ports[out_port].drops[drop].add(1);
          rte_pktmbuf_free(m);
        } else {
          enqueueTx(*out, m, in, rx_tsc);
        }
        continue;
      }
      storm_class = kStormUnknownUnicast;
    } else if (loadMac(dst_b) == 0xFFFFFFFFFFFFull) {
      storm_class = kStormBroadcast;
    }
    if (const uint32_t rate = pol.storm_pps[storm_class];
        rate != 0 && !storm_[in][storm_class].take(rx_tsc, rate, shared_.tsc_hz)) {
      inc.drops[kDropStorm].add(1);
      rte_pktmbuf_free(m);
      continue;
    }
    flood(s, m, in, vlan, tagged, tagged ? len - 4 : len, rx_tsc);
  }
  inc.rx_packets.add(n);
  inc.rx_bytes.add(bytes);
  flushTx(s, false);
}

// Broadcast, multicast, unknown unicast → every other port of the VLAN that is up. Ports that
// want the frame in the form it has share it (reference counts); if some want it tagged and others
// untagged, one copy serves the smaller group (counted in vlan_copies).
void Pmd::flood(const Snapshot& s, rte_mbuf* m, uint16_t in, uint16_t vlan, bool frame_tagged,
                uint32_t untagged_len, uint64_t rx_tsc) noexcept {
  PmdStats& st = *stats_;
  uint16_t tagged_outs[kMaxPorts], untagged_outs[kMaxPorts];
  uint16_t n_tagged = 0, n_untagged = 0;
  for (const FloodEntry& e : s.floods[s.flood_of[vlan]]) {
    if (e.port == in) continue;
    const DpPort* out = s.ports[e.port];
    if (!out->canSend()) continue;
    if (untagged_len + (e.tagged ? 4 : 0) > out->max_frame) {
      st.ports[e.port].drops[kDropMtu].add(1);
      continue;
    }
    if (e.tagged) {
      tagged_outs[n_tagged++] = e.port;
    } else {
      untagged_outs[n_untagged++] = e.port;
    }
  }
  if (n_tagged + n_untagged == 0) {
    rte_pktmbuf_free(m);
    return;
  }
  // `m` takes the form the larger group wants (on a tie, the form it has).
  bool m_tagged = n_tagged > n_untagged;
  if (n_tagged == n_untagged) m_tagged = frame_tagged;
  uint16_t* m_outs = m_tagged ? tagged_outs : untagged_outs;
  const uint16_t n_m = m_tagged ? n_tagged : n_untagged;
  uint16_t* c_outs = m_tagged ? untagged_outs : tagged_outs;
  const uint16_t n_c = m_tagged ? n_untagged : n_tagged;

  if (n_c != 0) {
    rte_mbuf* c = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
    if (c == nullptr || !setTag(c, !m_tagged, vlan)) {
      if (c != nullptr) rte_pktmbuf_free(c);
      for (uint16_t k = 0; k < n_c; ++k) st.ports[c_outs[k]].drops[kDropNoMbuf].add(1);
    } else {
      st.vlan_copies.add(1);
      addRefs(c, static_cast<uint16_t>(n_c - 1));
      for (uint16_t k = 0; k < n_c; ++k) enqueueTx(*s.ports[c_outs[k]], c, in, rx_tsc);
    }
  }
  if (!tagIs(m, frame_tagged, vlan, m_tagged) && !setTag(m, m_tagged, vlan)) {
    for (uint16_t k = 0; k < n_m; ++k) st.ports[m_outs[k]].drops[kDropNoMbuf].add(1);
    rte_pktmbuf_free(m);
    return;
  }
  addRefs(m, static_cast<uint16_t>(n_m - 1));
  for (uint16_t k = 0; k < n_m; ++k) enqueueTx(*s.ports[m_outs[k]], m, in, rx_tsc);
}

void Pmd::flushTx(const Snapshot& s, bool untried_only) noexcept {
  uint16_t kept = 0;
  for (uint16_t d = 0; d < n_dirty_; ++d) {
    const uint16_t p = tx_dirty_[d];
    if ((untried_only && tx_[p].tried_iter == iter_) || !flushPort(s, p)) tx_dirty_[kept++] = p;
  }
  n_dirty_ = kept;
}

// One attempt at most per call, none after an attempt in this iteration that sent nothing: a
// full queue is never spun on. What the queue does not take stays, oldest first, until it is
// older than the port's tx-retry-us.
bool Pmd::flushPort(const Snapshot& s, uint16_t p) noexcept {
  TxBuf& b = tx_[p];
  PortCounters& c = stats_->ports[p];
  const DpPort* out = s.ports[p];
  if (out == nullptr || out->uid != b.uid || !out->canSend()) {  // removed, or down since
    c.drops[kDropLinkDown].add(b.n);
    freeBulk(b.pkts, b.n);
    b.n = 0;
    return true;
  }
  uint16_t sent = 0;
  uint64_t bytes = 0;
  if (b.stuck_iter != iter_) {
    b.tried_iter = iter_;
    const uint16_t txq = out->txq_of_pmd[id_];
    rte_spinlock_t* lock = out->txq_shared[id_] ? &out->txq_lock[txq] : nullptr;
    // rt: a shared tx queue (fewer queues than PMDs, dp_port.h): trylock, never wait for it
    if (lock != nullptr && rte_spinlock_trylock(lock) == 0) {
      c.tx_deferred.add(1);
      b.stuck_iter = iter_;
    } else {
      if (b.offered) c.tx_retries.add(1);
      // Once handed over, an mbuf may be freed by the driver at once: sum the lengths before.
      for (uint16_t i = 0; i < b.n; ++i) bytes += rte_pktmbuf_pkt_len(b.pkts[i]);
      sent = txBurst(*out, txq, b.pkts, b.n);
      for (uint16_t i = sent; i < b.n; ++i) bytes -= rte_pktmbuf_pkt_len(b.pkts[i]);
      if (lock != nullptr) rte_spinlock_unlock(lock);  // rt: the trylock's unlock
      if (sent == 0) b.stuck_iter = iter_;
      b.offered = true;
    }
  }
  const uint64_t now = rte_rdtsc();
  if (sent != 0) accountSent(p, *out, sent, bytes, now);
  // Age what is left: the buffer is in rx order, so the frames past tx-retry-us are a prefix.
  uint16_t expired = sent;
  while (expired < b.n && now - b.rx_tsc[expired] >= out->tx_retry_ticks) ++expired;
  if (expired != sent) {
    c.drops[kDropTxFull].add(expired - sent);
    freeBulk(b.pkts + sent, static_cast<uint16_t>(expired - sent));
  }
  const auto left = static_cast<uint16_t>(b.n - expired);
  if (left != 0 && expired != 0) {
    // To the front (std::copy allows it: the destination starts before the source).
    std::copy(b.pkts + expired, b.pkts + b.n, b.pkts);
    std::copy(b.rx_tsc + expired, b.rx_tsc + b.n, b.rx_tsc);
    std::copy(b.ingress + expired, b.ingress + b.n, b.ingress);
  }
  b.n = left;
  return left == 0;
}

// Counts the `sent` frames at the front of port p's buffer: bytes, and residence from each
// frame's own rx burst (frames of one burst are adjacent: one record per run).
void Pmd::accountSent(uint16_t p, const DpPort& out, uint16_t sent, uint64_t bytes,
                      uint64_t tx_tsc) noexcept {
  PmdStats& st = *stats_;
  PortCounters& c = st.ports[p];
  const TxBuf& b = tx_[p];
  c.tx_packets.add(sent);
  c.tx_bytes.add(bytes);
  for (uint16_t i = 0; i < sent;) {
    uint16_t j = i + 1;
    while (j < sent && b.rx_tsc[j] == b.rx_tsc[i] && b.ingress[j] == b.ingress[i]) ++j;
    const uint64_t residence = tx_tsc - b.rx_tsc[i];
    const auto run = static_cast<uint16_t>(j - i);
    if (shared_.accounting) {
      st.residence_out[p].recordN(residence, run);
      st.residence_in[b.ingress[i]].recordN(residence, run);
    }
    if (out.latency_budget_ticks && residence > out.latency_budget_ticks) {
      st.over_budget[p].add(run);
      if (residence > st.worst_over_budget[p].get()) {
        st.worst_over_budget[p].v.store(residence, std::memory_order_relaxed);
      }
    }
    i = j;
  }
}

}  // namespace rtvs
