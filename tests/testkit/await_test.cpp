// otp::testkit::Signal: an await returns once its condition holds (woken by notify, not by a
// sleep loop) and otherwise throws an AwaitError that says what it waited for and what it saw.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "otp/testkit/testkit.hpp"

namespace {

using namespace std::chrono_literals;

TEST(Signal, AwaitReturnsOnceANotifiedChangeMakesTheConditionTrue) {
  otp::testkit::Signal changed;
  std::atomic<int> value{0};
  std::thread writer([&] {
    for (int i = 1; i <= 5; ++i) {
      value = i;
      changed.notify();
    }
  });
  changed.await([&] { return value == 5; }, otp::testkit::kAwaitTimeout, "value 5",
                [&] { return "value " + std::to_string(value.load()); });
  writer.join();
  EXPECT_EQ(value, 5);
}

TEST(Signal, AwaitThatTimesOutSaysWhatItSaw) {
  otp::testkit::Signal changed;
  try {
    changed.await([] { return false; }, 50ms, "the answer", [] { return "saw 41"; });
    FAIL() << "no AwaitError";
  } catch (const otp::testkit::AwaitError& e) {
    EXPECT_STREQ(e.what(), "await the answer timed out after 50 ms: saw 41");
  }
  EXPECT_FALSE(changed.wait_for([] { return false; }, 10ms));
  EXPECT_TRUE(changed.wait_for([] { return true; }, 0ms));
}

}  // namespace
