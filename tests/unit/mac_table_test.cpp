#include "switch/core/mac_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>
#include <vector>

namespace rtvs {
namespace {

using LearnResult = MacTable::LearnResult;

// Every entry of the table as mac -> (port, last_seen).
std::map<MacAddr, std::pair<uint16_t, uint64_t>> contents(const MacTable& t) {
  std::map<MacAddr, std::pair<uint16_t, uint64_t>> out;
  t.forEach([&](uint16_t, MacAddr mac, uint16_t port, uint64_t seen) {
    EXPECT_TRUE(out.emplace(mac, std::make_pair(port, seen)).second) << "mac twice: " << mac;
  });
  return out;
}

TEST(MacTable, LearnLookupMove) {
  MacTable t(16);
  EXPECT_EQ(t.lookup(0, 0x525400000001).port, kNoPort);
  EXPECT_EQ(t.learn(0, 0x525400000001, 3, 100), LearnResult::kNew);
  EXPECT_EQ(t.lookup(0, 0x525400000001).port, 3);
  EXPECT_EQ(t.learn(0, 0x525400000001, 3, 200), LearnResult::kRefreshed);
  EXPECT_EQ(t.learn(0, 0x525400000001, 5, 300), LearnResult::kMoved);
  EXPECT_EQ(t.lookup(0, 0x525400000001).port, 5);
  EXPECT_EQ(t.size(), 1u);
}

TEST(MacTable, SizesAndLimits) {
  EXPECT_EQ(MacTable(16).maxEntries(), 16u);
  EXPECT_EQ(MacTable(1).maxEntries(), 1u);
  EXPECT_THROW(MacTable(0), std::invalid_argument);
  EXPECT_THROW(MacTable((1u << 24) + 1), std::invalid_argument);
}

TEST(MacTable, OnlyTheLow48BitsAreTheKey) {
  MacTable t(16);
  EXPECT_EQ(t.learn(0, 0xFFFF000000000001ull, 2, 1), LearnResult::kNew);
  EXPECT_EQ(t.lookup(0, 1).port, 2);
  EXPECT_EQ(t.learn(0, 0, 0, 1), LearnResult::kNew);  // the all-zero MAC is a valid key
  EXPECT_EQ(t.lookup(0, 0).port, 0);
  EXPECT_EQ(t.learn(0, 0xFFFFFFFFFFFF, 0xFFFE, 1), LearnResult::kNew);
  EXPECT_EQ(t.lookup(0, 0xFFFFFFFFFFFF).port, 0xFFFE);
  EXPECT_EQ(t.size(), 3u);
}

TEST(MacTable, FromBytes) {
  const uint8_t b[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  EXPECT_EQ(MacTable::fromBytes(b), 0x525400123456ull);
}

TEST(MacTable, RefreshUpdatesLastSeen) {
  MacTable t(16);
  t.learn(0, 0xA, 1, 100);
  EXPECT_EQ(contents(t).at(0xA).second, 100u);
  EXPECT_EQ(t.learn(0, 0xA, 1, 250), LearnResult::kRefreshed);
  EXPECT_EQ(contents(t).at(0xA).second, 250u);
  EXPECT_EQ(t.learn(0, 0xA, 2, 300), LearnResult::kMoved);
  EXPECT_EQ(contents(t).at(0xA), std::make_pair(uint16_t{2}, uint64_t{300}));
}

TEST(MacTable, TouchRefreshesOnlyAfterMinDelta) {
  MacTable t(16);
  t.learn(0, 0xA, 1, 100);
  const auto hit = t.lookup(0, 0xA);
  ASSERT_EQ(hit.port, 1);
  t.touch(hit.slot, 105, 10);  // 5 ticks later: not worth a store
  EXPECT_EQ(contents(t).at(0xA).second, 100u);
  t.touch(hit.slot, 111, 10);
  EXPECT_EQ(contents(t).at(0xA).second, 111u);
}

TEST(MacTable, AgeRemovesOnlyOldEntries) {
  MacTable t(64);
  for (MacAddr m = 1; m <= 20; ++m) t.learn(0, m, static_cast<uint16_t>(m % 4), m * 10);
  // now = 300, max_age = 150: seen < 150 goes (m * 10 < 150 → m <= 14); seen == 150 stays.
  EXPECT_EQ(t.age(300, 150), 14u);
  EXPECT_EQ(t.size(), 6u);
  for (MacAddr m = 1; m <= 20; ++m) {
    EXPECT_EQ(t.lookup(0, m).port, m <= 14 ? kNoPort : m % 4) << m;
  }
  // A touch keeps an entry young.
  t.touch(t.lookup(0, 15).slot, 1000, 0);
  EXPECT_EQ(t.age(1100, 150), 5u);
  EXPECT_EQ(t.lookup(0, 15).port, 15 % 4);
  EXPECT_EQ(t.size(), 1u);
  // Entries seen "after" now (clock read on another thread) are not aged.
  t.learn(0, 99, 1, 5000);
  EXPECT_EQ(t.age(2000, 10), 1u);  // only MAC 15, seen at 1000
  EXPECT_EQ(t.lookup(0, 15).port, kNoPort);
  EXPECT_EQ(t.lookup(0, 99).port, 1);
}

TEST(MacTable, Remove) {
  MacTable t(16);
  t.learn(0, 1, 1, 0);
  t.learn(0, 2, 2, 0);
  EXPECT_TRUE(t.remove(0, 1));
  EXPECT_FALSE(t.remove(0, 1));
  EXPECT_FALSE(t.remove(0, 3));
  EXPECT_EQ(t.lookup(0, 1).port, kNoPort);
  EXPECT_EQ(t.lookup(0, 2).port, 2);
  EXPECT_EQ(t.size(), 1u);
}

TEST(MacTable, FlushPort) {
  MacTable t(256);
  for (MacAddr m = 0; m < 150; ++m) t.learn(0, 0x525400000000 + m, static_cast<uint16_t>(m % 3), 0);
  EXPECT_EQ(t.flushPort(1), 50u);
  EXPECT_EQ(t.size(), 100u);
  for (MacAddr m = 0; m < 150; ++m) {
    EXPECT_EQ(t.lookup(0, 0x525400000000 + m).port, m % 3 == 1 ? kNoPort : m % 3) << m;
  }
  EXPECT_EQ(t.flushPort(1), 0u);
  EXPECT_EQ(t.flushPort(7), 0u);
}

TEST(MacTable, FlushAll) {
  MacTable t(64);
  for (MacAddr m = 0; m < 40; ++m) t.learn(0, m, 1, 0);
  EXPECT_EQ(t.flushAll(), 40u);
  EXPECT_EQ(t.size(), 0u);
  for (MacAddr m = 0; m < 40; ++m) EXPECT_EQ(t.lookup(0, m).port, kNoPort);
  EXPECT_TRUE(contents(t).empty());
  EXPECT_EQ(t.learn(0, 5, 2, 7), LearnResult::kNew);
  EXPECT_EQ(contents(t).at(5), std::make_pair(uint16_t{2}, uint64_t{7}));
}

TEST(MacTable, FullThenLearnAgainAfterFlush) {
  MacTable t(16);
  for (MacAddr m = 0; m < 16; ++m) ASSERT_EQ(t.learn(0, m, 1, 0), LearnResult::kNew);
  EXPECT_EQ(t.learn(0, 100, 1, 0), LearnResult::kFull);
  EXPECT_EQ(t.lookup(0, 100).port, kNoPort);
  EXPECT_EQ(t.size(), 16u);
  // Known MACs still refresh and move while full.
  EXPECT_EQ(t.learn(0, 3, 1, 5), LearnResult::kRefreshed);
  EXPECT_EQ(t.learn(0, 3, 2, 5), LearnResult::kMoved);
  // Each way of making room lets learning work again.
  ASSERT_TRUE(t.remove(0, 0));
  EXPECT_EQ(t.learn(0, 100, 1, 0), LearnResult::kNew);
  EXPECT_EQ(t.learn(0, 101, 1, 0), LearnResult::kFull);
  EXPECT_EQ(t.flushPort(2), 1u);
  EXPECT_EQ(t.learn(0, 101, 1, 0), LearnResult::kNew);
  EXPECT_EQ(t.age(1000, 10), 16u);
  EXPECT_EQ(t.learn(0, 102, 1, 0), LearnResult::kNew);
  t.flushAll();
  for (MacAddr m = 200; m < 216; ++m) EXPECT_EQ(t.learn(0, m, 1, 0), LearnResult::kNew);
  EXPECT_EQ(t.learn(0, 300, 1, 0), LearnResult::kFull);
}

// Random learns, moves, removes, flushes and aging checked against a std::map model: with a
// table often full and long probe runs, every backward shift must leave all other entries
// findable.
void randomisedAgainstModel(uint32_t max_entries, uint64_t mac_space, int ops, uint32_t seed) {
  MacTable t(max_entries, seed);  // a known hash seed: the model has no probe bound
  std::map<MacAddr, std::pair<uint16_t, uint64_t>> model;
  std::mt19937_64 rng(seed);
  const auto pick = [&](uint64_t n) {
    return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng);
  };
  // Spread the keys over all 48 bits so that home slots vary in every bit.
  const auto macOf = [](uint64_t i) { return (i * 0x9E3779B97F4A7C15ull) & 0xFFFFFFFFFFFFull; };
  uint64_t now = 0;
  for (int op = 0; op < ops; ++op) {
    now += 1 + pick(3);
    const uint64_t r = pick(100);
    if (r < 60) {
      const MacAddr mac = macOf(pick(mac_space));
      const auto port = static_cast<uint16_t>(pick(8));
      const auto it = model.find(mac);
      LearnResult want;
      if (it == model.end()) {
        want = model.size() >= max_entries ? LearnResult::kFull : LearnResult::kNew;
      } else {
        want = it->second.first == port ? LearnResult::kRefreshed : LearnResult::kMoved;
      }
      ASSERT_EQ(t.learn(0, mac, port, now), want) << "op " << op;
      if (want != LearnResult::kFull) model[mac] = {port, now};
    } else if (r < 90) {
      const MacAddr mac = macOf(pick(mac_space));
      ASSERT_EQ(t.remove(0, mac), model.erase(mac) == 1) << "op " << op;
    } else if (r < 94) {
      const auto port = static_cast<uint16_t>(pick(8));
      size_t n = 0;
      for (auto it = model.begin(); it != model.end();) {
        if (it->second.first == port) {
          it = model.erase(it);
          ++n;
        } else {
          ++it;
        }
      }
      ASSERT_EQ(t.flushPort(port), n) << "op " << op;
    } else if (r < 99) {
      const uint64_t max_age = pick(200);
      size_t n = 0;
      for (auto it = model.begin(); it != model.end();) {
        if (now > it->second.second && now - it->second.second > max_age) {
          it = model.erase(it);
          ++n;
        } else {
          ++it;
        }
      }
      ASSERT_EQ(t.age(now, max_age), n) << "op " << op;
    } else {
      ASSERT_EQ(t.flushAll(), model.size());
      model.clear();
    }
    ASSERT_EQ(t.size(), model.size()) << "op " << op;
    if (op % 64 == 0 || op == ops - 1) {
      for (const auto& [mac, entry] : model) {
        ASSERT_EQ(t.lookup(0, mac).port, entry.first) << "op " << op << " mac " << mac;
      }
      ASSERT_EQ(contents(t), model) << "op " << op;
    }
  }
}

TEST(MacTable, RandomisedSmallTable) { randomisedAgainstModel(16, 40, 20000, 1); }
TEST(MacTable, RandomisedMediumTable) { randomisedAgainstModel(256, 400, 20000, 2); }
TEST(MacTable, RandomisedLargeTable) { randomisedAgainstModel(4096, 6000, 40000, 3); }

// One writer churns entries (learn, move, remove: backward shifts move the other entries around)
// while readers look up MACs whose port never changes: a reader may miss such a MAC for a moment
// (the frame is flooded) but must never get another port.
TEST(MacTable, ConcurrentReadersNeverSeeAWrongPort) {
  constexpr uint32_t kMax = 256;
  constexpr MacAddr kStableBase = 0x020000000000;
  constexpr MacAddr kChurnBase = 0x060000000000;
  constexpr int kStable = 160;
  MacTable t(kMax);
  const auto stablePort = [](int i) { return static_cast<uint16_t>(i % 7); };
  for (int i = 0; i < kStable; ++i)
    ASSERT_EQ(t.learn(0, kStableBase + i, stablePort(i), 0), LearnResult::kNew);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> wrong{0};
  std::atomic<uint64_t> lookups{0};
  std::atomic<uint64_t> misses{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      uint64_t n = 0;
      uint64_t miss = 0;
      uint64_t bad = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int i = 0; i < kStable; ++i) {
          const MacTable::Hit h = t.lookup(0, kStableBase + i);
          if (h.port == kNoPort) {
            ++miss;
          } else if (h.port != stablePort(i)) {
            ++bad;
          } else {
            t.touch(h.slot, n, 0);  // PMDs refresh ages while the writer shifts entries
          }
          // Churned MACs may be anywhere, but only ever on a port the writer used.
          const MacTable::Hit c = t.lookup(0, kChurnBase + (i % 64));
          if (c.port != kNoPort && c.port >= 16) ++bad;
          ++n;
        }
        // Share the two cores with the writer.
        if (r == 1) std::this_thread::yield();
      }
      lookups += n;
      misses += miss;
      wrong += bad;
    });
  }

  std::mt19937 rng(42);
  for (int op = 0; op < 300000; ++op) {
    const MacAddr mac = kChurnBase + rng() % 64;
    if (rng() % 2) {
      t.learn(0, mac, static_cast<uint16_t>(rng() % 16), op);
    } else {
      t.remove(0, mac);
    }
  }
  stop = true;
  for (auto& th : readers) th.join();

  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GT(lookups.load(), 0u);
  // After the writer stops, every stable MAC is there with its port.
  for (int i = 0; i < kStable; ++i) EXPECT_EQ(t.lookup(0, kStableBase + i).port, stablePort(i));
  RecordProperty("lookups", std::to_string(lookups.load()));
  RecordProperty("transient_misses", std::to_string(misses.load()));
}

}  // namespace
}  // namespace rtvs

