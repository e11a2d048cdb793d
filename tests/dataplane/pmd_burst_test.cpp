// Pmd::processBurst on ring-backed ethdev ports (net_ring, rte_eth_from_rings): an EAL without
// hugepages, PCI or guests. Each test pushes crafted frames into a port's rx ring, switches them
// as a PMD does and checks what every port's tx ring got, the counters, the learn events and the
// mbuf reference counts (the pool is back to empty after every test).
#include <gtest/gtest.h>
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
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "switch/core/mac_table.h"
#include "switch/core/port_policy.h"
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
    for (unsigned i = 0; i < kPorts; ++i) EXPECT_TRUE(sent(i).empty()) << "port " << i;
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

}  // namespace
}  // namespace rtvs

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new rtvs::EalEnv);
  return RUN_ALL_TESTS();
}
