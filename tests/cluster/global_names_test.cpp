// Global names (otp/global.hpp) between real otp-node processes with gossip membership: a name
// registered on one node is seen and called from the others; it goes away everywhere when its
// node is killed (-9); it comes back with a new pid when its supervisor restarts the crashed
// owner; the same name registered on two sides of a partition (network namespaces when root, two
// clusters merged on loopback otherwise) ends with one owner everywhere, the loser told and its
// supervisor standing; and a client calling the name while its owner crashes over and over loses
// no acknowledged call and never waits for a timeout.
//
// The nodes run `--global-counter gc`: a counter registered as otp::global_name("gc") whose value
// outlives its restarts, and print `global registered|unregistered|conflict ...` lines as their
// replica of the table changes. This test process is a node too ("t", a Cluster that joins through
// gossip) where a test calls the name. Every otp-node is bounded by --max-seconds and killed by
// PID (its whole group) at the end; waits read stdout lines against deadlines, nothing sleeps to
// synchronize, and no bound is asserted on how long anything took.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster/gossip_node.hpp"
#include "otp/cluster/cluster.hpp"
#include "otp/distributed.hpp"
#include "otp/testkit/child_process.hpp"
#include "otp/testkit/netns_lab.hpp"
#include "services/cluster_services.hpp"
#include "support/eventually.hpp"
#include "support/time_scale.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using otp_test::kTimeScale;

constexpr const char* kCookie = "global-names-test-cookie";
constexpr const char* kName = "gc";

constexpr auto kStart = otp_test::kGossipNodeStart;  // a node process starting
/// Gossip spreading joins and the names synced on link up. Usually well under a second; the bound
/// also covers the periodic push-pull that repairs a missed join (see membership_test.cpp).
constexpr auto kConverge = 30s * kTimeScale;
/// A node killed until every survivor dropped its names: failure detection (about 1-1.6 s with
/// the default timings) or the TCP link closing, whichever comes first. Generous: the test asserts
/// that it happens, not how fast (the benchmarks measure that).
constexpr auto kGone = 20s * kTimeScale;
/// A call through the global name. Far above anything a failure takes to be reported, so a call
/// that times out is a failure of the test ("failures are immediate errors, not timeouts").
constexpr auto kCallTimeout = 60s;

using otp::testkit::has_line;
using otp::testkit::lines_starting;
using otp::testkit::wait_for_line;

// -- reading a node's stdout --------------------------------------------------------------------

/// The word after `prefix` in the first line starting with it: the owner pid of
/// "global registered gc <pid> <node>" for the prefix "global registered gc ".
std::string word_after(const std::string& line, const std::string& prefix) {
  std::istringstream in(line.substr(prefix.size()));
  std::string word;
  in >> word;
  return word;
}

/// How otp-node writes any pid in its global lines: <name@host.N.0> (a remote pid's form).
std::string global_form(otp::Node& node, const otp::Pid& pid) {
  if (pid.remote()) return pid.to_string();
  return "<" + otp::distribution::node_of(node, pid) + "." + std::to_string(pid.id()) + ".0>";
}

/// SIGSTOP, then waits until the process is stopped (the signal is asynchronous: a process just
/// signalled may still answer). WNOWAIT: the child stays to be reaped by its ChildProcess.
void freeze(otp::testkit::ChildProcess& p) {
  p.signal(SIGSTOP);
  siginfo_t info{};
  ::waitid(P_PID, static_cast<id_t>(p.pid()), &info, WSTOPPED | WNOWAIT);
}

// -- one otp-node process with gossip ---------------------------------------------------------

using NodeSpec = otp_test::GossipNodeSpec;

/// An otp-node of these tests: gossip membership with this test's cookie, for 3 minutes at most,
/// redialing a lost peer after 1 s; and what its global lines say about kName.
class GossipNode : public otp_test::GossipNode {
 public:
  explicit GossipNode(const NodeSpec& spec, std::vector<std::string> wrap = {})
      : otp_test::GossipNode(
            {"--cookie", kCookie, "--max-seconds", "180", "--reconnect-ms", "1000"}, spec,
            std::move(wrap)) {}

