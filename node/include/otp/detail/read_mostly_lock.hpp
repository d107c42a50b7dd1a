// Internal: a reader-writer lock whose readers do not write to shared memory, so that readers on
// different cores do not slow each other down (a std::shared_mutex makes every reader write the
// same lock word, and two readers then bounce its cache line between cores). Each reader thread
// counts itself in a slot of its own cache line; a writer raises a flag and waits until every
// slot is empty. Readers are short (a lookup); writers are rarer and pay for the scan.
// Not recursive: a thread holding a read lock must not take another on the same lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

namespace otp::detail {

class ReadMostlyLock {
 public:
  void lock_shared() {
    auto& slot = slots_[my_slot()].readers;
    for (;;) {
      slot.fetch_add(1, std::memory_order_seq_cst);
      if (!writer_.load(std::memory_order_seq_cst)) return;
      slot.fetch_sub(1, std::memory_order_release);
      while (writer_.load(std::memory_order_relaxed)) std::this_thread::yield();
    }
  }
  void unlock_shared() { slots_[my_slot()].readers.fetch_sub(1, std::memory_order_release); }

  void lock() {
    writers_.lock();
    writer_.store(true, std::memory_order_seq_cst);
    for (auto& s : slots_)
      while (s.readers.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
  }
  void unlock() {
    writer_.store(false, std::memory_order_release);
    writers_.unlock();
  }

 private:
  static constexpr size_t kSlots = 16;
  struct alignas(64) Slot {
    std::atomic<uint32_t> readers{0};
  };
  static size_t my_slot() {
    static std::atomic<size_t> next{0};
    thread_local size_t slot = next.fetch_add(1, std::memory_order_relaxed) % kSlots;
    return slot;
  }
  std::array<Slot, kSlots> slots_;
  alignas(64) std::atomic<bool> writer_{false};
  std::mutex writers_;
};

}  // namespace otp::detail
