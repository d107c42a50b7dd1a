// Issue 14's targets ("membership that global names can trust"), asserted on five otp-node
// processes on five hosts of a network namespace lab (root only; skipped otherwise), every node
// with the default membership timings: partitions {1,2} | {3,4,5} by silent INPUT drops and by
// OUTPUT drops (sendto fails with EPERM), 10 % random loss, one node's CPU starved, a node
// stopped and one killed. The scenarios and their measurements are in partition_scenarios.hpp
// (bench/partition_bench.cpp prints the same figures, beside Serf's, with `make bench-partitions`).
//
// The bounds are the targets with a margin for a loaded 2-core machine (each named below
// with its target), and every measured figure is printed, passing or not. The file takes about
// 3 minutes; the 20 s OUTPUT-drop partition is disabled by default, run it with
//   build/release/tests/partition_tests --gtest_also_run_disabled_tests
//   --gtest_filter='PartitionLabLong.DISABLED_*'
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <string>

#include "cluster/partition_scenarios.hpp"
#include "support/time_scale.hpp"

namespace {

using namespace std::chrono_literals;
using otp_test::Drop;
using otp_test::kTimeScale;
using otp_test::LabCluster;
using otp_test::ms_text;

/// Both sides mark every member of the other side failed within 3 s of the cut (the target).
constexpr double kSplitSeenMs = 4500.0 * kTimeScale;
/// One view on every node within 2 s of the heal (the target; today up to 3.2 s).
constexpr double kHealToOneViewMs = 3000.0 * kTimeScale;
/// kill -9 and SIGSTOP seen failed by every survivor within 1.5 s (the target).
constexpr double kCrashSeenMs = 2500.0 * kTimeScale;

otp_test::LabOptions lab_options() {
  return {.agent = otp_test::Agent::otp, .hosts = 5, .otp_node = OTP_NODE_BIN};
}

#define SKIP_WITHOUT_LAB()                                                                 \
  do {                                                                                     \
    if (auto why = otp_test::NetnsLab::unavailable()) GTEST_SKIP() << "skipped: " << *why; \
  } while (0)

/// The checks of one partition of `length`: issue 14 items 1 (both sides see the split fast)
/// and 2 (no failure declared after the heal), and the heal-to-one-view target.
void expect_clean_partition(Drop drop, std::chrono::milliseconds length) {
  LabCluster c(lab_options());
  if (auto why = c.start()) FAIL() << *why;
  const auto f = otp_test::run_partition(c, drop, length * kTimeScale);
  std::cout << "measured (" << otp_test::to_string(drop) << " drops, " << length.count()
            << " ms): " << f.summary();
  // Item 1: the minority side (two nodes, one peer to confirm each suspicion) as fast as the
  // majority.
  ASSERT_TRUE(f.minority_detect_ms) << "the minority side never marked some of the majority "
                                       "failed during the partition: "
                                    << f.summary() << c.logs();
  EXPECT_LE(*f.minority_detect_ms, kSplitSeenMs) << f.summary();
  ASSERT_TRUE(f.majority_detect_ms) << f.summary() << c.logs();
  EXPECT_LE(*f.majority_detect_ms, kSplitSeenMs) << f.summary();
  EXPECT_EQ(f.same_side_failed, 0)
      << "a node marked a node of its own side failed: " << f.summary();
  // Item 2: every node is reachable again after the heal: no failure may be declared then (one
  // that fires within kHealGrace of the heal could not have been answered yet: not counted).
  EXPECT_EQ(f.failed_after_heal, 0) << f.summary() << c.logs();
  ASSERT_TRUE(f.heal_to_one_view_ms)
      << "no single view after the heal: " << f.summary() << c.logs();
  EXPECT_LE(*f.heal_to_one_view_ms, kHealToOneViewMs) << f.summary();
}

class PartitionLab : public ::testing::TestWithParam<Drop> {};

// Issue 14, items 1 and 2; targets "both sides of a 2|3 partition mark every member of the other
// side failed within 3 s, for partitions of 8 s", "zero failed for a reachable member after a
// heal", "heal to one view within 2 s". INPUT drops and OUTPUT (EPERM) drops.
TEST_P(PartitionLab, EightSecondSplitIsSeenByBothSidesAndHealsWithoutFailures) {
  SKIP_WITHOUT_LAB();
  expect_clean_partition(GetParam(), 8s);
}

INSTANTIATE_TEST_SUITE_P(Drops, PartitionLab, ::testing::Values(Drop::input, Drop::output),
                         [](const auto& info) {
                           return std::string(info.param == Drop::input ? "SilentInputDrops"
                                                                        : "OutputDropsWithEperm");
                         });

// Issue 14, items 1 and 2 for the 20 s partition of the target "... for partitions of 8 s and of
// 20 s" (INPUT drops, the kind a real network makes).
TEST(PartitionLabLong, TwentySecondSilentSplitIsSeenByBothSidesAndHealsWithoutFailures) {
  SKIP_WITHOUT_LAB();
  expect_clean_partition(Drop::input, 20s);
}

// The same with OUTPUT drops: disabled by default (30 s more); see the top of the file.
TEST(PartitionLabLong, DISABLED_TwentySecondEpermSplitIsSeenByBothSidesAndHealsWithoutFailures) {
  SKIP_WITHOUT_LAB();
  expect_clean_partition(Drop::output, 20s);
}

// Issue 14, items 3 and 4; targets "zero failed for a reachable member at 10 % loss" and "zero
// nodedowns of live peers at 10 % loss for 60 s". Suspicions are printed (item 4 compares them
// per probe with Serf's in the bench), not asserted.
TEST(PartitionLabLoss, TenPercentLossForAMinuteFailsNobodyAndDropsNoLink) {
  SKIP_WITHOUT_LAB();
  LabCluster c(lab_options());
  if (auto why = c.start()) FAIL() << *why;
  const auto f = otp_test::run_loss(c, 0.10, 60s);
  const auto per_probe = f.per_probe(static_cast<double>(f.failed_probes));
  std::cout << "measured (10 % loss): " << f.summary() << "distinct suspicions per minute "
            << f.per_minute(f.suspicions) << ", failed probes per probe "
            << (per_probe ? std::to_string(*per_probe) : "?") << "\n";
  EXPECT_EQ(f.failed, 0) << f.summary();
  EXPECT_EQ(f.nodedowns, 0) << "links to live members went down: " << f.summary();
}

// Issue 14, target "zero failed for a reachable member ... with one node's CPU starved (SIGSTOP /
// SIGCONT cycles of 200 ms): zero flaps of the others". The starved node itself may be suspected
// or even failed; nobody, the starved node included, may declare one of the others failed.
TEST(PartitionLabStarvation, StarvedNodeMakesNoOtherNodeFlap) {
  SKIP_WITHOUT_LAB();
  LabCluster c(lab_options());
  if (auto why = c.start()) FAIL() << *why;
  const auto f = otp_test::run_starve(c, 5, 20s);
  std::cout << "measured (node 5 stopped 200 ms / running 200 ms for 20 s): " << f.summary();
  EXPECT_EQ(f.failed_of_others, 0) << f.summary();
  EXPECT_EQ(f.nodedowns_between_others, 0) << f.summary();
}

// Issue 14, target "kill -9 and SIGSTOP still seen by all within 1.5 s", between hosts (the
// loopback tests of membership_test.cpp keep a looser bound): what the fixes for the items above
// must not slow down.
TEST(PartitionLabCrash, StoppedAndKilledNodesAreSeenFailedByAllWithinBound) {
  SKIP_WITHOUT_LAB();
  LabCluster c(lab_options());
  if (auto why = c.start()) FAIL() << *why;
  const auto f = otp_test::run_crash(c);
  std::cout << "measured (SIGSTOP, then kill -9): " << f.summary();
  ASSERT_TRUE(f.stopped_failed_all_ms) << f.summary() << c.logs();
  EXPECT_LE(*f.stopped_failed_all_ms, kCrashSeenMs) << f.summary();
  EXPECT_TRUE(f.continued_one_view_ms) << "the stopped node did not come back: " << f.summary();
  ASSERT_TRUE(f.killed_failed_all_ms) << f.summary() << c.logs();
  EXPECT_LE(*f.killed_failed_all_ms, kCrashSeenMs) << f.summary();
  EXPECT_EQ(f.false_failed, 0) << f.summary();
}

}  // namespace