  /// Waits for this node's line saying kName is registered to a process of `owner_node`
  /// (index >= from); that process's pid as the line writes it, or "" at the deadline.
  std::string wait_registered(const std::string& owner_node, Clock::time_point deadline,
                              size_t from = 0) {
    const std::string prefix = std::string("global registered ") + kName + " ";
    for (;;) {
      for (const auto& l : lines_starting(process(), prefix, from)) {
        if (l.size() > owner_node.size() &&
            l.compare(l.size() - owner_node.size() - 1, std::string::npos, " " + owner_node) == 0)
          return word_after(l, prefix);
      }
      if (Clock::now() > deadline) return "";
      process().wait_line("\x01", 50ms);
    }
  }
};

using Nodes = std::vector<std::unique_ptr<GossipNode>>;

/// Every node of `nodes` comes to show exactly one global name, kName, held by the same pid;
/// asked again while they differ (a conflict may still be settling). That pid.
std::string expect_one_owner_everywhere(Nodes& nodes, std::chrono::milliseconds within) {
  const auto deadline = Clock::now() + within;
  std::vector<std::map<std::string, std::string>> seen(nodes.size());
  for (;;) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      auto table = nodes[i]->globals(deadline);
      if (table) seen[i] = *table;
    }
    bool agreed = seen[0].size() == 1 && seen[0].contains(kName);
    for (const auto& s : seen) agreed = agreed && s == seen[0];
    if (agreed) return seen[0].at(kName);
    if (Clock::now() > deadline) break;
    nodes[0]->process().wait_line("\x01", 100ms);  // not asked again at once: reads what comes
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::string shown;
    for (const auto& [name, pid] : seen[i]) shown += " " + name + "=" + pid;
    ADD_FAILURE() << nodes[i]->full_name() << " shows:" << shown << "\n" << nodes[i]->output();
  }
  return "";
}

// -- this process as a node of the cluster ----------------------------------------------------

class GlobalNames : public ::testing::Test {
 protected:
  /// Joins the cluster through `seed` (gossip).
  void join(const std::string& seed) {
    services::register_types();
    otp::cluster::ClusterOptions config{.name = "t", .cookie = kCookie};
    config.gossip = otp::cluster::GossipOptions{.seeds = {seed}};
    auto c = otp::cluster::Cluster::start(node, config);
    ASSERT_TRUE(c) << c.error();
    cluster = std::move(*c);
  }
  void TearDown() override {
    if (cluster) cluster->stop();
  }

  /// Waits until this node resolves kName to `pid` (as otp-node writes pids); false at the
  /// deadline.
  bool wait_owner_here(const std::string& pid, std::chrono::milliseconds within = kConverge) {
    return otp_test::eventually(
        [&] {
          auto owner = otp::global::whereis_name(node, kName);
          return owner && global_form(node, *owner) == pid;
        },
        within);
  }

  /// Waits until every node of `nodes` shows kName registered to a process of nodes[owner]'s
  /// node, the same pid everywhere, and this node resolves it too; that pid (as otp-node writes
  /// it) in `pid`.
  void wait_registered_everywhere(Nodes& nodes, size_t owner, std::string& pid) {
    const std::string owner_node = nodes[owner]->full_name();
    const auto deadline = Clock::now() + kConverge;
    pid = nodes[owner]->wait_registered(owner_node, deadline);
    ASSERT_FALSE(pid.empty()) << nodes[owner]->output();
    for (auto& n : nodes) ASSERT_EQ(n->wait_registered(owner_node, deadline), pid) << n->output();
    ASSERT_TRUE(wait_owner_here(pid));
  }

  otp::Node node{{.name = "t", .scheduler_threads = 2, .log_crashes = false}};
  std::unique_ptr<otp::cluster::Cluster> cluster;
};

/// n1 (the seed) .. n<count>; the ones in `counters` (1-based) run --global-counter gc (a
/// permanent child: restarted after any exit).
Nodes start_cluster(size_t count, std::set<size_t> counters) {
  Nodes nodes;
  for (size_t i = 1; i <= count; ++i) {
    NodeSpec spec{.name = "n" + std::to_string(i)};
    if (i > 1) spec.seeds = {nodes[0]->gossip_address()};
    if (counters.contains(i)) spec.extra = {"--global-counter", kName};
    nodes.push_back(std::make_unique<GossipNode>(spec));
  }
  return nodes;
}

