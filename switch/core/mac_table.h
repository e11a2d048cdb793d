#pragma once
// The L2 learning table, keyed by (VLAN, MAC): one writer (the control thread), lock-free readers
// (the PMDs).
//
// Each slot is a single 64-bit word: the MAC (low 48 bits) and a 16-bit binding id (high bits),
// so a reader sees a key and its destination together or not at all. A binding is a (VLAN, port)
// pair; the writer gives each pair in use an id and keeps the pairs in an array the readers index
// (one 32-bit word per id, written before any slot refers to it and never changed while
// referenced). A lookup is one slot load per probe plus, when the MAC matches, one load of its
// binding, which also says whether the VLAN matches. (VLAN 12 bits + MAC 48 + port 9 do not fit
// one word, and a two-word slot would need a seqlock.) Ids freed when their last entry goes are
// reused oldest-first and only after every other unused id, so a reader that loaded a slot just
// before its entry was removed reads the old pair; at worst that is a stale entry of the same
// VLAN, as in any learning bridge (the PMDs also check that the egress port carries the VLAN).
//
// Open addressing with linear probing and backward-shift deletion (no tombstones), hashed with a
// seed drawn at random per table (getrandom) so that a guest cannot craft source MACs that share
// a home slot, and with every entry within kMaxProbe slots of its home: a lookup reads at most
// kMaxProbe slots whatever the guests send, and an insert that finds no free slot that close is
// refused (kFull, counted by probeRefusals()). At the load factor of at most 1/2 that never
// happens by chance in practice (~1e-8 per insert into a full table). A reader racing
// a deletion may miss an entry for a moment; for a learning bridge a miss means the frame is
// flooded in its VLAN, which is correct. The age of an entry is a separate per-slot timestamp that
// PMDs refresh on hits (relaxed store, at most once per `min_delta`), in whatever time unit the
// caller uses (the daemon: TSC ticks). The writer keeps the number of entries per port (for
// per-port MAC limits).

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace rtvs {

using MacAddr = uint64_t;  // 48-bit MAC in the low bits, network byte order read as big-endian

inline constexpr uint16_t kNoPort = 0xFFFF;
inline constexpr uint16_t kMaxVlan = 4095;  // VLAN ids 0..4095 (0: untagged frames)

class MacTable {
 public:
  // Longest probe run: a lookup reads at most this many slots, an insert looks no further.
  static constexpr uint32_t kMaxProbe = 64;

  // `max_entries` is the learn limit; the slot array is the next power of two >= 2 * max_entries.
  // The hash seed is random (getrandom) unless `seed` is given (tests, benchmarks).
  explicit MacTable(uint32_t max_entries, std::optional<uint64_t> seed = std::nullopt);

  // --- any thread ---
  struct Hit {
    uint16_t port = kNoPort;
    uint32_t slot = 0;
  };
  Hit lookup(uint16_t vlan, MacAddr mac) const noexcept { return probe(vlan, mac).hit; }
  // lookup() and the number of slots it read (tests and benchmarks: at most probeLimit()).
  struct Probe {
    Hit hit;
    uint32_t slots_read = 0;
  };
  Probe probe(uint16_t vlan, MacAddr mac) const noexcept {
    const MacAddr key = mac & kMacMask;
    uint32_t i = home(vlan, key);
    for (uint32_t n = 0; n < probe_limit_; ++n, i = (i + 1) & mask_) {
      const uint64_t w = slots_[i].load(std::memory_order_acquire);
      if (w == 0) return {{}, n + 1};
      if ((w & kMacMask) == key) {
        const uint32_t b = bindings_[w >> 48].load(std::memory_order_relaxed);
        if ((b >> 16) == vlan) return {{static_cast<uint16_t>(b), i}, n + 1};
      }
    }
    return {{}, probe_limit_};
  }
  // PMD side: refresh the age of the entry found at `slot`, if older than `min_delta`.
  void touch(uint32_t slot, uint64_t now, uint64_t min_delta) noexcept {
    auto& s = seen_[slot];
    if (now - s.load(std::memory_order_relaxed) > min_delta)
      s.store(now, std::memory_order_relaxed);
  }

  // --- the writer thread only ---
  // kLimit: the port already has `port_limit` entries (0 = no limit); kFull: the table (or the
  // binding ids) is full, or no slot within kMaxProbe of the key's home is free (probeRefusals()).
  enum class LearnResult { kNew, kMoved, kRefreshed, kFull, kLimit };
  LearnResult learn(uint16_t vlan, MacAddr mac, uint16_t port, uint64_t now,
                    uint32_t port_limit = 0) noexcept;
  bool remove(uint16_t vlan, MacAddr mac) noexcept;
  size_t flushPort(uint16_t port) noexcept;
  size_t flushAll() noexcept;
  // Removes entries not seen for more than `max_age`. Returns how many.
  size_t age(uint64_t now, uint64_t max_age) noexcept;
  void forEach(const std::function<void(uint16_t vlan, MacAddr, uint16_t port, uint64_t last_seen)>&
                   fn) const;

  size_t size() const noexcept { return size_; }
  uint32_t maxEntries() const noexcept { return max_entries_; }
  // Slots a lookup reads at most: kMaxProbe, or the whole slot array when smaller.
  uint32_t probeLimit() const noexcept { return probe_limit_; }
  // New entries refused because no slot within probeLimit() of their home was free (since start).
  uint64_t probeRefusals() const noexcept { return probe_refusals_; }
  // The home slot of (vlan, mac) under this table's seed (tests: crafting collisions).
  uint32_t homeSlot(uint16_t vlan, MacAddr mac) const noexcept {
    return home(vlan, mac & kMacMask);
  }
  // Entries whose destination is `port`.
  uint32_t portCount(uint16_t port) const noexcept {
    const auto it = port_count_.find(port);
    return it == port_count_.end() ? 0 : it->second;
  }

  static MacAddr fromBytes(const uint8_t* b) noexcept {
    return (MacAddr{b[0]} << 40) | (MacAddr{b[1]} << 32) | (MacAddr{b[2]} << 24) |
           (MacAddr{b[3]} << 16) | (MacAddr{b[4]} << 8) | MacAddr{b[5]};
  }

 private:
  static constexpr uint64_t kMacMask = (uint64_t{1} << 48) - 1;
  static constexpr uint32_t kBindings = 1u << 16;  // id 0 unused: a slot word is never 0
  // A 64-bit mixer (MurmurHash3's finaliser) of the key xor the seed; the top bits are the slot.
  uint32_t home(uint16_t vlan, MacAddr key) const noexcept {
    uint64_t x = (key | (uint64_t{vlan} << 48)) ^ seed_;
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return static_cast<uint32_t>(x >> shift_);
  }
  uint16_t vlanOf(uint64_t w) const noexcept {
    return static_cast<uint16_t>(bindings_[w >> 48].load(std::memory_order_relaxed) >> 16);
  }
  uint16_t portOf(uint64_t w) const noexcept {
    return static_cast<uint16_t>(bindings_[w >> 48].load(std::memory_order_relaxed));
  }
  // The id of binding (vlan, port), made if needed; 0 when all ids are in use.
  uint16_t bind(uint16_t vlan, uint16_t port) noexcept;
  // One entry less refers to id `b` (and to its port).
  void unref(uint16_t b) noexcept;
  void eraseAt(uint32_t i) noexcept;

  uint32_t max_entries_;
  uint32_t mask_;
  uint32_t shift_;        // 64 - log2(slots)
  uint32_t probe_limit_;  // min(kMaxProbe, slots)
  uint64_t seed_;
  size_t size_ = 0;
  uint64_t probe_refusals_ = 0;
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
  std::unique_ptr<std::atomic<uint64_t>[]> seen_;
  // Readers: bindings_[id] = vlan << 16 | port. Writer only: the rest.
  std::unique_ptr<std::atomic<uint32_t>[]> bindings_;
  std::vector<uint32_t> binding_refs_;
  std::unordered_map<uint32_t, uint16_t> binding_of_;  // vlan << 16 | port → id
  std::deque<uint16_t> free_ids_;                      // freed ids, oldest first
  uint32_t next_unused_id_ = 1;
  std::unordered_map<uint16_t, uint32_t> port_count_;
};

}  // namespace rtvs