namespace rtvs {
namespace {

TEST(MacTableVlan, SameMacInTwoVlansIsTwoEntries) {
  MacTable t(16);
  EXPECT_EQ(t.learn(10, 0x525400000001, 1, 0), LearnResult::kNew);
  EXPECT_EQ(t.learn(20, 0x525400000001, 2, 0), LearnResult::kNew);
  EXPECT_EQ(t.lookup(10, 0x525400000001).port, 1);
  EXPECT_EQ(t.lookup(20, 0x525400000001).port, 2);
  EXPECT_EQ(t.lookup(30, 0x525400000001).port, kNoPort);
  EXPECT_EQ(t.lookup(0, 0x525400000001).port, kNoPort);
  EXPECT_EQ(t.size(), 2u);
  std::map<std::pair<uint16_t, MacAddr>, uint16_t> seen;
  t.forEach([&](uint16_t vlan, MacAddr mac, uint16_t port, uint64_t) { seen[{vlan, mac}] = port; });
  EXPECT_EQ(seen, (std::map<std::pair<uint16_t, MacAddr>, uint16_t>{{{10, 0x525400000001}, 1},
                                                                    {{20, 0x525400000001}, 2}}));
  EXPECT_TRUE(t.remove(10, 0x525400000001));
  EXPECT_EQ(t.lookup(20, 0x525400000001).port, 2);
}

TEST(MacTableVlan, PortLimitAndCounts) {
  MacTable t(64);
  for (MacAddr m = 1; m <= 3; ++m) EXPECT_EQ(t.learn(5, m, 7, 0, 3), LearnResult::kNew);
  EXPECT_EQ(t.portCount(7), 3u);
  EXPECT_EQ(t.learn(5, 4, 7, 0, 3), LearnResult::kLimit);
  EXPECT_EQ(t.learn(6, 1, 7, 0, 3), LearnResult::kLimit);  // the limit is per port, all VLANs
  EXPECT_EQ(t.learn(5, 1, 7, 9, 3), LearnResult::kRefreshed);
  // A MAC moving onto a port at its limit is refused too; moving away frees a place.
  EXPECT_EQ(t.learn(5, 9, 8, 0), LearnResult::kNew);
  EXPECT_EQ(t.learn(5, 9, 7, 0, 3), LearnResult::kLimit);
  EXPECT_EQ(t.learn(5, 1, 8, 0), LearnResult::kMoved);
  EXPECT_EQ(t.portCount(7), 2u);
  EXPECT_EQ(t.portCount(8), 2u);
  EXPECT_EQ(t.learn(5, 9, 7, 0, 3), LearnResult::kMoved);
  EXPECT_EQ(t.flushPort(7), 3u);
  EXPECT_EQ(t.portCount(7), 0u);
  t.flushAll();
  EXPECT_EQ(t.portCount(8), 0u);
}

// Many (VLAN, port) pairs come and go: binding ids are recycled and lookups stay right.
TEST(MacTableVlan, BindingsRecycle) {
  MacTable t(1024);
  std::mt19937 rng(7);
  for (int round = 0; round < 100; ++round) {  // 100000 pairs: more than the 65535 ids
    for (int i = 0; i < 1000; ++i) {
      const auto vlan = static_cast<uint16_t>(1 + (round * 1000 + i) % 4094);
      ASSERT_NE(t.learn(vlan, 0x020000000000 + i, static_cast<uint16_t>(rng() % 200), 0),
                LearnResult::kFull);
    }
    for (int i = 0; i < 1000; ++i) {
      const auto vlan = static_cast<uint16_t>(1 + (round * 1000 + i) % 4094);
      ASSERT_NE(t.lookup(vlan, 0x020000000000 + i).port, kNoPort);
      ASSERT_EQ(t.lookup(static_cast<uint16_t>(vlan % 4094 + 1), 0x020000000000 + i).port, kNoPort);
    }
    ASSERT_EQ(t.flushAll(), 1000u);
  }
}

}  // namespace
}  // namespace rtvs