// -- (a) register on one node, resolve and call from the others ---------------------------------

TEST_F(GlobalNames, ANameRegisteredOnOneNodeIsSeenAndCalledFromEveryOther) {
  Nodes nodes = start_cluster(3, {2});
  ASSERT_NO_FATAL_FAILURE(join(nodes[0]->gossip_address()));
  const auto deadline = Clock::now() + kConverge;
  const std::string owner = nodes[1]->wait_registered(nodes[1]->full_name(), deadline);
  ASSERT_FALSE(owner.empty()) << nodes[1]->output();
  for (auto& n : nodes) {
    EXPECT_EQ(n->wait_registered(nodes[1]->full_name(), deadline), owner) << n->output();
  }
  ASSERT_TRUE(wait_owner_here(owner)) << "t never resolved " << kName << " to " << owner;
  // Every replica holds the one name and the same owner.
  EXPECT_EQ(expect_one_owner_everywhere(nodes, kConverge), owner);

  // Calls through the name reach the counter on n2, from this node.
  auto gc = otp::global_name(kName);
  EXPECT_EQ(otp::gen_server::call<int>(node, gc, services::Add{5}, kCallTimeout).value(), 5);
  otp::gen_server::cast(node, gc, services::Increment{2});
  EXPECT_EQ(otp::gen_server::call<int>(node, gc, services::Get{}, kCallTimeout).value(), 7);
  // The registry is also a ViaRegistry: {via, global, gc} is the same process.
  auto via = otp::via(otp::global::registry(node), kName);
  EXPECT_EQ(otp::gen_server::call<int>(node, via, services::Add{1}, kCallTimeout).value(), 8);
  auto found = otp::global::lookup(node, kName);
  ASSERT_TRUE(found);
  EXPECT_EQ(otp::distribution::node_of(node, found->pid), nodes[1]->full_name());
  EXPECT_EQ(otp::global::registered_names(node), std::vector<std::string>{kName});

  // A name nobody holds fails at once with noproc, naming it.
  auto none =
      otp::gen_server::call<int>(node, otp::global_name("nobody"), services::Get{}, kCallTimeout);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), otp::ErrorCode::noproc) << none.error();
  EXPECT_NE(none.error().to_string().find("nobody"), std::string::npos) << none.error();
}

// -- (b) the owner's node is killed -------------------------------------------------------------

TEST_F(GlobalNames, KillingTheOwnersNodeRemovesTheNameOnEverySurvivor) {
  Nodes nodes = start_cluster(3, {3});
  ASSERT_NO_FATAL_FAILURE(join(nodes[0]->gossip_address()));
  const std::string owner_node = nodes[2]->full_name();
  std::string owner;
  ASSERT_NO_FATAL_FAILURE(wait_registered_everywhere(nodes, 2, owner));
  ASSERT_TRUE(otp::gen_server::call<int>(node, otp::global_name(kName), services::Add{1}));

  nodes[2]->process().kill_now();
  const auto killed_at = Clock::now();
  const std::string gone =
      std::string("global unregistered ") + kName + " " + owner + " " + owner_node;
  for (size_t i : {0, 1}) {
    EXPECT_TRUE(wait_for_line(nodes[i]->process(), gone, killed_at + kGone))
        << nodes[i]->full_name() << " still holds " << kName << "; its output:\n"
        << nodes[i]->output();
  }
  EXPECT_TRUE(otp_test::eventually([&] { return !otp::global::whereis_name(node, kName); }, kGone))
      << "t still resolves " << kName;
  // Nobody took the name, and a call through it fails at once with noproc.
  nodes.pop_back();
  for (auto& n : nodes) {
    auto table = n->globals(Clock::now() + kStart);
    ASSERT_TRUE(table) << n->output();
    EXPECT_TRUE(table->empty()) << n->full_name() << " still lists " << table->begin()->first;
  }
  auto r = otp::gen_server::call<int>(node, otp::global_name(kName), services::Get{}, kCallTimeout);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), otp::ErrorCode::noproc) << r.error();
}

