#pragma once
// DPDK's log, made safe for PMD threads: rte_log writes to a stdio stream, and the default one
// is a blocking write to stderr and syslog. LogStream is a stream (fopencookie) whose write puts
// the line into LogRing, a bounded lock-free multi-producer ring; the control thread drains it
// into spdlog. A writer never waits: when the ring is full the line is dropped and counted.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace rtvs {

class LogRing {
 public:
  static constexpr size_t kLineMax = 240;  // longer lines are cut (and counted as truncated)

  struct Line {
    int level = 0;  // the writer's level (DPDK's RTE_LOG_*: 1 emergency .. 8 debug)
    std::string text;
  };

  // `slots`: a power of two >= 2.
  explicit LogRing(size_t slots);
  LogRing(const LogRing&) = delete;
  LogRing& operator=(const LogRing&) = delete;

  // Any thread, lock-free, no allocation or syscall: false (and counted) when the ring is full.
  bool push(int level, std::string_view text) noexcept;
  // One consumer at a time (the control thread): false when empty or when the oldest line is
  // still being written (it is taken on the next call).
  bool pop(Line& out);

  uint64_t pushed() const noexcept { return pushed_.load(std::memory_order_relaxed); }
  uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  uint64_t truncated() const noexcept { return truncated_.load(std::memory_order_relaxed); }
  size_t capacity() const noexcept { return mask_ + 1; }

 private:
  // D. Vyukov's bounded queue: a slot's sequence number says whose turn it is. A producer that
  // is preempted between claiming and publishing a slot delays only the consumer, never another
  // producer.
  struct alignas(64) Slot {
    std::atomic<size_t> seq;
    int level;
    uint16_t len;
    char text[kLineMax];
  };
  const size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<size_t> head_{0};  // producers: next slot to claim
  alignas(64) size_t tail_ = 0;              // consumer: next slot to read
  alignas(64) std::atomic<uint64_t> pushed_{0}, dropped_{0}, truncated_{0};
};

// A write-only stdio stream feeding a LogRing: unbuffered and without stdio's own lock
// (FSETLOCKING_BYCALLER), so that fprintf formats on the caller's stack and hands the whole
// message to write() once, and no thread ever waits on the FILE lock of another.
class LogStream {
 public:
  // `level_of_current_message` tells the writing thread's level (rte_log_cur_msg_loglevel in the
  // daemon); null means level 0.
  LogStream(LogRing& ring, int (*level_of_current_message)());
  ~LogStream();
  LogStream(const LogStream&) = delete;
  LogStream& operator=(const LogStream&) = delete;

  FILE* file() const noexcept { return file_; }

 private:
  static ssize_t write(void* cookie, const char* buf, size_t size) noexcept;
  LogRing& ring_;
  int (*level_)();
  FILE* file_ = nullptr;
};

}  // namespace rtvs
