// Pmd::processBurst on ring-backed ethdev ports (net_ring, rte_eth_from_rings): an EAL without
// hugepages, PCI or guests. Each test pushes crafted frames into a port's rx ring, switches them
// as a PMD does and checks what every port's tx ring got, the counters, the learn events and the
// mbuf reference counts (the pool is back to empty after every test). A port whose tx ring is
// full is a slow guest: the PMD keeps what it did not take in its tx buffer.
#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "switch/core/mac_table.h"
#include "switch/core/port_policy.h"
#include "switch/core/port_spec.h"
#include "switch/dataplane/dp_port.h"
#include "switch/dataplane/pmd.h"
#include "switch/dataplane/snapshot.h"

namespace rtvs {
namespace {

constexpr unsigned kPorts = 4;
constexpr uint32_t kMtu = 1500;
constexpr MacAddr kA = 0x525400000001, kB = 0x525400000002, kC = 0x525400000003;
constexpr MacAddr kBroadcast = 0xFFFFFFFFFFFF;

// One EAL per process (ctest runs each test in its own process; a whole-binary run shares it).
class EalEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    cpu_set_t set;
    CPU_ZERO(&set);
    int cpu = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
      while (cpu < CPU_SETSIZE - 1 && !CPU_ISSET(cpu, &set)) ++cpu;
    }
    const std::string lcore = std::to_string(cpu);
    const std::string prefix = "rtvs-pmdtest-" + std::to_string(getpid());
    std::vector<std::string> args = {"pmd_burst_tests",
                                     "--no-huge",
                                     "--no-pci",
                                     "--no-shconf",
                                     "--no-telemetry",
                                     "-m",
                                     "128",
                                     "-l",
                                     lcore,
                                     "--file-prefix",
                                     prefix,
                                     "--log-level=*:warning"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
      std::fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
      std::exit(1);  // not a skip: every test needs the EAL
    }
    runtime_dir_ = rte_eal_get_runtime_dir();
  }
  void TearDown() override {
    rte_eal_cleanup();
    std::error_code ec;
    std::filesystem::remove_all(runtime_dir_, ec);  // /var/run/dpdk/<prefix> (or $XDG_RUNTIME_DIR)
  }

 private:
  std::string runtime_dir_;
};

// A frame: dst, src, optional 802.1Q tag, EtherType 0x0800, payload up to `len` bytes in all.
std::vector<uint8_t> frame(MacAddr dst, MacAddr src, uint32_t len = 64, int vlan = -1) {
  std::vector<uint8_t> f(len, 0xAB);
  for (int i = 0; i < 6; ++i) {
    f[i] = static_cast<uint8_t>(dst >> (40 - 8 * i));
    f[6 + i] = static_cast<uint8_t>(src >> (40 - 8 * i));
  }
  size_t off = 12;
  if (vlan >= 0) {
    f[12] = 0x81;
    f[13] = 0x00;
    f[14] = static_cast<uint8_t>(vlan >> 8);
    f[15] = static_cast<uint8_t>(vlan);
    off = 16;
  }
  f[off] = 0x08;
  f[off + 1] = 0x00;
  return f;
}

// The 802.1Q VID of an mbuf, or -1 if untagged.
int vlanOf(const rte_mbuf* m) {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  if (p[12] != 0x81 || p[13] != 0x00) return -1;
  return ((p[14] << 8) | p[15]) & 0xFFF;
}

