// The arithmetic of SWIM and Lifeguard, from tables (memberlist's values where they exist).
#include <gtest/gtest.h>

#include "otp/membership/timing.hpp"

namespace otp::membership {
namespace {

using std::chrono::milliseconds;

TEST(MinSuspicionTimeout, ScalesWithLog10OfTheClusterSizeAndNeverBelowOneInterval) {
  Options c;
  c.probe_interval = milliseconds(1000);  // memberlist's LAN profile
  EXPECT_EQ(min_suspicion_timeout(c, 0), milliseconds(4000));
  EXPECT_EQ(min_suspicion_timeout(c, 5), milliseconds(4000));
  EXPECT_EQ(min_suspicion_timeout(c, 10), milliseconds(4000));
  EXPECT_EQ(min_suspicion_timeout(c, 100), milliseconds(8000));
  EXPECT_EQ(min_suspicion_timeout(c, 1000), milliseconds(12000));
  EXPECT_EQ(min_suspicion_timeout(Options{}, 10), milliseconds(800));  // our default
}

TEST(SuspicionTimeout, StartsAtMaxAndDecaysLogarithmicallyToMinWithConfirmations) {
  const milliseconds min(2000), max(30000);
  // memberlist's suspicion_test.go table: k = 3
  EXPECT_EQ(suspicion_timeout(0, 3, min, max), milliseconds(30000));
  EXPECT_EQ(suspicion_timeout(1, 3, min, max), milliseconds(16000));
  EXPECT_EQ(suspicion_timeout(2, 3, min, max), milliseconds(7810));
  EXPECT_EQ(suspicion_timeout(3, 3, min, max), milliseconds(2000));
  EXPECT_EQ(suspicion_timeout(4, 3, min, max), milliseconds(2000));
}

TEST(SuspicionTimeout, IsTheMinimumWhenNoConfirmationsAreExpected) {
  EXPECT_EQ(suspicion_timeout(0, 0, milliseconds(800), milliseconds(4800)), milliseconds(800));
}

TEST(ExpectedConfirmations, IsSuspicionMultMinusTwoUnlessTheClusterIsTooSmall) {
  Options c;  // suspicion_mult 4
  EXPECT_EQ(expected_confirmations(c, 3), 0u);
  EXPECT_EQ(expected_confirmations(c, 4), 2u);
  EXPECT_EQ(expected_confirmations(c, 1000), 2u);
}

TEST(RetransmitLimit, IsMultTimesCeilLog10OfNPlusOne) {
  Options c;  // retransmit_mult 4
  EXPECT_EQ(retransmit_limit(c, 1), 4u);
  EXPECT_EQ(retransmit_limit(c, 9), 4u);
  EXPECT_EQ(retransmit_limit(c, 10), 8u);
  EXPECT_EQ(retransmit_limit(c, 99), 8u);
  EXPECT_EQ(retransmit_limit(c, 100), 12u);
  EXPECT_EQ(retransmit_limit(c, 10000), 20u);
}

TEST(PushPullInterval, GrowsWithLog2OfTheClusterBeyond32Members) {
  Options c;
  c.push_pull_interval = milliseconds(30000);
  EXPECT_EQ(push_pull_interval(c, 32), milliseconds(30000));
  EXPECT_EQ(push_pull_interval(c, 33), milliseconds(60000));
  EXPECT_EQ(push_pull_interval(c, 64), milliseconds(60000));
  EXPECT_EQ(push_pull_interval(c, 65), milliseconds(90000));
  EXPECT_EQ(push_pull_interval(c, 10000), milliseconds(30000 * 10));
}

TEST(Awareness, StaysWithinZeroAndMaxMinusOneAndScalesTimeouts) {
  Awareness a(8);
  EXPECT_EQ(a.scale(milliseconds(100)), milliseconds(100));
  a.apply(-1);
  EXPECT_EQ(a.score(), 0u);
  a.apply(3);
  EXPECT_EQ(a.scale(milliseconds(100)), milliseconds(400));
  a.apply(100);
  EXPECT_EQ(a.score(), 7u);
  a.apply(-2);
  EXPECT_EQ(a.score(), 5u);
  Awareness off(1);
  off.apply(5);
  EXPECT_EQ(off.score(), 0u);
}

}  // namespace
}  // namespace otp::membership
