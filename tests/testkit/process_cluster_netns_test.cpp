// The test kit's process nodes with netns (root only; skipped otherwise): every node on a host of
// its own in a network namespace lab, partitions made by iptables drops in the hosts' namespaces
// (the kernel's path), and the lab gone with the cluster. Label netns: fixed namespace names.
#include <gtest/gtest.h>

#include <string>

#include "otp/testkit/process_cluster.hpp"

namespace {

using otp::testkit::NetnsLab;
using otp::testkit::ProcessCluster;

TEST(ProcessClusterNetns, APartitionByIptablesSplitsTheViewsAndHealing) {
  if (auto why = NetnsLab::unavailable()) GTEST_SKIP() << *why;
  ProcessCluster c({.nodes = 3, .program = OTP_NODE_BIN, .netns = true});
  EXPECT_EQ(c.name(0), "n1@10.231.0.1");
  ASSERT_NE(c.lab(), nullptr);
  c.await_members(3);
  c.partition({{0}, {1, 2}});
  c.await_members(1, {0});
  c.await_members(2, {1, 2});
  c.heal();
  c.await_members(3);
}

TEST(ProcessClusterNetns, KillAndRestartWorkOnAHostOfItsOwn) {
  if (auto why = NetnsLab::unavailable()) GTEST_SKIP() << *why;
  ProcessCluster c({.nodes = 3, .program = OTP_NODE_BIN, .netns = true});
  c.await_members(3);
  c.kill(0);
  c.await_members(2, {1, 2});
  c.restart(0);  // same address and ports, joining through the others
  c.await_members(3);
}

}  // namespace