namespace rtvs {
namespace {

// `n` MACs of VLAN `vlan` whose home slot in `t` is `home` (a guest that knows the hash seed).
std::vector<MacAddr> craftColliding(const MacTable& t, uint16_t vlan, uint32_t home, size_t n) {
  std::vector<MacAddr> out;
  for (MacAddr m = 0x020000000000; out.size() < n; ++m) {
    if (t.homeSlot(vlan, m) == home) out.push_back(m);
  }
  return out;
}

TEST(MacTableAdversarial, CollidingMacsKeepLookupsBoundedAndOthersWorking) {
  constexpr uint64_t kSeed = 0x5EED0001;
  MacTable t(1024, kSeed);
  ASSERT_EQ(t.probeLimit(), MacTable::kMaxProbe);
  // Legitimate stations first.
  std::vector<MacAddr> legit;
  for (MacAddr m = 0; m < 300; ++m) {
    legit.push_back(0x525400000000 + m);
    ASSERT_EQ(t.learn(0, legit.back(), 1, 0), LearnResult::kNew);
  }
  // A guest floods 400 source MACs that all hash to one slot.
  const uint32_t target = t.homeSlot(0, 0x0A0000000001);
  const std::vector<MacAddr> evil = craftColliding(t, 0, target, 400);
  size_t learned = 0, refused = 0;
  for (MacAddr m : evil) {
    const LearnResult r = t.learn(0, m, 2, 0);
    ASSERT_TRUE(r == LearnResult::kNew || r == LearnResult::kFull);
    (r == LearnResult::kNew ? learned : refused)++;
  }
  EXPECT_LE(learned, MacTable::kMaxProbe);
  EXPECT_GE(refused, evil.size() - MacTable::kMaxProbe);
  EXPECT_EQ(t.probeRefusals(), refused);
  // Every lookup — crafted, legitimate, present or not — reads at most kMaxProbe slots.
  uint32_t worst = 0;
  for (MacAddr m : evil) worst = std::max(worst, t.probe(0, m).slots_read);
  for (MacAddr m : craftColliding(t, 0, target, 450))
    worst = std::max(worst, t.probe(0, m).slots_read);
  for (MacAddr m : legit) worst = std::max(worst, t.probe(0, m).slots_read);
  EXPECT_LE(worst, MacTable::kMaxProbe);
  EXPECT_GE(worst, learned);  // the crafted run really is that long
  // Legitimate entries are all still found, and accepted crafted ones too.
  for (MacAddr m : legit) ASSERT_EQ(t.lookup(0, m).port, 1) << m;
  size_t found = 0;
  for (MacAddr m : evil) found += t.lookup(0, m).port == 2;
  EXPECT_EQ(found, learned);
  // New legitimate stations still learn, except the few whose home falls inside the crafted run.
  size_t fresh = 0;
  for (MacAddr m = 0; m < 200; ++m) {
    if (t.learn(0, 0x5254AA000000 + m, 3, 0) == LearnResult::kNew &&
        t.lookup(0, 0x5254AA000000 + m).port == 3) {
      ++fresh;
    }
  }
  EXPECT_GE(fresh, 190u);
  // The same MACs in another VLAN hash elsewhere: learned like any others (but those few whose
  // home falls inside the crafted run).
  size_t other_vlan = 0;
  for (size_t k = 0; k < 100; ++k) other_vlan += t.learn(7, evil[k], 2, 0) == LearnResult::kNew;
  EXPECT_GE(other_vlan, 90u);
  // Once the guest's entries are flushed, the run is gone and learning in it works again.
  t.flushPort(2);
  const size_t refused_before = t.probeRefusals();
  for (size_t k = 0; k < MacTable::kMaxProbe / 2; ++k) {
    EXPECT_EQ(t.learn(0, evil[k], 4, 0), LearnResult::kNew) << k;
  }
  EXPECT_EQ(t.probeRefusals(), refused_before);
  for (MacAddr m : legit) ASSERT_EQ(t.lookup(0, m).port, 1) << m;
}

TEST(MacTableAdversarial, CraftedMacsDoNotCollideUnderAnotherSeed) {
  MacTable a(1024, 0x5EED0001);
  const std::vector<MacAddr> evil = craftColliding(a, 0, a.homeSlot(0, 0x0A0000000001), 400);
  for (uint64_t seed : {uint64_t{0x5EED0002}, uint64_t{0xC0FFEE}, uint64_t{1}}) {
    MacTable b(1024, seed);
    std::map<uint32_t, int> per_home;
    for (MacAddr m : evil) ++per_home[b.homeSlot(0, m)];
    int most = 0;
    for (const auto& [home, n] : per_home) most = std::max(most, n);
    EXPECT_LE(most, 5) << "seed " << seed;  // 400 keys in 2048 slots: like random keys
    for (MacAddr m : evil) ASSERT_EQ(b.learn(0, m, 2, 0), LearnResult::kNew) << seed;
    EXPECT_EQ(b.probeRefusals(), 0u);
    uint32_t worst = 0;
    for (MacAddr m : evil) worst = std::max(worst, b.probe(0, m).slots_read);
    EXPECT_LE(worst, 16u) << "seed " << seed;
  }
}

TEST(MacTableAdversarial, SeedIsRandomPerTable) {
  MacTable a(1024), b(1024);
  int same = 0;
  for (MacAddr m = 0; m < 64; ++m) same += a.homeSlot(0, m) == b.homeSlot(0, m);
  EXPECT_LT(same, 8);  // two random seeds: ~64/2048 equal homes expected
  // A given seed gives the same homes every time.
  MacTable c(1024, 42), d(1024, 42);
  for (MacAddr m = 0; m < 64; ++m) EXPECT_EQ(c.homeSlot(3, m), d.homeSlot(3, m));
}

// Ordinary addresses fill the table to its limit without a probe-bound refusal, at several seeds
// and for sequential (a lab's 52:54:00:...), VLAN-spread and random MACs.
TEST(MacTableAdversarial, FullTableOfOrdinaryMacsNeverHitsTheProbeBound) {
  std::mt19937_64 rng(7);
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    MacTable t(8192, seed);
    for (uint32_t k = 0; k < 8192; ++k) {
      const MacAddr mac = seed % 3 == 0 ? rng() & 0xFFFFFFFFFFFF : 0x525400000000 + k / 8;
      const auto vlan = static_cast<uint16_t>(seed % 3 == 0 ? 0 : k % 8);
      ASSERT_EQ(t.learn(vlan, mac, 1, 0), LearnResult::kNew) << "seed " << seed << " k " << k;
    }
    EXPECT_EQ(t.probeRefusals(), 0u);
    EXPECT_EQ(t.learn(0, 0xFFFFFFFFFFFF, 1, 0), LearnResult::kFull);
  }
}

}  // namespace
}  // namespace rtvs
