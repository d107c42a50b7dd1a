// The test kit's process nodes (otp/testkit/process_cluster.hpp) on loopback, without root:
// otp-node processes and a node program of the test's own (node_program.cpp, on node_main) started,
// seen by each other, killed, paused, stopped, restarted, added mid-test, partitioned through the
// fault-injection seam over the control channel, and every process gone when the cluster is.
#include <signal.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "otp/testkit/process_cluster.hpp"

namespace {

using namespace std::chrono_literals;
using otp::testkit::AwaitError;
using otp::testkit::ProcessCluster;

/// Whether a process with this pid exists (a reaped child does not).
bool exists(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno != ESRCH;
}

/// The creation in node i's newest ready line ("ready n1@127.0.0.1#<creation> ...").
std::string creation_of(ProcessCluster& c, size_t i) {
  const auto& lines = c.process(i).lines();
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (it->rfind("ready ", 0) != 0) continue;
    const auto hash = it->find('#');
    return it->substr(hash + 1, it->find(' ', hash) - hash - 1);
  }
  return "";
}

TEST(ProcessCluster, OtpNodesJoinAndEverySeesEveryOtherAlive) {
  ProcessCluster c({.nodes = 3, .program = OTP_NODE_BIN});
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c.name(1), "n2@127.0.0.1");
  c.await_members(3);
  const auto members = c.members(2);
  EXPECT_EQ(members.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(members.at(c.name(i)), "alive") << c.logs();
}

TEST(ProcessCluster, AnAwaitThatTimesOutSaysWhatItSaw) {
  ProcessCluster c({.nodes = 2, .program = OTP_NODE_BIN});
  c.await_members(2);
  try {
    c.await_members(3, 500ms);
    FAIL() << "3 alive members in a 2-node cluster";
  } catch (const AwaitError& e) {
    EXPECT_NE(std::string(e.what()).find("sees 2 alive members, wanted 3"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("n2@127.0.0.1 alive"), std::string::npos) << e.what();
  }
}

TEST(ProcessCluster, AKilledNodeIsSeenFailedAndARestartComesBackAsANewRun) {
  ProcessCluster c({.nodes = 3, .program = OTP_NODE_BIN});
  c.await_members(3);
  const std::string first_run = creation_of(c, 2);
  const pid_t old_pid = c.pid(2);
  c.kill(2);
  EXPECT_FALSE(c.running(2));
  EXPECT_FALSE(exists(old_pid));
  c.await_members(2, {0, 1});
  c.await_nodedown(0, 2);
  c.restart(2);
  EXPECT_TRUE(c.running(2));
  EXPECT_NE(creation_of(c, 2), first_run) << "a restart is a new run: a new creation";
  c.await_members(3);
}

TEST(ProcessCluster, APausedNodeIsSeenFailedAndAliveAgainOnceResumed) {
  ProcessCluster c({.nodes = 3, .program = OTP_NODE_BIN});
  c.await_members(3);
  c.pause(1);
  c.await_members(2, {0, 2});
  c.resume(1);
  c.await_members(3);
}

TEST(ProcessCluster, APartitionThroughTheSeamSplitsTheViewsAndHealing) {
  ProcessCluster c({.nodes = 3, .program = OTP_NODE_BIN});
  c.await_members(3);
  c.partition({{0}, {1, 2}});
  c.await_members(1, {0});
  c.await_members(2, {1, 2});
  c.await_nodedown(1, 0);
  c.heal();
  c.await_members(3);
}

TEST(ProcessCluster, NodesStartedAloneMergeThroughANodeAddedWithBothAsSeeds) {
  ProcessCluster c({.nodes = 2, .program = OTP_NODE_BIN, .join = false});
  c.await_members(1);  // a cluster of one each
  const size_t m = c.add_node({.name = "m", .seeds = {0, 1}});
  EXPECT_EQ(m, 2u);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.name(m), "m@127.0.0.1");
  c.await_members(3);
}

TEST(ProcessCluster, NodesWithoutMembershipAreLinkedByConnectOnly) {
  ProcessCluster c({.nodes = 1, .program = OTP_NODE_BIN, .gossip = false});
  EXPECT_EQ(c.process(0).lines().front().find(" gossip="), std::string::npos)
      << c.process(0).lines().front();
  const size_t b = c.add_node({.args = {"--connect", c.data_address(0)}});
  EXPECT_EQ(c.name(b), "n2@127.0.0.1");
  c.await_line(b, "nodeup n1@127.0.0.1");
  c.await_line(0, "nodeup n2@127.0.0.1");
  EXPECT_EQ(c.linked_nodes(0), std::vector<std::string>{"n2@127.0.0.1"});
}

