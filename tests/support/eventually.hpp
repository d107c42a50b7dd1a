// Test helpers: wait on a condition with a deadline instead of sleeping, and a latch a handler
// counts down while a test waits on it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "otp/otp.hpp"

namespace otp_test {

using namespace std::chrono_literals;

/// Polls pred until it holds or the deadline passes. For conditions that no message announces
/// (a process count, a registry entry); prefer receiving an event from an Inbox where one exists.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + deadline;
  auto step = std::chrono::microseconds(100);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(step);
    step = std::min<std::chrono::microseconds>(step * 2, std::chrono::milliseconds(5));
  }
  return true;
}

/// A latch a handler can count down and a test can wait on (with a deadline).
class Latch {
 public:
  explicit Latch(int count) : count_(count) {}
  void count_down() {
    std::lock_guard<std::mutex> g(mx_);
    if (--count_ <= 0) cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lk(mx_);
    return cv_.wait_for(lk, deadline, [&] { return count_ <= 0; });
  }

 private:
  std::mutex mx_;
  std::condition_variable cv_;
  int count_;
};

}  // namespace otp_test