class PmdBurst : public ::testing::Test {
 protected:
  void SetUp() override {
    static int serial = 0;
    const std::string tag = std::to_string(serial++);  // names are per process (--no-shconf)
    // No per-lcore cache: the in-use count is exact.
    pool_ = rte_pktmbuf_pool_create(("pmdt_pool_" + tag).c_str(), 511, 0, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr) << rte_strerror(rte_errno);
    for (unsigned i = 0; i < kPorts; ++i) {
      const std::string n = tag + "_" + std::to_string(i);
      rx_[i] = rte_ring_create(("pmdt_rx_" + n).c_str(), 256, SOCKET_ID_ANY,
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
      tx_[i] = rte_ring_create(("pmdt_tx_" + n).c_str(), 256, SOCKET_ID_ANY,
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
      ASSERT_TRUE(rx_[i] && tx_[i]);
      const int id =
          rte_eth_from_rings(("net_ring_t" + n).c_str(), &rx_[i], 1, &tx_[i], 1, SOCKET_ID_ANY);
      ASSERT_GE(id, 0) << rte_strerror(rte_errno);
      port_ids_[i] = static_cast<uint16_t>(id);
      rte_eth_conf conf{};
      ASSERT_EQ(rte_eth_dev_configure(port_ids_[i], 1, 1, &conf), 0);
      ASSERT_EQ(rte_eth_rx_queue_setup(port_ids_[i], 0, 256, SOCKET_ID_ANY, nullptr, pool_), 0);
      ASSERT_EQ(rte_eth_tx_queue_setup(port_ids_[i], 0, 256, SOCKET_ID_ANY, nullptr), 0);
      ASSERT_EQ(rte_eth_dev_start(port_ids_[i]), 0);
      rte_spinlock_init(&locks_[i]);
      auto& dp = dp_[i];
      dp.index = static_cast<uint16_t>(i);
      dp.uid = i + 1;
      dp.tx_retry_ticks = usToTicks(kDefaultTxRetryUs);
      dp.port_id = port_ids_[i];
      dp.max_frame = kMtu + kL2Overhead;
      dp.txq_lock = &locks_[i];
      dp.link_up.store(true);
      dp.name = "p" + std::to_string(i);
      policies_[i] = std::make_shared<PortPolicy>();
    }
    learn_ = rte_ring_create_elem(("pmdt_learn_" + tag).c_str(), sizeof(LearnEvent), 1024,
                                  SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    ASSERT_NE(learn_, nullptr);
    Pmd::Shared shared{&published_, &macs_, nullptr, rte_get_tsc_hz(), true};
    pmd_ = std::make_unique<Pmd>(0, rte_lcore_id(), shared, learn_);
    publish();
  }

  void TearDown() override {
    for (unsigned i = 0; i < kPorts; ++i) {
      EXPECT_TRUE(sent(i).empty()) << "port " << i;
      EXPECT_EQ(pmd_->pendingForTest(static_cast<uint16_t>(i)), 0u) << "port " << i;
    }
    pmd_->dropPending();
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u) << "mbufs leaked (or freed too often)";
    for (unsigned i = 0; i < kPorts; ++i) {
      rte_eth_dev_stop(port_ids_[i]);
      rte_eth_dev_close(port_ids_[i]);
      rte_ring_free(rx_[i]);
      rte_ring_free(tx_[i]);
    }
    rte_ring_free(learn_);
    rte_mempool_free(pool_);
  }

  // The snapshot as Switch::publish builds it, for the ports' current policies (VLAN 0 and the
  // VLANs the test's ports name).
  void publish() {
    snap_ = std::make_unique<Snapshot>();
    std::vector<FloodEntry> all, untagged;
    for (uint16_t i = 0; i < kPorts; ++i) {
      const PortVlan& v = policies_[i]->vlan;
      if (v.egress(0) != PortVlan::kNo) untagged.push_back({i, v.egress(0) == PortVlan::kTagged});
      if (v.mode != VlanMode::kAccess && v.trunk_all) all.push_back({i, true});
      snap_->ports[i] = &dp_[i];
      snap_->policy[i] = policies_[i].get();
      snap_->policy_refs.push_back(policies_[i]);
      snap_->rxqs[0].push_back(RxqRef{&dp_[i], 0});
    }
    snap_->floods = {all, untagged};
    snap_->flood_of.fill(0);
    snap_->flood_of[0] = 1;
    for (uint16_t vlan : {10, 20}) {
      std::vector<FloodEntry> list;
      for (uint16_t i = 0; i < kPorts; ++i) {
        const PortVlan::Egress eg = policies_[i]->vlan.egress(vlan);
        if (eg != PortVlan::kNo) list.push_back({i, eg == PortVlan::kTagged});
      }
      snap_->flood_of[vlan] = static_cast<uint16_t>(snap_->floods.size());
      snap_->floods.push_back(std::move(list));
    }
    published_.store(snap_.get());
  }

  rte_mbuf* mbuf(const std::vector<uint8_t>& bytes) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    EXPECT_NE(m, nullptr);
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size()));
    EXPECT_NE(p, nullptr);
    std::memcpy(p, bytes.data(), bytes.size());
    return m;
  }

  // Frames arrive on port `in`'s rx ring; the PMD polls it once and switches the burst.
  void receive(unsigned in, const std::vector<std::vector<uint8_t>>& frames) {
    for (const auto& f : frames) ASSERT_EQ(rte_ring_enqueue(rx_[in], mbuf(f)), 0);
    rte_mbuf* pkts[kBurst];
    const uint16_t n = rte_eth_rx_burst(port_ids_[in], 0, pkts, kBurst);
    ASSERT_EQ(n, frames.size());
    pmd_->processBurstForTest(*snap_, RxqRef{&dp_[in], 0}, pkts, n);
  }

  // What port `out` transmitted since the last call (the caller frees the mbufs).
  std::vector<rte_mbuf*> sent(unsigned out) {
    std::vector<rte_mbuf*> v(256);
    v.resize(rte_ring_dequeue_burst(tx_[out], reinterpret_cast<void**>(v.data()), 256, nullptr));
    return v;
  }
  static void freeAll(const std::vector<rte_mbuf*>& v) {
    for (rte_mbuf* m : v) rte_pktmbuf_free(m);
  }

  std::vector<LearnEvent> learnEvents() {
    std::vector<LearnEvent> v(1024);
    v.resize(rte_ring_dequeue_burst_elem(learn_, v.data(), sizeof(LearnEvent), 1024, nullptr));
    return v;
  }

  static uint64_t usToTicks(uint64_t us) { return us * rte_get_tsc_hz() / 1000000; }

  // A slow guest: port `out`'s tx ring filled up to `room` free slots with placeholders (not
  // mbufs); drainGuest takes them out again.
  void stallGuest(unsigned out, unsigned room = 0) {
    while (rte_ring_free_count(tx_[out]) > room) {
      ASSERT_EQ(rte_ring_enqueue(tx_[out], &placeholder_), 0);
    }
  }
  void drainGuest(unsigned out) {
    void* p = nullptr;
    while (rte_ring_dequeue(tx_[out], &p) == 0) ASSERT_EQ(p, &placeholder_) << "a frame";
  }

  // Frames to a MAC learned on port `out`, each with its number in the first payload byte.
  std::vector<std::vector<uint8_t>> numbered(unsigned n, unsigned first) {
    std::vector<std::vector<uint8_t>> v;
    for (unsigned k = 0; k < n; ++k) {
      auto f = frame(kB, kA, 64);
      f[14] = static_cast<uint8_t>(first + k);
      v.push_back(f);
    }
    return v;
  }
  // The numbers of what port `out` sent (freed).
  std::vector<unsigned> sentNumbers(unsigned out) {
    std::vector<unsigned> v;
    for (rte_mbuf* m : sent(out)) {
      v.push_back(rte_pktmbuf_mtod(m, const uint8_t*)[14]);
      rte_pktmbuf_free(m);
    }
    return v;
  }
  HistogramSnapshot residenceOut(unsigned port) const {
    HistogramSnapshot h;
    pmd_->stats().residence_out[port].addTo(h);
    return h;
  }

  const PortCounters& counters(unsigned port) const { return pmd_->stats().ports[port]; }
  uint64_t drops(unsigned port, DropReason r) const { return counters(port).drops[r].get(); }
  uint64_t allDrops() const {
    uint64_t n = 0;
    for (unsigned p = 0; p < kPorts; ++p) {
      for (unsigned r = 0; r < kNumDropReasons; ++r) n += counters(p).drops[r].get();
    }
    return n;
  }

  rte_mempool* pool_ = nullptr;
  rte_ring* rx_[kPorts] = {};
  rte_ring* tx_[kPorts] = {};
  uint16_t port_ids_[kPorts] = {};
  rte_spinlock_t locks_[kPorts];
  DpPort dp_[kPorts];
  std::shared_ptr<PortPolicy> policies_[kPorts];
  rte_ring* learn_ = nullptr;
  MacTable macs_{1024, 1};
  std::unique_ptr<Snapshot> snap_;
  std::atomic<const Snapshot*> published_{nullptr};
  std::unique_ptr<Pmd> pmd_;
  int placeholder_ = 0;
};