/// The owner's node is killed and started again (same name, a new creation): its old pid is
/// forgotten everywhere and its new counter takes the name on every node. (Creations grow with
/// the clock, so the new run is the newer one for membership: protocol::new_creation.)
TEST_F(GlobalNames, ARestartedOwnersNodeTakesTheNameBackEverywhere) {
  Nodes nodes = start_cluster(3, {3});
  ASSERT_NO_FATAL_FAILURE(join(nodes[0]->gossip_address()));
  const std::string owner_node = nodes[2]->full_name();
  std::string old_owner;
  ASSERT_NO_FATAL_FAILURE(wait_registered_everywhere(nodes, 2, old_owner));

  nodes[2]->process().kill_now();
  std::vector<size_t> mark;
  for (size_t i : {0, 1}) {
    ASSERT_TRUE(wait_for_line(nodes[i]->process(),
                              std::string("global unregistered ") + kName + " " + old_owner,
                              Clock::now() + kGone))
        << nodes[i]->output();
    mark.push_back(nodes[i]->process().lines().size());
  }
  nodes[2] = std::make_unique<GossipNode>(NodeSpec{
      .name = "n3", .seeds = {nodes[0]->gossip_address()}, .extra = {"--global-counter", kName}});
  const auto deadline = Clock::now() + kConverge;
  const std::string new_owner = nodes[2]->wait_registered(owner_node, deadline);
  ASSERT_FALSE(new_owner.empty()) << nodes[2]->output();
  for (size_t i : {0, 1}) {
    EXPECT_EQ(nodes[i]->wait_registered(owner_node, deadline, mark[i]), new_owner)
        << nodes[i]->output();
  }
  ASSERT_TRUE(wait_owner_here(new_owner)) << "t does not resolve " << kName << " to the new run";
  EXPECT_EQ(expect_one_owner_everywhere(nodes, kConverge), new_owner);
  // The new run's counter starts from 0 (its value lived in the old run).
  EXPECT_EQ(
      otp::gen_server::call<int>(node, otp::global_name(kName), services::Add{1}, kCallTimeout)
          .value(),
      1);
}

TEST_F(GlobalNames, AGracefulStopOfTheOwnersNodeRemovesTheNameOnEverySurvivor) {
  Nodes nodes = start_cluster(3, {3});
  ASSERT_NO_FATAL_FAILURE(join(nodes[0]->gossip_address()));
  const std::string owner_node = nodes[2]->full_name();
  std::string owner;
  ASSERT_NO_FATAL_FAILURE(wait_registered_everywhere(nodes, 2, owner));

  nodes[2]->process().signal(SIGTERM);
  ASSERT_TRUE(wait_for_line(nodes[2]->process(), "stopped", Clock::now() + kStart))
      << nodes[2]->output();
  const std::string gone =
      std::string("global unregistered ") + kName + " " + owner + " " + owner_node;
  for (size_t i : {0, 1}) {
    EXPECT_TRUE(wait_for_line(nodes[i]->process(), gone, Clock::now() + kGone))
        << nodes[i]->output();
  }
  EXPECT_TRUE(otp_test::eventually([&] { return !otp::global::whereis_name(node, kName); }, kGone));
}

