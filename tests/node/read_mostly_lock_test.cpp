// ReadMostlyLock: readers never see a half-done write; readers do not exclude each other.
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "otp/detail/read_mostly_lock.hpp"
#include "support/eventually.hpp"

TEST(ReadMostlyLock, ReadersNeverSeeAHalfDoneWrite) {
  otp::detail::ReadMostlyLock lock;
  long a = 0, b = 0;  // invariant under the lock: a == b
  std::atomic<bool> stop{false};
  std::atomic<long> torn{0}, reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&] {
      while (!stop.load()) {
        std::shared_lock<otp::detail::ReadMostlyLock> g(lock);
        if (a != b) ++torn;
        ++reads;
      }
    });
  // Write until the readers have read plenty while writes were going on.
  long writes = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((writes < 20000 || reads.load() < 20000) && std::chrono::steady_clock::now() < deadline) {
    std::unique_lock<otp::detail::ReadMostlyLock> g(lock);
    ++a;
    ++b;
    ++writes;
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GE(reads.load(), 20000);
  EXPECT_EQ(a, writes);
}

TEST(ReadMostlyLock, TwoReadersHoldItAtOnce) {
  otp::detail::ReadMostlyLock lock;
  otp_test::Latch both_inside(2);
  otp_test::Latch leave(1);
  auto reader = [&] {
    std::shared_lock<otp::detail::ReadMostlyLock> g(lock);
    both_inside.count_down();
    leave.wait();
  };
  std::thread r1(reader), r2(reader);
  EXPECT_TRUE(both_inside.wait(std::chrono::seconds(10)));  // would time out if readers excluded
  leave.count_down();
  r1.join();
  r2.join();
}
