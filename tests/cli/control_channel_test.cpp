// The control channel's commands (otp/cluster/control_channel.hpp), answered for a node of this
// process without a process or stdin: each answer's lines, and the faults they set.
#include "otp/cluster/control_channel.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "otp/cluster/cluster.hpp"
#include "otp/cluster/faults.hpp"
#include "otp/otp.hpp"

namespace {

using Lines = std::vector<std::string>;

/// A node of this process with a Cluster (gossip on loopback, no seeds) and a fault injector.
struct ControlledNode {
  ControlledNode()
      : node({.name = "ctl_test", .scheduler_threads = 1, .log_crashes = false}),
        faults(std::make_shared<otp::cluster::FaultInjector>(1)) {
    otp::cluster::ClusterOptions config{.name = "n1", .cookie = "control-test"};
    config.gossip = otp::cluster::GossipOptions{};
    config.gossip->leave_timeout = std::chrono::milliseconds(0);
    config.transport.log = [](std::string_view, std::string_view) {};
    config.faults = faults;
    cluster = std::move(otp::cluster::Cluster::start(node, config).value());
  }
  ~ControlledNode() { cluster->stop(); }

  otp::Node node;
  std::shared_ptr<otp::cluster::FaultInjector> faults;
  std::unique_ptr<otp::cluster::Cluster> cluster;
};

TEST(ControlCommands, SetAndClearFaultsOnTheNodesSeam) {
  ControlledNode n;
  otp::cluster::ControlCommands commands(n.node, *n.cluster, n.faults);
  EXPECT_EQ(commands.answer("fault set n2@127.0.0.1 drop=1 delay_ms=0"),
            (Lines{"control ok fault set n2@127.0.0.1 drop=1 delay_ms=0"}));
  EXPECT_TRUE(n.faults->cut("n2@127.0.0.1"));
  EXPECT_EQ(commands.answer("fault set n3@127.0.0.1 delay_ms=20"),
            (Lines{"control ok fault set n3@127.0.0.1 delay_ms=20"}));
  EXPECT_EQ(n.faults->get("n3@127.0.0.1").delay, std::chrono::milliseconds(20));
  EXPECT_EQ(commands.answer("faults"),
            (Lines{"faults 2 n2@127.0.0.1=drop:1,delay_ms:0 n3@127.0.0.1=drop:0,delay_ms:20",
                   "control ok faults"}));
  EXPECT_EQ(commands.answer("fault clear n2@127.0.0.1"),
            (Lines{"control ok fault clear n2@127.0.0.1"}));
  EXPECT_FALSE(n.faults->cut("n2@127.0.0.1"));
  EXPECT_EQ(commands.answer("fault clear-all"), (Lines{"control ok fault clear-all"}));
  EXPECT_FALSE(n.faults->any());
  EXPECT_EQ(commands.answer("faults"), (Lines{"faults 0", "control ok faults"}));
}

TEST(ControlCommands, RefuseABadCommandAndSayWhy) {
  ControlledNode n;
  otp::cluster::ControlCommands commands(n.node, *n.cluster, n.faults);
  EXPECT_EQ(commands.answer("fault set n2@127.0.0.1 drop=2"),
            (Lines{"control error fault set n2@127.0.0.1 drop=2: drop must be within 0..1, got "
                   "drop=2"}));
  EXPECT_FALSE(n.faults->any());
  EXPECT_EQ(commands.answer("nodes now"),
            (Lines{"control error nodes now: nodes takes no argument"}));
  EXPECT_EQ(
      commands.answer("reboot"),
      (Lines{"control error reboot: unknown command (fault, faults, members, nodes, globals)"}));
  otp::cluster::ControlCommands without_seam(n.node, *n.cluster, nullptr);
  EXPECT_EQ(without_seam.answer("fault clear-all"),
            (Lines{"control error fault clear-all: this node runs without a fault injector"}));
}

TEST(ControlCommands, AnswerWhatTheNodeSees) {
  ControlledNode n;
  otp::cluster::ControlCommands commands(n.node, *n.cluster, n.faults);
  const std::string self = n.cluster->self().full_name();
  EXPECT_EQ(commands.answer("members"),
            (Lines{"members 1 " + self + "=alive", "control ok members"}));
  EXPECT_EQ(commands.answer("nodes"), (Lines{"nodes 0", "control ok nodes"}));
  EXPECT_EQ(commands.answer("globals"), (Lines{"globals 0", "control ok globals"}));
}

}  // namespace