/// A node that stops answering (SIGSTOP) is declared failed and its names go away; when it
/// resumes, the links come back up and the names it still holds come back with them (the sync on
/// link up), without anyone registering again: the same pid.
TEST_F(GlobalNames, AFrozenOwnersNodeLosesTheNameAndGetsItBackWhenItResumes) {
  Nodes nodes = start_cluster(3, {3});
  ASSERT_NO_FATAL_FAILURE(join(nodes[0]->gossip_address()));
  const std::string owner_node = nodes[2]->full_name();
  std::string owner;
  ASSERT_NO_FATAL_FAILURE(wait_registered_everywhere(nodes, 2, owner));
  ASSERT_EQ(otp::gen_server::call<int>(node, otp::global_name(kName), services::Add{2}).value(), 2);

  freeze(nodes[2]->process());
  // A call made now still finds the owner (nobody noticed yet): it ends when the node is declared
  // failed, with nodedown, not at its timeout.
  auto in_flight =
      otp::gen_server::call<int>(node, otp::global_name(kName), services::Get{}, kCallTimeout);
  ASSERT_FALSE(in_flight);
  EXPECT_TRUE(in_flight.error().code() == otp::ErrorCode::nodedown ||
              in_flight.error().code() == otp::ErrorCode::noproc)  // if it was noticed already
      << in_flight.error();
  const std::string gone =
      std::string("global unregistered ") + kName + " " + owner + " " + owner_node;
  std::vector<size_t> mark;
  for (size_t i : {0, 1}) {
    ASSERT_TRUE(wait_for_line(nodes[i]->process(), gone, Clock::now() + kGone))
        << nodes[i]->output();
    mark.push_back(nodes[i]->process().lines().size());
  }
  ASSERT_TRUE(otp_test::eventually([&] { return !otp::global::whereis_name(node, kName); }, kGone));
  auto r = otp::gen_server::call<int>(node, otp::global_name(kName), services::Get{}, kCallTimeout);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), otp::ErrorCode::noproc) << r.error();

  nodes[2]->process().signal(SIGCONT);
  const auto back_by = Clock::now() + kConverge;
  for (size_t i : {0, 1}) {
    EXPECT_EQ(nodes[i]->wait_registered(owner_node, back_by, mark[i]), owner) << nodes[i]->output();
  }
  ASSERT_TRUE(wait_owner_here(owner)) << nodes[2]->output();
  EXPECT_EQ(otp::gen_server::call<int>(node, otp::global_name(kName), services::Get{}).value(), 2);
  // The owner never lost it on its own node.
  EXPECT_EQ(lines_starting(nodes[2]->process(), std::string("global registered ") + kName).size(),
            1u)
      << nodes[2]->output();
}

// -- (c) the owner crashes and its supervisor restarts it -----------------------------------------

TEST_F(GlobalNames, ACrashedOwnerIsRestartedAndItsNameComesBackEverywhere) {
  Nodes nodes = start_cluster(3, {2});
  ASSERT_NO_FATAL_FAILURE(join(nodes[0]->gossip_address()));
  const std::string owner_node = nodes[1]->full_name();
  std::string first;
  ASSERT_NO_FATAL_FAILURE(wait_registered_everywhere(nodes, 1, first));
  std::vector<size_t> mark;
  for (auto& n : nodes) mark.push_back(n->process().lines().size());
  auto gc = otp::global_name(kName);
  ASSERT_EQ(otp::gen_server::call<int>(node, gc, services::Add{3}, kCallTimeout).value(), 3);

  auto crashed = otp::gen_server::call<int>(node, gc, services::Crash{}, kCallTimeout);
  ASSERT_FALSE(crashed);
  EXPECT_EQ(crashed.error().code(), otp::ErrorCode::exit) << crashed.error();

  // Every node saw the old owner go and a new one (a new pid, on the same node) come.
  const auto back_by = Clock::now() + kConverge;
  std::string second;
  for (size_t i = 0; i < nodes.size(); ++i) {
    EXPECT_TRUE(wait_for_line(nodes[i]->process(),
                              std::string("global unregistered ") + kName + " " + first + " ",
                              back_by, mark[i]))
        << nodes[i]->output();
    const std::string now = nodes[i]->wait_registered(owner_node, back_by, mark[i]);
    ASSERT_FALSE(now.empty()) << nodes[i]->full_name() << " never saw " << kName << " come back:\n"
                              << nodes[i]->output();
    if (second.empty()) second = now;
    EXPECT_EQ(now, second) << nodes[i]->full_name();
  }
  EXPECT_NE(second, first);
  ASSERT_TRUE(wait_owner_here(second));
  // Calls resume, on the value the crashed counter left (the node keeps it across restarts).
  EXPECT_EQ(otp::gen_server::call<int>(node, gc, services::Get{}, kCallTimeout).value(), 3);
  EXPECT_EQ(otp::gen_server::call<int>(node, gc, services::Add{1}, kCallTimeout).value(), 4);
  EXPECT_FALSE(has_line(nodes[1]->process(), "supervisor ")) << nodes[1]->output();
}

// -- (d) the same name on both sides of a partition, then the heal --------------------------------

/// The restart type of the two counters that conflict: permanent, so the supervisor's
/// name-conflict rule (supervisor.hpp) is what keeps the loser down.
constexpr const char* kConflictRestart = "permanent";

