#pragma once
// The L2 learning table: one writer (the control thread), lock-free readers (the PMDs).
//
// Each slot is a single 64-bit word holding the MAC (low 48 bits) and port index + 1 (high 16
// bits), so a reader sees a key and its port together or not at all. Open addressing with linear
// probing and backward-shift deletion (no tombstones). A reader racing a deletion may miss an
// entry for a moment; for a learning bridge a miss means the frame is flooded, which is correct.
// The age of an entry is a separate per-slot timestamp that PMDs refresh on hits (relaxed store,
// at most once per `min_delta`), in whatever time unit the caller uses (the daemon: TSC ticks).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

namespace rtvs {

using MacAddr = uint64_t;  // 48-bit MAC in the low bits, network byte order read as big-endian

inline constexpr uint16_t kNoPort = 0xFFFF;

class MacTable {
 public:
  // `max_entries` is the learn limit; the slot array is the next power of two >= 2 * max_entries.
  explicit MacTable(uint32_t max_entries);

  // --- any thread ---
  struct Hit {
    uint16_t port = kNoPort;
    uint32_t slot = 0;
  };
  Hit lookup(MacAddr mac) const noexcept {
    const MacAddr key = mac & kMacMask;
    uint32_t i = home(key);
    for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
      const uint64_t w = slots_[i].load(std::memory_order_acquire);
      if (w == 0) break;
      if ((w & kMacMask) == key) return {static_cast<uint16_t>((w >> 48) - 1), i};
    }
    return {};
  }
  // PMD side: refresh the age of the entry found at `slot`, if older than `min_delta`.
  void touch(uint32_t slot, uint64_t now, uint64_t min_delta) noexcept {
    auto& s = seen_[slot];
    if (now - s.load(std::memory_order_relaxed) > min_delta) s.store(now, std::memory_order_relaxed);
  }

  // --- the writer thread only ---
  enum class LearnResult { kNew, kMoved, kRefreshed, kFull };
  LearnResult learn(MacAddr mac, uint16_t port, uint64_t now) noexcept;
  bool remove(MacAddr mac) noexcept;
  size_t flushPort(uint16_t port) noexcept;
  size_t flushAll() noexcept;
  // Removes entries not seen for more than `max_age`. Returns how many.
  size_t age(uint64_t now, uint64_t max_age) noexcept;
  void forEach(const std::function<void(MacAddr, uint16_t port, uint64_t last_seen)>& fn) const;

  size_t size() const noexcept { return size_; }
  uint32_t maxEntries() const noexcept { return max_entries_; }

  static MacAddr fromBytes(const uint8_t* b) noexcept {
    return (MacAddr{b[0]} << 40) | (MacAddr{b[1]} << 32) | (MacAddr{b[2]} << 24) |
           (MacAddr{b[3]} << 16) | (MacAddr{b[4]} << 8) | MacAddr{b[5]};
  }

 private:
  static constexpr uint64_t kMacMask = (uint64_t{1} << 48) - 1;
  uint32_t home(MacAddr key) const noexcept {
    return static_cast<uint32_t>((key * 0x9E3779B97F4A7C15ull) >> 32) & mask_;
  }
  void eraseAt(uint32_t i) noexcept;

  uint32_t max_entries_;
  uint32_t mask_;
  size_t size_ = 0;
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
  std::unique_ptr<std::atomic<uint64_t>[]> seen_;
};

}  // namespace rtvs
