// MAC table lookup cost, a benchmark (not a test): ns per lookup, median of several runs, for
//   typical  a table holding 1,000 stations, lookups of known (90%) and unknown (10%) MACs
//   full     the default table (8192) full of ordinary MACs, same mix
//   attack   a guest that knows the hash seed fills one probe run with colliding MACs until the
//            table refuses them (64: the probe bound); lookups of other MACs with the same home
//            slot (the longest walk). The previous table took all 8192 into one run.
// Build: ninja -C build mac_table_bench; run: build/tests/perf/mac_table_bench [runs]
// With -DRTVS_BENCH_LEGACY and a copy of the previous table in namespace rtvs_legacy on the
// include path as legacy_mac_table.h, each row is measured for both, interleaved in one run.
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "switch/core/mac_table.h"
#ifdef RTVS_BENCH_LEGACY
#include "legacy_mac_table.h"
#endif

namespace {

constexpr uint64_t kSeed = 0x5EED;
constexpr size_t kLookups = 1 << 21;

double nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct Key {
  uint16_t vlan;
  rtvs::MacAddr mac;
};

template <typename Table>
struct Scenario {
  Table table;
  std::vector<Key> keys;  // the lookup sequence
};

// A table of `n` ordinary stations (a lab's sequential MACs over 4 VLANs) and a key mix of 90%
// known, 10% unknown.
template <typename Table>
void ordinary(Scenario<Table>& s, uint32_t n) {
  std::mt19937_64 rng(1);
  std::vector<Key> known;
  for (uint32_t k = 0; k < n; ++k) {
    known.push_back({static_cast<uint16_t>(k % 4), rtvs::MacAddr{0x525400000000} + k / 4});
    s.table.learn(known.back().vlan, known.back().mac, static_cast<uint16_t>(k % 16), 0);
  }
  for (int i = 0; i < 4096; ++i) {
    if (rng() % 10 == 0) {
      s.keys.push_back({0, 0x02AA00000000 + (rng() & 0xFFFFFF)});
    } else {
      s.keys.push_back(known[rng() % known.size()]);
    }
  }
}

// `home(vlan, mac)` of the table under attack: the attacker crafts MACs until `want` share one.
template <typename Table, typename Home>
void attack(Scenario<Table>& s, Home home) {
  const uint32_t target = home(0, 0x0A0000000001);
  uint32_t learned = 0;
  rtvs::MacAddr m = 0x020000000000;
  // Learn colliding MACs until the table refuses 64 in a row (or it is full).
  for (int refused = 0; refused < 64 && learned < s.table.maxEntries(); ++m) {
    if (home(0, m) != target) continue;
    if (s.table.learn(0, m, 1, 0) == Table::LearnResult::kNew) {
      ++learned;
      refused = 0;
    } else {
      ++refused;
    }
  }
  // Lookups: more colliding MACs that are not in the table (the longest walk).
  for (; s.keys.size() < 4096; ++m) {
    if (home(0, m) == target) s.keys.push_back({0, m});
  }
  std::fprintf(stderr, "  (attack: %u colliding MACs learned)\n", learned);
}

template <typename Table>
double run(const Scenario<Table>& s, size_t lookups) {
  uint64_t sum = 0;
  const double t0 = nowNs();
  for (size_t i = 0; i < lookups; ++i) {
    const Key& k = s.keys[i & 4095];
    sum += s.table.lookup(k.vlan, k.mac).port;
  }
  const double t1 = nowNs();
  if (sum == 1) std::puts("");  // keeps the loop
  return (t1 - t0) / lookups;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The home slot function of a table, as an attacker who knows the seed computes it.
struct NewHome {
  const rtvs::MacTable* t;
  uint32_t operator()(uint16_t vlan, rtvs::MacAddr mac) const { return t->homeSlot(vlan, mac); }
};

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 9;
  struct Row {
    std::string name;
    double now = 0, legacy = 0, now_min = 0, legacy_min = 0;
  };
  std::vector<Row> rows;
  for (const char* name : {"typical", "full", "attack"}) {
    const std::string n = name;
    Scenario<rtvs::MacTable> a{rtvs::MacTable(8192, kSeed), {}};
    if (n == "typical") ordinary(a, 1000);
    if (n == "full") ordinary(a, 8192);
    if (n == "attack") attack(a, NewHome{&a.table});
#ifdef RTVS_BENCH_LEGACY
    Scenario<rtvs_legacy::MacTable> b{rtvs_legacy::MacTable(8192), {}};
    if (n == "typical") ordinary(b, 1000);
    if (n == "full") ordinary(b, 8192);
    if (n == "attack") {
      // The old hash was public: ((key ^ vlan << 48) * 0x9E3779B97F4A7C15) >> 32, masked.
      const uint32_t mask = 16383;
      attack(b, [mask](uint16_t vlan, rtvs::MacAddr mac) {
        return static_cast<uint32_t>(((mac ^ (uint64_t{vlan} << 48)) * 0x9E3779B97F4A7C15ull) >>
                                     32) &
               mask;
      });
    }
#endif
    // Under attack the previous table walks thousands of slots per lookup: fewer lookups.
    const size_t lookups = n == "attack" ? kLookups / 256 : kLookups;
    std::vector<double> ta, tb;
    for (int r = 0; r < runs; ++r) {
      ta.push_back(run(a, lookups));
#ifdef RTVS_BENCH_LEGACY
      tb.push_back(run(b, lookups));
#endif
    }
    rows.push_back({n, median(ta), tb.empty() ? 0.0 : median(tb),
                    *std::min_element(ta.begin(), ta.end()),
                    tb.empty() ? 0.0 : *std::min_element(tb.begin(), tb.end())});
  }
#ifdef RTVS_BENCH_LEGACY
  std::printf("median and minimum of %d runs of %zu lookups (attack: 1/256 of that), ns/lookup\n",
              runs, kLookups);
  std::printf("%-8s %9s %9s %7s %9s %9s %7s\n", "case", "median", "previous", "ratio", "min",
              "previous", "ratio");
  for (const Row& r : rows) {
    std::printf("%-8s %9.2f %9.2f %7.3f %9.2f %9.2f %7.3f\n", r.name.c_str(), r.now, r.legacy,
                r.now / r.legacy, r.now_min, r.legacy_min, r.now_min / r.legacy_min);
  }
#else
  std::printf("median and minimum of %d runs of %zu lookups (attack: 1/256 of that), ns/lookup\n",
              runs, kLookups);
  std::printf("%-8s %9s %9s\n", "case", "median", "min");
  for (const Row& r : rows) std::printf("%-8s %9.2f %9.2f\n", r.name.c_str(), r.now, r.now_min);
#endif
  return 0;
}