TEST(ProcessCluster, AStoppedNodeLeavesAndARestartBringsItBack) {
  ProcessCluster c({.nodes = 3, .program = OTP_NODE_BIN});
  c.await_members(3);
  const pid_t old_pid = c.pid(2);
  EXPECT_TRUE(c.stop(2)) << c.log(2);
  EXPECT_FALSE(c.running(2));
  EXPECT_FALSE(exists(old_pid));
  EXPECT_TRUE(otp::testkit::has_line(c.process(2), "stopped")) << c.log(2);
  // A graceful leave: the others list it as left, not failed.
  c.await_members(2);
  EXPECT_EQ(c.members(0).at(c.name(2)), "left") << c.logs();
  c.restart(2);
  c.await_members(3);
}

TEST(ProcessCluster, FaultsAreSetAgainOnARestartedNodeAndOnAPausedOneWhenItResumes) {
  using otp::cluster::LinkFault;
  ProcessCluster c({.nodes = 3, .program = OTP_NODE_BIN});
  c.await_members(3);
  c.slow(0, 1, 30ms);
  c.drop(0, 1, 0.5);  // on top of the delay
  const LinkFault lossy_and_slow{.drop = 0.5, .delay = 30ms};
  EXPECT_EQ(c.faults(0).at(c.name(1)), lossy_and_slow);
  EXPECT_EQ(c.faults(1).at(c.name(0)), lossy_and_slow);
  c.kill(1);
  c.restart(1);  // a new run: its seam starts empty, the kit sets it again
  EXPECT_EQ(c.faults(1), (std::map<std::string, LinkFault>{{c.name(0), lossy_and_slow}}));

  c.pause(2);
  c.partition({{0, 1}, {2}});  // n3 can not read it now
  c.resume(2);                 // set, and acknowledged, before resume returns
  const auto on_n3 = c.faults(2);
  ASSERT_EQ(on_n3.size(), 2u);
  EXPECT_TRUE(on_n3.at(c.name(0)).cut());
  EXPECT_TRUE(on_n3.at(c.name(1)).cut());
  c.await_members(1, {2});
  c.heal();
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(c.faults(i).empty()) << c.name(i);
  c.await_members(3);
}

TEST(ProcessCluster, TheControlChannelRefusesABadFaultAndSaysWhy) {
  ProcessCluster c({.nodes = 1, .program = OTP_NODE_BIN});
  try {
    c.ask(0, "fault set n9@127.0.0.1 drop=2");
    FAIL() << "drop=2 accepted";
  } catch (const AwaitError& e) {
    EXPECT_NE(std::string(e.what()).find("drop must be within 0..1"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(c.ask(0, "fault set n9@127.0.0.1 drop=0.5 delay_ms=20").back(),
            "control ok fault set n9@127.0.0.1 drop=0.5 delay_ms=20");
  EXPECT_THROW(c.ask(0, "reboot"), AwaitError);
}

TEST(ProcessCluster, AUsersNodeProgramRunsItsServiceOnEveryNode) {
  ProcessCluster c({.nodes = 3, .program = TESTKIT_NODE_PROGRAM});
  c.await_members(3);
  for (size_t i = 0; i < 3; ++i) c.await_global_name("svc-" + c.name(i), i);
  c.kill(1);
  c.await_members(2, {0, 2});
  c.restart(1);
  c.await_global_name("svc-" + c.name(1), 1);
}

TEST(ProcessCluster, EveryProcessIsGoneWithTheClusterAlsoWhenTheTestThrows) {
  std::vector<pid_t> pids;
  try {
    ProcessCluster c({.nodes = 2, .program = OTP_NODE_BIN});
    pids = {c.pid(0), c.pid(1)};
    c.pause(1);  // a stopped process is killed as well
    throw std::runtime_error("the test failed");
  } catch (const std::runtime_error&) {
  }
  ASSERT_EQ(pids.size(), 2u);
  for (pid_t p : pids) EXPECT_FALSE(exists(p)) << "pid " << p << " outlived its cluster";
}

TEST(ProcessCluster, ANodeWhoseControlChannelEndsStops) {
  // Its test process gone (stdin closed), a node does not wait for --max-seconds.
  otp::testkit::ChildProcess p(
      {OTP_NODE_BIN, "--name", "lone", "--host", "127.0.0.1", "--listen", "127.0.0.1:0", "--gossip",
       "127.0.0.1:0", "--cookie", "c", "--max-seconds", "300", "--control-stdin"},
      {.writable_stdin = true});
  ASSERT_TRUE(p.wait_line("ready ", 30s)) << p.stderr_text();
  p.close_stdin();
  EXPECT_TRUE(p.wait_line("stopped", 60s)) << otp::testkit::all_lines(p) << p.stderr_text();
}

}  // namespace