/// After the heal of a conflict between the counters registered on `x` and `y` (whose nodes are
/// among `nodes`): one owner everywhere, the loser told and not restarted, both supervisors up.
void expect_conflict_resolved(Nodes& nodes, GossipNode& x, const std::string& x_pid, GossipNode& y,
                              const std::string& y_pid) {
  const std::string winner = expect_one_owner_everywhere(nodes, kConverge);
  ASSERT_TRUE(winner == x_pid || winner == y_pid)
      << "the owner is " << winner << ", neither " << x_pid << " nor " << y_pid;
  GossipNode& loser_node = winner == x_pid ? y : x;
  GossipNode& winner_node = winner == x_pid ? x : y;
  const std::string loser = winner == x_pid ? y_pid : x_pid;
  // The loser's node reported the conflict, and the losing process was told (it logs the
  // NameConflict message it got before it exited).
  EXPECT_TRUE(
      wait_for_line(loser_node.process(),
                    std::string("global conflict ") + kName + " " + loser + " lost to " + winner,
                    Clock::now() + kConverge))
      << loser_node.output();
  EXPECT_TRUE(otp_test::eventually(
      [&] {
        return loser_node.process().stderr_text().find(std::string("lost global name ") + kName +
                                                       " to ") != std::string::npos;
      },
      kConverge))
      << loser_node.output();
  // Both supervisors still stand, and neither restarted its counter: the winner keeps its pid
  // (one registered line for it on its node), the loser's supervisor left it down.
  for (GossipNode* n : {&loser_node, &winner_node}) {
    EXPECT_FALSE(has_line(n->process(), "supervisor ")) << n->output();
    EXPECT_EQ(n->process().stderr_text().find("restart of child global:"), std::string::npos)
        << n->output();
    EXPECT_TRUE(n->globals(Clock::now() + kStart)) << n->full_name() << " does not answer";
  }
  EXPECT_EQ(lines_starting(winner_node.process(),
                           std::string("global registered ") + kName + " " + winner)
                .size(),
            1u)
      << winner_node.output();
  EXPECT_EQ(lines_starting(loser_node.process(), std::string("global registered ") + kName + " <" +
                                                     loser_node.full_name() + ".")
                .size(),
            1u)
      << "the loser's node registered " << kName << " again:\n"
      << loser_node.output();
}

/// Hosts 1 | 2 (network namespaces). a (host 1) and b (host 2) form the cluster; the link between
/// the hosts is cut; x joins on host 1 and y on host 2, each registering gc on its side; the
/// partition heals.
TEST(GlobalNamesPartition, TheSameNameOnBothSidesEndsWithOneOwnerAfterTheHeal) {
  if (auto why = otp::testkit::NetnsLab::unavailable())
    GTEST_SKIP() << "partition test skipped: " << *why
                 << " (TheSameNameOnTwoClustersThatMergeEndsWithOneOwner covers the conflict)";
  otp::testkit::NetnsLab lab(2);
  const std::string h1 = otp::testkit::NetnsLab::ip(1), h2 = otp::testkit::NetnsLab::ip(2);
  Nodes nodes;
  nodes.push_back(std::make_unique<GossipNode>(NodeSpec{.name = "a", .host = h1}, lab.exec(1, {})));
  nodes.push_back(std::make_unique<GossipNode>(
      NodeSpec{.name = "b", .host = h2, .seeds = {nodes[0]->gossip_address()}}, lab.exec(2, {})));
  GossipNode& a = *nodes[0];
  GossipNode& b = *nodes[1];
  ASSERT_TRUE(wait_for_line(a.process(), "nodeup " + b.full_name(), Clock::now() + kConverge))
      << a.output();
  ASSERT_TRUE(wait_for_line(b.process(), "nodeup " + a.full_name(), Clock::now() + kConverge))
      << b.output();

  lab.iptables(2, {"-A", "INPUT", "-s", h1, "-j", "DROP"});
  lab.iptables(1, {"-A", "INPUT", "-s", h2, "-j", "DROP"});
  ASSERT_TRUE(
      wait_for_line(a.process(), "member failed " + b.full_name() + " ", Clock::now() + kConverge))
      << a.output();
  ASSERT_TRUE(
      wait_for_line(b.process(), "member failed " + a.full_name() + " ", Clock::now() + kConverge))
      << b.output();

  const std::vector<std::string> counter = {"--global-restart", kConflictRestart,
                                            "--global-counter", kName};
  nodes.push_back(std::make_unique<GossipNode>(
      NodeSpec{.name = "x", .host = h1, .seeds = {a.gossip_address()}, .extra = counter},
      lab.exec(1, {})));
  nodes.push_back(std::make_unique<GossipNode>(
      NodeSpec{.name = "y", .host = h2, .seeds = {b.gossip_address()}, .extra = counter},
      lab.exec(2, {})));
  GossipNode& x = *nodes[2];
  GossipNode& y = *nodes[3];
  const auto deadline = Clock::now() + kConverge;
  const std::string x_pid = x.wait_registered(x.full_name(), deadline);
  const std::string y_pid = y.wait_registered(y.full_name(), deadline);
  ASSERT_FALSE(x_pid.empty()) << x.output();
  ASSERT_FALSE(y_pid.empty()) << y.output();
  // Each side knows its own registration only.
  ASSERT_EQ(a.wait_registered(x.full_name(), deadline), x_pid) << a.output();
  ASSERT_EQ(b.wait_registered(y.full_name(), deadline), y_pid) << b.output();

  for (int h : {1, 2}) lab.iptables(h, {"-F", "INPUT"});
  expect_conflict_resolved(nodes, x, x_pid, y, y_pid);
}