TEST_F(PmdBurst, UnknownUnicastFloodsToEveryOtherPortSharingOneMbuf) {
  receive(0, {frame(kB, kA, 100)});
  EXPECT_TRUE(sent(0).empty());
  std::vector<rte_mbuf*> got;
  for (unsigned p = 1; p < kPorts; ++p) {
    const auto v = sent(p);
    ASSERT_EQ(v.size(), 1u) << "port " << p;
    EXPECT_EQ(rte_pktmbuf_pkt_len(v[0]), 100u);
    EXPECT_EQ(counters(p).tx_packets.get(), 1u);
    EXPECT_EQ(counters(p).tx_bytes.get(), 100u);
    got.push_back(v[0]);
  }
  // One frame, three references: no copy, and each egress frees it once.
  EXPECT_EQ(got[0], got[1]);
  EXPECT_EQ(got[0], got[2]);
  EXPECT_EQ(rte_mbuf_refcnt_read(got[0]), 3);
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 1u);
  freeAll(got);
  EXPECT_EQ(counters(0).rx_packets.get(), 1u);
  EXPECT_EQ(counters(0).rx_bytes.get(), 100u);
  EXPECT_EQ(allDrops(), 0u);
}

TEST_F(PmdBurst, BroadcastFloodsAndAFullBurstKeepsRefcountsRight) {
  std::vector<std::vector<uint8_t>> burst;
  for (unsigned k = 0; k < kBurst; ++k) burst.push_back(frame(kBroadcast, kA + k % 4));
  receive(2, burst);
  EXPECT_TRUE(sent(2).empty());
  const auto v0 = sent(0), v1 = sent(1), v3 = sent(3);
  ASSERT_EQ(v0.size(), kBurst);
  ASSERT_EQ(v1.size(), kBurst);
  ASSERT_EQ(v3.size(), kBurst);
  for (unsigned k = 0; k < kBurst; ++k) {
    EXPECT_EQ(v0[k], v1[k]);
    EXPECT_EQ(v0[k], v3[k]);
    EXPECT_EQ(rte_mbuf_refcnt_read(v0[k]), 3);
  }
  EXPECT_EQ(rte_mempool_in_use_count(pool_), kBurst);
  freeAll(v0);
  freeAll(v1);
  EXPECT_EQ(rte_mempool_in_use_count(pool_), kBurst);
  freeAll(v3);
  EXPECT_EQ(counters(2).rx_packets.get(), kBurst);
  EXPECT_EQ(learnEvents().size(), 4u);
}

