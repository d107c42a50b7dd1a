// The test kit's process nodes with netns (root only; skipped otherwise): every node on a host of
// its own in a network namespace lab, partitions made by iptables drops in the hosts' namespaces
// (the kernel's path), nodes added beside others, host names and an address change, and the lab
// gone with the cluster. Label netns: fixed namespace names.
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

TEST(ProcessClusterNetns, ANodeAddedBesideAnotherIsCutWithItsHost) {
  if (auto why = NetnsLab::unavailable()) GTEST_SKIP() << *why;
  ProcessCluster c({.nodes = 2, .program = OTP_NODE_BIN, .netns = true});
  c.await_members(2);
  c.partition({{0}, {1}});
  c.await_members(1);
  const size_t x = c.add_node({.name = "x", .seeds = {0}, .beside = 0});
  EXPECT_EQ(c.name(x), "x@10.231.0.1");
  c.await_members(2, {0, x});  // the same side as its host's node
  c.await_members(1, {1});
  c.heal();
  c.await_members(3);
}

TEST(ProcessClusterNetns, NodesNamedByHostNameFollowAnAddressChange) {
  if (auto why = NetnsLab::unavailable()) GTEST_SKIP() << *why;
  ProcessCluster c({.nodes = 2, .program = OTP_NODE_BIN, .netns = true, .host_names = true});
  EXPECT_EQ(c.name(1), "n2@otp-h2");
  EXPECT_EQ(c.gossip_address(0), "otp-h1:7101");
  c.await_members(2);
  const size_t from = c.process(0).lines().size();
  c.change_address(1, "10.231.0.102");
  // Its name now resolves to the new address (every host's /etc/hosts says so): n1 links to it
  // again there, once the link to the old address is given up.
  EXPECT_EQ(c.data_address(1), "otp-h2:7001");
  c.await_line(0, "nodeup n2@otp-h2", ProcessCluster::kAwait, from);
  c.await_members(2);
}

}  // namespace
