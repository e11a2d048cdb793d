#include "switch/core/mac_table.h"

#include <sys/random.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <random>
#include <stdexcept>

namespace rtvs {

namespace {

// 64 random bits from the kernel (never blocks: before the kernel's pool is ready, or without
// getrandom, std::random_device, which is good enough for a hash seed).
uint64_t randomSeed() {
  uint64_t seed = 0;
  ssize_t n;
  do {
    n = getrandom(&seed, sizeof seed, GRND_NONBLOCK);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof seed)) return seed;
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

}  // namespace

MacTable::MacTable(uint32_t max_entries, std::optional<uint64_t> seed)
    : max_entries_(max_entries), seed_(seed ? *seed : randomSeed()) {
  if (max_entries == 0 || max_entries > (1u << 24)) {
    throw std::invalid_argument("mac table size must be 1..16777216");
  }
  const uint32_t slots = std::bit_ceil(max_entries * 2u);
  mask_ = slots - 1;
  shift_ = 64 - static_cast<uint32_t>(std::countr_zero(slots));
  probe_limit_ = std::min(kMaxProbe, slots);
  slots_ = std::make_unique<std::atomic<uint64_t>[]>(slots);
  seen_ = std::make_unique<std::atomic<uint64_t>[]>(slots);
  for (uint32_t i = 0; i < slots; ++i) {
    slots_[i].store(0, std::memory_order_relaxed);
    seen_[i].store(0, std::memory_order_relaxed);
  }
  bindings_ = std::make_unique<std::atomic<uint32_t>[]>(kBindings);
  for (uint32_t i = 0; i < kBindings; ++i) bindings_[i].store(0, std::memory_order_relaxed);
  binding_refs_.assign(kBindings, 0);
}

uint16_t MacTable::bind(uint16_t vlan, uint16_t port) noexcept {
  const uint32_t pair = (uint32_t{vlan} << 16) | port;
  if (const auto it = binding_of_.find(pair); it != binding_of_.end()) return it->second;
  uint16_t id;
  if (next_unused_id_ < kBindings) {
    id = static_cast<uint16_t>(next_unused_id_++);
  } else if (!free_ids_.empty()) {
    id = free_ids_.front();
    free_ids_.pop_front();
  } else {
    return 0;
  }
  // Published to readers by the release store of the slot that first refers to it.
  bindings_[id].store(pair, std::memory_order_relaxed);
  binding_of_[pair] = id;
  return id;
}

void MacTable::unref(uint16_t b) noexcept {
  const uint16_t port = portOf(uint64_t{b} << 48);
  if (--port_count_[port] == 0) port_count_.erase(port);
  if (--binding_refs_[b] == 0) {
    binding_of_.erase(bindings_[b].load(std::memory_order_relaxed));
    free_ids_.push_back(b);
  }
}

MacTable::LearnResult MacTable::learn(uint16_t vlan, MacAddr mac, uint16_t port, uint64_t now,
                                      uint32_t port_limit) noexcept {
  const MacAddr key = mac & kMacMask;
  const bool at_limit = port_limit != 0 && portCount(port) >= port_limit;
  uint32_t i = home(vlan, key);
  bool free_slot = false;
  for (uint32_t n = 0; n < probe_limit_; ++n, i = (i + 1) & mask_) {
    const uint64_t w = slots_[i].load(std::memory_order_relaxed);
    if (w == 0) {
      free_slot = true;
      break;
    }
    if ((w & kMacMask) == key && vlanOf(w) == vlan) {
      if (portOf(w) == port) {
        seen_[i].store(now, std::memory_order_relaxed);
        return LearnResult::kRefreshed;
      }
      if (at_limit) return LearnResult::kLimit;
      const uint16_t b = bind(vlan, port);
      if (b == 0) return LearnResult::kFull;
      ++binding_refs_[b];
      ++port_count_[port];
      seen_[i].store(now, std::memory_order_relaxed);
      slots_[i].store((uint64_t{b} << 48) | key, std::memory_order_release);
      unref(static_cast<uint16_t>(w >> 48));
      return LearnResult::kMoved;
    }
  }
  if (size_ >= max_entries_) return LearnResult::kFull;
  if (at_limit) return LearnResult::kLimit;
  if (!free_slot) {
    // Every entry stays within probe_limit_ of its home, so lookups never read further.
    ++probe_refusals_;
    return LearnResult::kFull;
  }
  const uint16_t b = bind(vlan, port);
  if (b == 0) return LearnResult::kFull;
  ++binding_refs_[b];
  ++port_count_[port];
  seen_[i].store(now, std::memory_order_relaxed);
  slots_[i].store((uint64_t{b} << 48) | key, std::memory_order_release);
  ++size_;
  return LearnResult::kNew;
}

void MacTable::eraseAt(uint32_t i) noexcept {
  const uint64_t gone = slots_[i].load(std::memory_order_relaxed);
  // Backward-shift deletion: pull later members of the probe run into the hole.
  uint32_t j = i;
  for (;;) {
    j = (j + 1) & mask_;
    const uint64_t w = slots_[j].load(std::memory_order_relaxed);
    if (w == 0) break;
    const uint32_t k = home(vlanOf(w), w & kMacMask);
    // Entry at j may move to i only if its home k is not cyclically within (i, j].
    const bool k_in_range = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
    if (k_in_range) continue;
    seen_[i].store(seen_[j].load(std::memory_order_relaxed), std::memory_order_relaxed);
    slots_[i].store(w, std::memory_order_release);
    i = j;
  }
  slots_[i].store(0, std::memory_order_release);
  --size_;
  unref(static_cast<uint16_t>(gone >> 48));
}

bool MacTable::remove(uint16_t vlan, MacAddr mac) noexcept {
  const Hit h = lookup(vlan, mac);
  if (h.port == kNoPort) return false;
  eraseAt(h.slot);
  return true;
}

size_t MacTable::flushPort(uint16_t port) noexcept {
  size_t n = 0;
  // Deleting shifts later entries backwards, so re-examine a slot after erasing at it.
  for (uint32_t i = 0; i <= mask_ && portCount(port) != 0;) {
    const uint64_t w = slots_[i].load(std::memory_order_relaxed);
    if (w != 0 && portOf(w) == port) {
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
  for (uint32_t i = 0; i <= mask_; ++i) {
    const uint64_t w = slots_[i].load(std::memory_order_relaxed);
    if (w == 0) continue;
    slots_[i].store(0, std::memory_order_release);
    unref(static_cast<uint16_t>(w >> 48));
  }
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

void MacTable::forEach(const std::function<void(uint16_t vlan, MacAddr, uint16_t port,
                                                uint64_t last_seen)>& fn) const {
  for (uint32_t i = 0; i <= mask_; ++i) {
    const uint64_t w = slots_[i].load(std::memory_order_relaxed);
    if (w != 0) fn(vlanOf(w), w & kMacMask, portOf(w), seen_[i].load(std::memory_order_relaxed));
  }
}

}  // namespace rtvs