TEST_F(PmdBurst, KnownUnicastGoesToItsPortOnly) {
  ASSERT_EQ(macs_.learn(0, kB, 3, rte_rdtsc()), MacTable::LearnResult::kNew);
  const auto f = frame(kB, kA, 80);
  receive(1, {f});
  for (unsigned p : {0u, 1u, 2u}) EXPECT_TRUE(sent(p).empty()) << "port " << p;
  const auto v = sent(3);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(rte_mbuf_refcnt_read(v[0]), 1);
  ASSERT_EQ(rte_pktmbuf_pkt_len(v[0]), f.size());
  EXPECT_EQ(std::memcmp(rte_pktmbuf_mtod(v[0], const void*), f.data(), f.size()), 0);
  freeAll(v);
  EXPECT_EQ(counters(3).tx_packets.get(), 1u);
}

TEST_F(PmdBurst, HairpinIsDroppedAndCounted) {
  ASSERT_EQ(macs_.learn(0, kB, 1, rte_rdtsc()), MacTable::LearnResult::kNew);
  receive(1, {frame(kB, kA), frame(kB, kC)});
  for (unsigned p = 0; p < kPorts; ++p) EXPECT_TRUE(sent(p).empty()) << "port " << p;
  EXPECT_EQ(drops(1, kDropHairpin), 2u);
  EXPECT_EQ(counters(1).rx_packets.get(), 2u);
  EXPECT_EQ(allDrops(), 2u);
}