/// The loopback form of the conflict (no root needed): two nodes not seeded with each other each
/// register gc, then a third node seeded with both merges the two clusters.
TEST(GlobalNamesPartition, TheSameNameOnTwoClustersThatMergeEndsWithOneOwner) {
  const std::vector<std::string> counter = {"--global-restart", kConflictRestart,
                                            "--global-counter", kName};
  Nodes nodes;
  nodes.push_back(std::make_unique<GossipNode>(NodeSpec{.name = "x", .extra = counter}));
  nodes.push_back(std::make_unique<GossipNode>(NodeSpec{.name = "y", .extra = counter}));
  GossipNode& x = *nodes[0];
  GossipNode& y = *nodes[1];
  const auto deadline = Clock::now() + kConverge;
  const std::string x_pid = x.wait_registered(x.full_name(), deadline);
  const std::string y_pid = y.wait_registered(y.full_name(), deadline);
  ASSERT_FALSE(x_pid.empty()) << x.output();
  ASSERT_FALSE(y_pid.empty()) << y.output();

  nodes.push_back(std::make_unique<GossipNode>(
      NodeSpec{.name = "m", .seeds = {x.gossip_address(), y.gossip_address()}}));
  expect_conflict_resolved(nodes, x, x_pid, y, y_pid);
}

// -- (e) calls while the owner crashes and restarts, again and again
// -------------------------------

/// A client thread calling Add{1} through the global name in a loop. Each answer is the counter's
/// new value, so a client's answers must grow strictly; the sum of every client's acknowledged
/// adds must be the counter's final value (none lost, none counted twice). After a failure it
/// waits (monitor_name, no spinning) for the name to get an owner other than the one it called.
class AddingClient {
 public:
  explicit AddingClient(otp::Node& node) : node_(node), thread_([this] { run(); }) {}
  ~AddingClient() { finish(); }

  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int acked() const { return acked_; }
  /// After finish(): what went wrong, and the failed calls by error code.
  const std::vector<std::string>& wrong() const { return wrong_; }
  const std::map<otp::ErrorCode, int>& failures() const { return failures_; }

 private:
  void run() {
    otp::Inbox names(node_);
    otp::global::monitor_name(node_, names.pid(), kName);
    int last = 0;
    while (!stop_) {
      auto owner = otp::global::whereis_name(node_, kName);
      if (!owner) {
        names.receive_as<otp::GlobalNameChanged>(1s);
        continue;
      }
      auto r = otp::gen_server::call<int>(node_, otp::global_name(kName), services::Add{1},
                                          kCallTimeout);
      if (r) {
        ++acked_;
        if (*r <= last && wrong_.size() < 10)
          wrong_.push_back("answer " + std::to_string(*r) + " after " + std::to_string(last));
        last = *r;
        continue;
      }
      const auto code = r.error().code();
      ++failures_[code];
      if (code != otp::ErrorCode::noproc && code != otp::ErrorCode::exit &&
          code != otp::ErrorCode::nodedown && wrong_.size() < 10)
        wrong_.push_back("a call failed with " + r.error().to_string());
      while (!stop_ && otp::global::whereis_name(node_, kName) == owner)
        names.receive_as<otp::GlobalNameChanged>(1s);
    }
  }

