#include "switch/core/log_ring.h"

#include <stdio_ext.h>

#include <bit>
#include <cstring>
#include <stdexcept>

namespace rtvs {

LogRing::LogRing(size_t slots) : mask_(slots - 1), slots_(new Slot[slots]) {
  if (slots < 2 || !std::has_single_bit(slots)) {
    throw std::invalid_argument("LogRing: slots must be a power of two >= 2");
  }
  for (size_t i = 0; i < slots; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
}

bool LogRing::push(int level, std::string_view text) noexcept {
  size_t pos = head_.load(std::memory_order_relaxed);
  Slot* slot;
  for (;;) {
    slot = &slots_[pos & mask_];
    const size_t seq = slot->seq.load(std::memory_order_acquire);
    const auto diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos);
    if (diff == 0) {
      // The slot is free for `pos`: claim it (a failed CAS means another producer took it and
      // moved head_ on; lock-free, each retry follows someone else's progress).
      if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
    } else if (diff < 0) {
      dropped_.fetch_add(1, std::memory_order_relaxed);  // full: the consumer is a lap behind
      return false;
    } else {
      pos = head_.load(std::memory_order_relaxed);
    }
  }
  size_t n = text.size();
  if (n > kLineMax) {
    n = kLineMax;
    truncated_.fetch_add(1, std::memory_order_relaxed);
  }
  std::memcpy(slot->text, text.data(), n);
  slot->len = static_cast<uint16_t>(n);
  slot->level = level;
  slot->seq.store(pos + 1, std::memory_order_release);
  pushed_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool LogRing::pop(Line& out) {
  Slot& slot = slots_[tail_ & mask_];
  if (slot.seq.load(std::memory_order_acquire) != tail_ + 1) return false;
  out.level = slot.level;
  out.text.assign(slot.text, slot.len);
  slot.seq.store(tail_ + mask_ + 1, std::memory_order_release);
  ++tail_;
  return true;
}

LogStream::LogStream(LogRing& ring, int (*level_of_current_message)())
    : ring_(ring), level_(level_of_current_message) {
  cookie_io_functions_t io{};
  io.write = &LogStream::write;
  file_ = fopencookie(this, "w", io);
  if (file_ == nullptr) throw std::runtime_error("cannot open the DPDK log stream");
  setvbuf(file_, nullptr, _IONBF, 0);
  __fsetlocking(file_, FSETLOCKING_BYCALLER);
}

LogStream::~LogStream() {
  if (file_ != nullptr) fclose(file_);
}

ssize_t LogStream::write(void* cookie, const char* buf, size_t size) noexcept {
  auto* self = static_cast<LogStream*>(cookie);
  self->ring_.push(self->level_ != nullptr ? self->level_() : 0, std::string_view(buf, size));
  return static_cast<ssize_t>(size);  // a dropped line is counted, never an error to the writer
}

}  // namespace rtvs