TEST_F(PmdBurst, OversizeFramesAreDroppedPerEgressPort) {
  dp_[1].max_frame = 1000 + kL2Overhead;
  // Flooded: ports with room get it, port 1 counts an MTU drop.
  receive(0, {frame(kBroadcast, kA, 1200)});
  EXPECT_TRUE(sent(1).empty());
  for (unsigned p : {2u, 3u}) {
    const auto v = sent(p);
    EXPECT_EQ(v.size(), 1u) << "port " << p;
    freeAll(v);
  }
  EXPECT_EQ(drops(1, kDropMtu), 1u);
  // Unicast to port 1: dropped; a frame of exactly MTU + header fits.
  ASSERT_EQ(macs_.learn(0, kB, 1, rte_rdtsc()), MacTable::LearnResult::kNew);
  receive(0, {frame(kB, kA, 1019), frame(kB, kA, 1018)});
  const auto v = sent(1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(rte_pktmbuf_pkt_len(v[0]), 1018u);
  freeAll(v);
  EXPECT_EQ(drops(1, kDropMtu), 2u);
  EXPECT_EQ(allDrops(), 2u);
}

TEST_F(PmdBurst, RuntsAreDroppedAndCounted) {
  auto tagged_runt = frame(kBroadcast, kA, 64, 10);
  tagged_runt.resize(16);  // a tag but no EtherType after it
  receive(0, {std::vector<uint8_t>(10, 0xFF), std::vector<uint8_t>(13, 0xFF), tagged_runt,
              frame(kBroadcast, kA, 14)});
  EXPECT_EQ(drops(0, kDropRunt), 3u);
  EXPECT_EQ(counters(0).rx_packets.get(), 4u);
  for (unsigned p = 1; p < kPorts; ++p) {
    const auto v = sent(p);
    EXPECT_EQ(v.size(), 1u) << "port " << p;  // the 14-byte frame is a frame
    freeAll(v);
  }
  EXPECT_EQ(learnEvents().size(), 1u);
}

TEST_F(PmdBurst, NewSourcesPostLearnEventsOnce) {
  ASSERT_EQ(macs_.learn(0, kC, 2, rte_rdtsc()), MacTable::LearnResult::kNew);
  // A, A again, B (new), C (known on port 2, seen on port 1: moved), a multicast source.
  receive(1, {frame(kBroadcast, kA), frame(kBroadcast, kA), frame(kBroadcast, kB),
              frame(kBroadcast, kC), frame(kBroadcast, 0x010000000001)});
  const auto ev = learnEvents();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].mac, kA);
  EXPECT_EQ(ev[1].mac, kB);
  EXPECT_EQ(ev[2].mac, kC);
  for (const auto& e : ev) {
    EXPECT_EQ(e.port, 1);
    EXPECT_EQ(e.vlan, 0);
  }
  EXPECT_EQ(pmd_->stats().learn_posted.get(), 3u);
  // A source that the table already has on this port is not posted.
  ASSERT_EQ(macs_.learn(0, 0x525400000009, 1, rte_rdtsc()), MacTable::LearnResult::kNew);
  receive(1, {frame(kBroadcast, 0x525400000009)});
  EXPECT_TRUE(learnEvents().empty());
  // Per VLAN: the same MAC in VLAN 10 is a new station.
  receive(1, {frame(kBroadcast, kA, 64, 10)});
  const auto ev10 = learnEvents();
  ASSERT_EQ(ev10.size(), 1u);
  EXPECT_EQ(ev10[0].vlan, 10);
  for (unsigned p = 0; p < kPorts; ++p) freeAll(sent(p));
}