  otp::Node& node_;
  std::atomic<bool> stop_{false};
  std::atomic<int> acked_{0};
  std::vector<std::string> wrong_;
  std::map<otp::ErrorCode, int> failures_;
  std::thread thread_;  // last: starts once the rest is built
};

TEST_F(GlobalNames, EveryAcknowledgedCallIsCountedAndFailuresAreImmediateAcrossRestarts) {
  constexpr int kDeaths = 6;
  constexpr int kCallsBetweenDeaths = 60;
  constexpr int kClients = 3;
  Nodes nodes = start_cluster(2, {2});
  ASSERT_NO_FATAL_FAILURE(join(nodes[0]->gossip_address()));
  const std::string first =
      nodes[1]->wait_registered(nodes[1]->full_name(), Clock::now() + kConverge);
  ASSERT_FALSE(first.empty()) << nodes[1]->output();
  ASSERT_TRUE(wait_owner_here(first));
  auto gc = otp::global_name(kName);

  std::vector<std::unique_ptr<AddingClient>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<AddingClient>(node));
  const auto acked = [&] {
    int sum = 0;
    for (const auto& c : clients) sum += c->acked();
    return sum;
  };

  std::string owner = first;
  for (int round = 1; round <= kDeaths; ++round) {
    // Let the clients get calls through this owner, then kill it mid-traffic: a crash (a call it
    // answers by throwing) or, every other time, an untrappable exit signal from this node.
    ASSERT_TRUE(
        otp_test::eventually([&] { return acked() >= round * kCallsBetweenDeaths; }, kConverge))
        << "the clients are stuck at " << acked() << " acknowledged calls";
    if (round % 2 == 1) {
      auto r = otp::gen_server::call<int>(node, gc, services::Crash{}, kCallTimeout);
      ASSERT_FALSE(r);
      ASSERT_EQ(r.error().code(), otp::ErrorCode::exit) << r.error();
    } else {
      auto pid = otp::global::whereis_name(node, kName);
      ASSERT_TRUE(pid);
      otp::exit(*pid, otp::Reason::kill());
    }
    // The supervisor restarts it: a new owner, seen here.
    ASSERT_TRUE(otp_test::eventually(
        [&] {
          auto now = otp::global::whereis_name(node, kName);
          return now && global_form(node, *now) != owner;
        },
        kConverge))
        << "the name did not come back after death " << round << "\n"
        << nodes[1]->output();
    owner = global_form(node, *otp::global::whereis_name(node, kName));
  }
  ASSERT_TRUE(otp_test::eventually([&] { return acked() >= (kDeaths + 1) * kCallsBetweenDeaths; },
                                   kConverge));
  std::map<otp::ErrorCode, int> failures;
  for (auto& c : clients) {
    c->finish();
    for (const auto& w : c->wrong()) ADD_FAILURE() << w;
    for (const auto& [code, n] : c->failures()) failures[code] += n;
  }
  EXPECT_EQ(failures.count(otp::ErrorCode::timeout), 0u);
  std::string failed;
  for (const auto& [code, n] : failures)
    failed += " " + std::string(otp::to_string(code)) + "=" + std::to_string(n);
  std::cerr << "note: " << acked() << " acknowledged adds, " << kDeaths
            << " deaths, failed calls:" << (failed.empty() ? " none" : failed) << "\n";
  // The server counted exactly the acknowledged adds: none lost, none counted twice.
  auto total = otp::gen_server::call<int>(node, gc, services::Get{}, kCallTimeout);
  ASSERT_TRUE(total) << total.error();
  EXPECT_EQ(*total, acked());
  // Its node saw every restart: the first owner and one per death.
  EXPECT_TRUE(otp_test::eventually(
      [&] {
        nodes[1]->process().wait_line("\x01", 10ms);
        return lines_starting(nodes[1]->process(), std::string("global registered ") + kName)
                   .size() == static_cast<size_t>(kDeaths + 1);
      },
      kConverge))
      << nodes[1]->output();
}

}  // namespace
