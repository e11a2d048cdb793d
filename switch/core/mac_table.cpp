#include "switch/core/mac_table.h"

#include <bit>
#include <stdexcept>

namespace rtvs {

MacTable::MacTable(uint32_t max_entries) : max_entries_(max_entries) {
  if (max_entries == 0 || max_entries > (1u << 24)) {
    throw std::invalid_argument("mac table size must be 1..16777216");
  }
  const uint32_t slots = std::bit_ceil(max_entries * 2u);
  mask_ = slots - 1;
  slots_ = std::make_unique<std::atomic<uint64_t>[]>(slots);
  seen_ = std::make_unique<std::atomic<uint64_t>[]>(slots);
  for (uint32_t i = 0; i < slots; ++i) {
    slots_[i].store(0, std::memory_order_relaxed);
    seen_[i].store(0, std::memory_order_relaxed);
  }
}

MacTable::LearnResult MacTable::learn(MacAddr mac, uint16_t port, uint64_t now) noexcept {
  const MacAddr key = mac & kMacMask;
  const uint64_t word = (uint64_t{static_cast<uint16_t>(port + 1)} << 48) | key;
  uint32_t i = home(key);
  for (;; i = (i + 1) & mask_) {
    const uint64_t w = slots_[i].load(std::memory_order_relaxed);
    if (w == 0) break;
    if ((w & kMacMask) == key) {
      seen_[i].store(now, std::memory_order_relaxed);
      if (w == word) return LearnResult::kRefreshed;
      slots_[i].store(word, std::memory_order_release);
      return LearnResult::kMoved;
    }
  }
  if (size_ >= max_entries_) return LearnResult::kFull;
  // The load factor stays <= 1/2, so an empty slot was found above.
  seen_[i].store(now, std::memory_order_relaxed);
  slots_[i].store(word, std::memory_order_release);
  ++size_;
  return LearnResult::kNew;
}

void MacTable::eraseAt(uint32_t i) noexcept {
  // Backward-shift deletion: pull later members of the probe run into the hole.
  uint32_t j = i;
  for (;;) {
    j = (j + 1) & mask_;
    const uint64_t w = slots_[j].load(std::memory_order_relaxed);
    if (w == 0) break;
    const uint32_t k = home(w & kMacMask);
    // Entry at j may move to i only if its home k is not cyclically within (i, j].
    const bool k_in_range = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
    if (k_in_range) continue;
    seen_[i].store(seen_[j].load(std::memory_order_relaxed), std::memory_order_relaxed);
    slots_[i].store(w, std::memory_order_release);
    i = j;
  }
  slots_[i].store(0, std::memory_order_release);
  --size_;
}

bool MacTable::remove(MacAddr mac) noexcept {
  const Hit h = lookup(mac);
  if (h.port == kNoPort) return false;
  eraseAt(h.slot);
  return true;
}

size_t MacTable::flushPort(uint16_t port) noexcept {
  size_t n = 0;
  // Deleting shifts later entries backwards, so re-examine a slot after erasing at it.
  for (uint32_t i = 0; i <= mask_;) {
    const uint64_t w = slots_[i].load(std::memory_order_relaxed);
    if (w != 0 && static_cast<uint16_t>((w >> 48) - 1) == port) {
      eraseAt(i);
      ++n;
    } else {
      ++i;
    }
  }
  return n;
}

size_t MacTable::flushAll() noexcept {
  size_t n = size_;
  for (uint32_t i = 0; i <= mask_; ++i) slots_[i].store(0, std::memory_order_release);
  size_ = 0;
  return n;
}

size_t MacTable::age(uint64_t now, uint64_t max_age) noexcept {
  size_t n = 0;
  for (uint32_t i = 0; i <= mask_;) {
    const uint64_t w = slots_[i].load(std::memory_order_relaxed);
    const uint64_t seen = seen_[i].load(std::memory_order_relaxed);
    if (w != 0 && now > seen && now - seen > max_age) {
      eraseAt(i);
      ++n;
    } else {
      ++i;
    }
  }
  return n;
}

void MacTable::forEach(
    const std::function<void(MacAddr, uint16_t port, uint64_t last_seen)>& fn) const {
  for (uint32_t i = 0; i <= mask_; ++i) {
    const uint64_t w = slots_[i].load(std::memory_order_relaxed);
    if (w != 0) {
      fn(w & kMacMask, static_cast<uint16_t>((w >> 48) - 1), seen_[i].load(std::memory_order_relaxed));
    }
  }
}

}  // namespace rtvs