TEST_F(PmdBurst, VlanAccessAndTrunkTagging) {
  // 0: trunk of every VLAN, 1: access VLAN 10, 2: trunk 10, 3: trunk 20.
  policies_[1]->vlan.mode = VlanMode::kAccess;
  policies_[1]->vlan.tag = 10;
  policies_[2]->vlan.trunk_all = false;
  policies_[2]->vlan.trunks.set(10);
  policies_[3]->vlan.trunk_all = false;
  policies_[3]->vlan.trunks.set(20);
  publish();
  // Untagged broadcast from the access port: VLAN 10, tagged towards both trunks carrying it.
  receive(1, {frame(kBroadcast, kA, 64)});
  EXPECT_TRUE(sent(3).empty());
  for (unsigned p : {0u, 2u}) {
    const auto v = sent(p);
    ASSERT_EQ(v.size(), 1u) << "port " << p;
    EXPECT_EQ(vlanOf(v[0]), 10);
    EXPECT_EQ(rte_pktmbuf_pkt_len(v[0]), 68u);
    freeAll(v);
  }
  // Tagged VLAN 10 from trunk 2: tagged to 0, untagged to 1 (one copy for one of the groups).
  receive(2, {frame(kBroadcast, kB, 68, 10)});
  auto v0 = sent(0), v1 = sent(1);
  ASSERT_EQ(v0.size(), 1u);
  ASSERT_EQ(v1.size(), 1u);
  EXPECT_EQ(vlanOf(v0[0]), 10);
  EXPECT_EQ(vlanOf(v1[0]), -1);
  EXPECT_EQ(rte_pktmbuf_pkt_len(v1[0]), 64u);
  EXPECT_NE(v0[0], v1[0]);
  EXPECT_EQ(pmd_->stats().vlan_copies.get(), 1u);
  freeAll(v0);
  freeAll(v1);
  EXPECT_TRUE(sent(3).empty());
  // A tag the access port does not accept, and a VLAN trunk 3 does not carry: dropped.
  receive(1, {frame(kBroadcast, kA, 64, 10)});
  receive(3, {frame(kBroadcast, kC, 64, 10)});
  EXPECT_EQ(drops(1, kDropVlan), 1u);
  EXPECT_EQ(drops(3, kDropVlan), 1u);
  // Known unicast from the trunk to the access port: the tag comes off.
  ASSERT_EQ(macs_.learn(10, kA, 1, rte_rdtsc()), MacTable::LearnResult::kNew);
  receive(0, {frame(kA, kC, 68, 10)});
  const auto u = sent(1);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(vlanOf(u[0]), -1);
  freeAll(u);
  learnEvents();
}

// ---- the tx buffer: a slow guest's frames wait, age, and never make the PMD spin ----

TEST_F(PmdBurst, SlowGuestFramesWaitAcrossIterationsAndGoOutInOrderWhenItDrains) {
  dp_[3].tx_retry_ticks = usToTicks(1000000);
  ASSERT_EQ(macs_.learn(0, kB, 3, rte_rdtsc()), MacTable::LearnResult::kNew);
  stallGuest(3);
  receive(0, numbered(4, 0));
  EXPECT_EQ(pmd_->pendingForTest(3), 4u);
  pmd_->endIterationForTest(*snap_);  // nothing sent in this iteration: not offered again
  EXPECT_EQ(counters(3).tx_retries.get(), 0u);
  pmd_->endIterationForTest(*snap_);  // the next iteration offers them again: still full
  EXPECT_EQ(counters(3).tx_retries.get(), 1u);
  receive(0, numbered(2, 4));  // behind the waiting ones
  EXPECT_EQ(pmd_->pendingForTest(3), 6u);
  pmd_->endIterationForTest(*snap_);
  rte_delay_us_block(300);
  drainGuest(3);
  pmd_->endIterationForTest(*snap_);  // no rx in this iteration: sent all the same
  EXPECT_EQ(pmd_->pendingForTest(3), 0u);
  EXPECT_EQ(sentNumbers(3), (std::vector<unsigned>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(counters(3).tx_packets.get(), 6u);
  EXPECT_EQ(counters(3).tx_bytes.get(), 6u * 64);
  EXPECT_EQ(allDrops(), 0u);
  // Residence from each frame's own rx burst: all six late, the first four the latest.
  const HistogramSnapshot h = residenceOut(3);
  EXPECT_EQ(h.count(), 6u);
  EXPECT_GE(h.percentile(0.0), usToTicks(250));
  HistogramSnapshot in;
  pmd_->stats().residence_in[0].addTo(in);
  EXPECT_EQ(in.count(), 6u);
}

TEST_F(PmdBurst, FramesOlderThanTxRetryUsAreDroppedAsTxFullNewerOnesWait) {
  dp_[3].tx_retry_ticks = usToTicks(2000);
  ASSERT_EQ(macs_.learn(0, kB, 3, rte_rdtsc()), MacTable::LearnResult::kNew);
  stallGuest(3);
  receive(0, numbered(3, 0));
  pmd_->endIterationForTest(*snap_);
  pmd_->endIterationForTest(*snap_);
  EXPECT_EQ(pmd_->pendingForTest(3), 3u);
  rte_delay_us_block(2500);
  receive(0, numbered(2, 3));  // its flush ages the first three out, keeps these two
  EXPECT_EQ(drops(3, kDropTxFull), 3u);
  EXPECT_EQ(pmd_->pendingForTest(3), 2u);
  pmd_->endIterationForTest(*snap_);
  drainGuest(3);
  pmd_->endIterationForTest(*snap_);
  EXPECT_EQ(sentNumbers(3), (std::vector<unsigned>{3, 4}));
  // Never drained: past the bound at the first flush after it, rx or not.
  stallGuest(3);
  receive(0, numbered(2, 5));
  pmd_->endIterationForTest(*snap_);
  rte_delay_us_block(2500);
  pmd_->endIterationForTest(*snap_);
  EXPECT_EQ(pmd_->pendingForTest(3), 0u);
  EXPECT_EQ(drops(3, kDropTxFull), 5u);
  EXPECT_EQ(counters(3).tx_packets.get(), 2u);
  drainGuest(3);
}

TEST_F(PmdBurst, ZeroTxRetryUsDropsWhatTheQueueDoesNotTakeAtOnce) {
  dp_[3].tx_retry_ticks = 0;
  ASSERT_EQ(macs_.learn(0, kB, 3, rte_rdtsc()), MacTable::LearnResult::kNew);
  stallGuest(3, 2);  // room for two
  receive(0, numbered(5, 0));
  EXPECT_EQ(pmd_->pendingForTest(3), 0u);
  EXPECT_EQ(drops(3, kDropTxFull), 3u);
  EXPECT_EQ(counters(3).tx_packets.get(), 2u);
  EXPECT_EQ(counters(3).tx_retries.get(), 0u);
  std::vector<rte_mbuf*> got(256);
  got.resize(rte_ring_dequeue_burst(tx_[3], reinterpret_cast<void**>(got.data()), 256, nullptr));
  ASSERT_EQ(got.size(), 255u);
  for (size_t k = 0; k < 253; ++k) EXPECT_EQ(static_cast<void*>(got[k]), &placeholder_);
  EXPECT_EQ(rte_pktmbuf_mtod(got[253], const uint8_t*)[14], 0);
  EXPECT_EQ(rte_pktmbuf_mtod(got[254], const uint8_t*)[14], 1);
  rte_pktmbuf_free(got[253]);
  rte_pktmbuf_free(got[254]);
}

TEST_F(PmdBurst, NoSecondAttemptInAnIterationWhoseAttemptSentNothing) {
  dp_[3].tx_retry_ticks = usToTicks(1000000);
  ASSERT_EQ(macs_.learn(0, kB, 3, rte_rdtsc()), MacTable::LearnResult::kNew);
  stallGuest(3);
  receive(0, numbered(2, 0));  // offered: nothing taken
  drainGuest(3);               // the guest drains meanwhile
  receive(1, numbered(2, 2));  // same iteration: buffered behind, not offered
  EXPECT_TRUE(sent(3).empty());
  pmd_->endIterationForTest(*snap_);  // the iteration's end does not try either
  EXPECT_TRUE(sent(3).empty());
  EXPECT_EQ(pmd_->pendingForTest(3), 4u);
  pmd_->endIterationForTest(*snap_);  // the next iteration does
  EXPECT_EQ(sentNumbers(3), (std::vector<unsigned>{0, 1, 2, 3}));
  EXPECT_EQ(counters(3).tx_retries.get(), 1u);
  EXPECT_EQ(allDrops(), 0u);
}

TEST_F(PmdBurst, AFullTxBufferDropsNewFramesAndCountsThem) {
  dp_[3].tx_retry_ticks = usToTicks(1000000);
  ASSERT_EQ(macs_.learn(0, kB, 3, rte_rdtsc()), MacTable::LearnResult::kNew);
  stallGuest(3);
  for (unsigned b = 0; b < kTxBufFrames / kBurst + 1; ++b) {
    receive(0, numbered(kBurst, (b * kBurst) % 256));
    pmd_->endIterationForTest(*snap_);
  }
  EXPECT_EQ(pmd_->pendingForTest(3), kTxBufFrames);
  EXPECT_EQ(drops(3, kDropTxFull), kBurst);
  EXPECT_EQ(rte_mempool_in_use_count(pool_), kTxBufFrames);
  drainGuest(3);
  pmd_->endIterationForTest(*snap_);
  const std::vector<unsigned> got = sentNumbers(3);
  ASSERT_EQ(got.size(), kTxBufFrames);
  for (unsigned k = 0; k < kTxBufFrames; ++k) EXPECT_EQ(got[k], k % 256);
}

TEST_F(PmdBurst, BusySharedTxQueueDefersTheFramesInsteadOfSpinning) {
  dp_[3].txq_shared[0] = true;
  dp_[3].tx_retry_ticks = usToTicks(1000000);  // slow builds (sanitizers) take more than 20 µs
  ASSERT_EQ(macs_.learn(0, kB, 3, rte_rdtsc()), MacTable::LearnResult::kNew);
  rte_spinlock_lock(&locks_[3]);  // another PMD is transmitting on the queue
  // A PMD that waited for the lock would hang here: a watchdog frees it after 3 s, and the
  // burst's time says whether it had to.
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 300 && !done.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!done.load()) rte_spinlock_unlock(&locks_[3]);
  });
  const auto t0 = std::chrono::steady_clock::now();
  receive(0, numbered(3, 0));
  const auto took = std::chrono::steady_clock::now() - t0;
  done.store(true);
  watchdog.join();
  EXPECT_LT(took, std::chrono::seconds(1)) << "the PMD waited for the lock";
  EXPECT_EQ(counters(3).tx_deferred.get(), 1u);
  EXPECT_EQ(pmd_->pendingForTest(3), 3u);
  EXPECT_TRUE(sent(3).empty());
  pmd_->endIterationForTest(*snap_);  // still this iteration: not tried again
  EXPECT_EQ(counters(3).tx_deferred.get(), 1u);
  rte_spinlock_unlock(&locks_[3]);
  pmd_->endIterationForTest(*snap_);
  EXPECT_EQ(sentNumbers(3), (std::vector<unsigned>{0, 1, 2}));
  EXPECT_EQ(rte_spinlock_is_locked(&locks_[3]), 0) << "the PMD left the lock taken";
  EXPECT_EQ(allDrops(), 0u);
}

TEST_F(PmdBurst, WaitingFramesNeverGoToAPortThatTookTheIndexOfARemovedOne) {
  dp_[3].tx_retry_ticks = usToTicks(1000000);
  ASSERT_EQ(macs_.learn(0, kB, 3, rte_rdtsc()), MacTable::LearnResult::kNew);
  stallGuest(3);
  receive(0, numbered(2, 0));
  drainGuest(3);
  dp_[3].uid = 99;  // port 3 removed, another added at its index
  pmd_->endIterationForTest(*snap_);
  pmd_->endIterationForTest(*snap_);
  EXPECT_TRUE(sent(3).empty());
  EXPECT_EQ(pmd_->pendingForTest(3), 0u);
  EXPECT_EQ(drops(3, kDropLinkDown), 2u);
}

TEST(TxQueues, EachPmdHasItsOwnWhileThePortHasEnoughAndOnlySharersLock) {
  DpPort p;
  p.assignTxqs(4, 4);
  for (unsigned k = 0; k < 4; ++k) {
    EXPECT_EQ(p.txq_of_pmd[k], k);
    EXPECT_FALSE(p.txq_shared[k]);
  }
  p.assignTxqs(2, 3);  // PMDs 0 and 2 share queue 0; PMD 1 has queue 1 to itself
  EXPECT_EQ(p.txq_of_pmd[0], 0);
  EXPECT_EQ(p.txq_of_pmd[1], 1);
  EXPECT_EQ(p.txq_of_pmd[2], 0);
  EXPECT_TRUE(p.txq_shared[0]);
  EXPECT_FALSE(p.txq_shared[1]);
  EXPECT_TRUE(p.txq_shared[2]);
  p.assignTxqs(1, 1);
  EXPECT_FALSE(p.txq_shared[0]);
}

TEST_F(PmdBurst, DropPendingFreesWhatAStoppingPmdStillHolds) {
  dp_[3].tx_retry_ticks = usToTicks(1000000);
  ASSERT_EQ(macs_.learn(0, kB, 3, rte_rdtsc()), MacTable::LearnResult::kNew);
  stallGuest(3);
  receive(0, numbered(5, 0));
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 5u);
  pmd_->dropPending();
  EXPECT_EQ(pmd_->pendingForTest(3), 0u);
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
  EXPECT_EQ(drops(3, kDropLinkDown), 5u);
  drainGuest(3);
}

}  // namespace
}  // namespace rtvs

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new rtvs::EalEnv);
  return RUN_ALL_TESTS();
}
