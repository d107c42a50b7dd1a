// Global names (otp/global.hpp) between real otp-node processes with gossip membership: a name
// registered on one node is seen and called from the others; it goes away everywhere when its
// node is killed (-9); it comes back with a new pid when its supervisor restarts the crashed
// owner; the same name registered on two sides of a partition (network namespaces when root, two
// clusters merged on loopback otherwise) ends with one owner everywhere, the loser told and its
// supervisor standing; and a client calling the name while its owner crashes over and over loses
// no acknowledged call and never waits for a timeout. The nodes are an
// otp::testkit::ProcessCluster.
//
// The nodes run `--global-counter gc`: a counter registered as otp::global_name("gc") whose value
// outlives its restarts, and print `global registered|unregistered|conflict ...` lines as their
// replica of the table changes. This test process is a node too ("t", a Cluster that joins through
// gossip) where a test calls the name. Every otp-node is bounded by --max-seconds and killed by
// PID (its whole group) at the end (the kit); waits read stdout lines or ask the nodes against
// deadlines, nothing sleeps to synchronize, and no bound is asserted on how long anything took.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "otp/cluster/cluster.hpp"
#include "otp/cluster/control_channel.hpp"
#include "otp/distributed.hpp"
#include "otp/testkit/process_cluster.hpp"
#include "services/cluster_services.hpp"
#include "support/eventually.hpp"
#include "support/time_scale.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using otp::testkit::ProcessCluster;
using otp_test::kTimeScale;

constexpr const char* kCookie = "global-names-test-cookie";
constexpr const char* kName = "gc";

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

const std::vector<std::string> kCounter = {"--global-counter", kName};

/// The options of these tests' clusters: `count` otp-nodes with this test's cookie, for 3 minutes
/// at most, redialing a lost peer after 1 s; the ones in `counters` (0-based) run
/// --global-counter gc (a permanent child: restarted after any exit).
otp::testkit::ProcessClusterOptions cluster_of(size_t count, std::set<size_t> counters = {}) {
  return {.nodes = count,
          .program = OTP_NODE_BIN,
          .cookie = kCookie,
          .args = {"--reconnect-ms", "1000"},
          .node_args =
              [counters](size_t i) {
                return counters.contains(i) ? kCounter : std::vector<std::string>{};
              },
          .max_seconds = 180};
}

// -- reading a node's stdout --------------------------------------------------------------------

/// The word after `prefix` in the first line starting with it: the owner pid of
/// "global registered gc <pid> <node>" for the prefix "global registered gc ".
std::string word_after(const std::string& line, const std::string& prefix) {
  std::istringstream in(line.substr(prefix.size()));
  std::string word;
  in >> word;
  return word;
}

/// Waits for node i's line saying kName is registered to a process of `owner_node` (index >=
/// from); that process's pid as the line writes it, or "" at the deadline.
std::string wait_registered(ProcessCluster& c, size_t i, const std::string& owner_node,
                            Clock::time_point deadline, size_t from = 0) {
  const std::string prefix = std::string("global registered ") + kName + " ";
  for (;;) {
    for (const auto& l : lines_starting(c.process(i), prefix, from)) {
      if (l.size() > owner_node.size() &&
          l.compare(l.size() - owner_node.size() - 1, std::string::npos, " " + owner_node) == 0)
        return word_after(l, prefix);
    }
    if (Clock::now() > deadline) return "";
    c.process(i).read_some(50ms);
  }
}

/// Every running node comes to show exactly one global name, kName, held by the same pid; asked
/// again while they differ (a conflict may still be settling). That pid.
std::string expect_one_owner_everywhere(ProcessCluster& c, std::chrono::milliseconds within) {
  const auto deadline = Clock::now() + within;
  std::vector<std::map<std::string, std::string>> seen(c.size());
  std::vector<size_t> running;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c.running(i)) running.push_back(i);
  }
  for (;;) {
    for (size_t i : running) {
      try {
        seen[i] = c.globals(i, 5s);
      } catch (const otp::testkit::AwaitError&) {  // asked again, or reported below
      }
    }
    const auto& first = seen[running.front()];
    bool agreed = first.size() == 1 && first.contains(kName);
    for (size_t i : running) agreed = agreed && seen[i] == first;
    if (agreed) return first.at(kName);
    if (Clock::now() > deadline) break;
    c.process(running.front()).read_some(100ms);  // not asked again at once: reads what comes
  }
  for (size_t i : running) {
    std::string shown;
    for (const auto& [name, pid] : seen[i]) shown += " " + name + "=" + pid;
    ADD_FAILURE() << c.name(i) << " shows:" << shown << "\n" << c.log(i);
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
          return owner && otp::cluster::pid_text(node, *owner) == pid;
        },
        within);
  }

  /// Waits until every node of c shows kName registered to a process of node `owner`, the same
  /// pid everywhere, and this node resolves it too; that pid (as otp-node writes it) in `pid`.
  void wait_registered_everywhere(ProcessCluster& c, size_t owner, std::string& pid) {
    const std::string owner_node = c.name(owner);
    const auto deadline = Clock::now() + kConverge;
    pid = wait_registered(c, owner, owner_node, deadline);
    ASSERT_FALSE(pid.empty()) << c.log(owner);
    for (size_t i = 0; i < c.size(); ++i) {
      ASSERT_EQ(wait_registered(c, i, owner_node, deadline), pid) << c.log(i);
    }
    ASSERT_TRUE(wait_owner_here(pid));
  }

  otp::Node node{{.name = "t", .scheduler_threads = 2, .log_crashes = false}};
  std::unique_ptr<otp::cluster::Cluster> cluster;
};

// -- (a) register on one node, resolve and call from the others ---------------------------------

TEST_F(GlobalNames, ANameRegisteredOnOneNodeIsSeenAndCalledFromEveryOther) {
  ProcessCluster c(cluster_of(3, {1}));
  ASSERT_NO_FATAL_FAILURE(join(c.gossip_address(0)));
  const auto deadline = Clock::now() + kConverge;
  const std::string owner = wait_registered(c, 1, c.name(1), deadline);
  ASSERT_FALSE(owner.empty()) << c.log(1);
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(wait_registered(c, i, c.name(1), deadline), owner) << c.log(i);
  }
  ASSERT_TRUE(wait_owner_here(owner)) << "t never resolved " << kName << " to " << owner;
  // Every replica holds the one name and the same owner.
  EXPECT_EQ(expect_one_owner_everywhere(c, kConverge), owner);

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
  EXPECT_EQ(otp::distribution::node_of(node, found->pid), c.name(1));
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
  ProcessCluster c(cluster_of(3, {2}));
  ASSERT_NO_FATAL_FAILURE(join(c.gossip_address(0)));
  const std::string owner_node = c.name(2);
  std::string owner;
  ASSERT_NO_FATAL_FAILURE(wait_registered_everywhere(c, 2, owner));
  ASSERT_TRUE(otp::gen_server::call<int>(node, otp::global_name(kName), services::Add{1}));

  c.kill(2);
  const auto killed_at = Clock::now();
  const std::string gone =
      std::string("global unregistered ") + kName + " " + owner + " " + owner_node;
  for (size_t i : {0, 1}) {
    EXPECT_TRUE(wait_for_line(c.process(i), gone, killed_at + kGone))
        << c.name(i) << " still holds " << kName << "; its output:\n"
        << c.log(i);
  }
  EXPECT_TRUE(otp_test::eventually([&] { return !otp::global::whereis_name(node, kName); }, kGone))
      << "t still resolves " << kName;
  // Nobody took the name, and a call through it fails at once with noproc.
  for (size_t i : {0, 1}) {
    const auto table = c.globals(i);
    EXPECT_TRUE(table.empty()) << c.name(i) << " still lists " << table.begin()->first;
  }
  auto r = otp::gen_server::call<int>(node, otp::global_name(kName), services::Get{}, kCallTimeout);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), otp::ErrorCode::noproc) << r.error();
}

/// The owner's node is killed and started again (same name, a new creation): its old pid is
/// forgotten everywhere and its new counter takes the name on every node. (Creations grow with
/// the clock, so the new run is the newer one for membership: protocol::new_creation.)
TEST_F(GlobalNames, ARestartedOwnersNodeTakesTheNameBackEverywhere) {
  ProcessCluster c(cluster_of(3, {2}));
  ASSERT_NO_FATAL_FAILURE(join(c.gossip_address(0)));
  const std::string owner_node = c.name(2);
  std::string old_owner;
  ASSERT_NO_FATAL_FAILURE(wait_registered_everywhere(c, 2, old_owner));

  c.kill(2);
  std::vector<size_t> mark;
  for (size_t i : {0, 1}) {
    ASSERT_TRUE(wait_for_line(c.process(i),
                              std::string("global unregistered ") + kName + " " + old_owner,
                              Clock::now() + kGone))
        << c.log(i);
    mark.push_back(c.process(i).lines().size());
  }
  c.restart(2);
  const auto deadline = Clock::now() + kConverge;
  const std::string new_owner = wait_registered(c, 2, owner_node, deadline);
  ASSERT_FALSE(new_owner.empty()) << c.log(2);
  for (size_t i : {0, 1}) {
    EXPECT_EQ(wait_registered(c, i, owner_node, deadline, mark[i]), new_owner) << c.log(i);
  }
  ASSERT_TRUE(wait_owner_here(new_owner)) << "t does not resolve " << kName << " to the new run";
  EXPECT_EQ(expect_one_owner_everywhere(c, kConverge), new_owner);
  // The new run's counter starts from 0 (its value lived in the old run).
  EXPECT_EQ(
      otp::gen_server::call<int>(node, otp::global_name(kName), services::Add{1}, kCallTimeout)
          .value(),
      1);
}

TEST_F(GlobalNames, AGracefulStopOfTheOwnersNodeRemovesTheNameOnEverySurvivor) {
  ProcessCluster c(cluster_of(3, {2}));
  ASSERT_NO_FATAL_FAILURE(join(c.gossip_address(0)));
  const std::string owner_node = c.name(2);
  std::string owner;
  ASSERT_NO_FATAL_FAILURE(wait_registered_everywhere(c, 2, owner));

  ASSERT_TRUE(c.stop(2)) << c.log(2);  // SIGTERM: it leaves and exits
  EXPECT_TRUE(has_line(c.process(2), "stopped")) << c.log(2);
  const std::string gone =
      std::string("global unregistered ") + kName + " " + owner + " " + owner_node;
  for (size_t i : {0, 1}) {
    EXPECT_TRUE(wait_for_line(c.process(i), gone, Clock::now() + kGone)) << c.log(i);
  }
  EXPECT_TRUE(otp_test::eventually([&] { return !otp::global::whereis_name(node, kName); }, kGone));
}

/// A node that stops answering (SIGSTOP) is declared failed and its names go away; when it
/// resumes, the links come back up and the names it still holds come back with them (the sync on
/// link up), without anyone registering again: the same pid.
TEST_F(GlobalNames, AFrozenOwnersNodeLosesTheNameAndGetsItBackWhenItResumes) {
  ProcessCluster c(cluster_of(3, {2}));
  ASSERT_NO_FATAL_FAILURE(join(c.gossip_address(0)));
  const std::string owner_node = c.name(2);
  std::string owner;
  ASSERT_NO_FATAL_FAILURE(wait_registered_everywhere(c, 2, owner));
  ASSERT_EQ(otp::gen_server::call<int>(node, otp::global_name(kName), services::Add{2}).value(), 2);

  c.pause(2);
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
    ASSERT_TRUE(wait_for_line(c.process(i), gone, Clock::now() + kGone)) << c.log(i);
    mark.push_back(c.process(i).lines().size());
  }
  ASSERT_TRUE(otp_test::eventually([&] { return !otp::global::whereis_name(node, kName); }, kGone));
  auto r = otp::gen_server::call<int>(node, otp::global_name(kName), services::Get{}, kCallTimeout);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), otp::ErrorCode::noproc) << r.error();

  c.resume(2);
  const auto back_by = Clock::now() + kConverge;
  for (size_t i : {0, 1}) {
    EXPECT_EQ(wait_registered(c, i, owner_node, back_by, mark[i]), owner) << c.log(i);
  }
  ASSERT_TRUE(wait_owner_here(owner)) << c.log(2);
  EXPECT_EQ(otp::gen_server::call<int>(node, otp::global_name(kName), services::Get{}).value(), 2);
  // The owner never lost it on its own node.
  EXPECT_EQ(lines_starting(c.process(2), std::string("global registered ") + kName).size(), 1u)
      << c.log(2);
}

// -- (c) the owner crashes and its supervisor restarts it -----------------------------------------

TEST_F(GlobalNames, ACrashedOwnerIsRestartedAndItsNameComesBackEverywhere) {
  ProcessCluster c(cluster_of(3, {1}));
  ASSERT_NO_FATAL_FAILURE(join(c.gossip_address(0)));
  const std::string owner_node = c.name(1);
  std::string first;
  ASSERT_NO_FATAL_FAILURE(wait_registered_everywhere(c, 1, first));
  std::vector<size_t> mark;
  for (size_t i = 0; i < c.size(); ++i) mark.push_back(c.process(i).lines().size());
  auto gc = otp::global_name(kName);
  ASSERT_EQ(otp::gen_server::call<int>(node, gc, services::Add{3}, kCallTimeout).value(), 3);

  auto crashed = otp::gen_server::call<int>(node, gc, services::Crash{}, kCallTimeout);
  ASSERT_FALSE(crashed);
  EXPECT_EQ(crashed.error().code(), otp::ErrorCode::exit) << crashed.error();

  // Every node saw the old owner go and a new one (a new pid, on the same node) come.
  const auto back_by = Clock::now() + kConverge;
  std::string second;
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_TRUE(wait_for_line(c.process(i),
                              std::string("global unregistered ") + kName + " " + first + " ",
                              back_by, mark[i]))
        << c.log(i);
    const std::string now = wait_registered(c, i, owner_node, back_by, mark[i]);
    ASSERT_FALSE(now.empty()) << c.name(i) << " never saw " << kName << " come back:\n" << c.log(i);
    if (second.empty()) second = now;
    EXPECT_EQ(now, second) << c.name(i);
  }
  EXPECT_NE(second, first);
  ASSERT_TRUE(wait_owner_here(second));
  // Calls resume, on the value the crashed counter left (the node keeps it across restarts).
  EXPECT_EQ(otp::gen_server::call<int>(node, gc, services::Get{}, kCallTimeout).value(), 3);
  EXPECT_EQ(otp::gen_server::call<int>(node, gc, services::Add{1}, kCallTimeout).value(), 4);
  EXPECT_FALSE(has_line(c.process(1), "supervisor ")) << c.log(1);
}

// -- (d) the same name on both sides of a partition, then the heal --------------------------------

/// The flags of the two counters that conflict: permanent, so the supervisor's name-conflict rule
/// (supervisor.hpp) is what keeps the loser down.
const std::vector<std::string> kConflictingCounter = {"--global-restart", "permanent",
                                                      "--global-counter", kName};

/// After the heal of a conflict between the counters registered on nodes x and y of c: one owner
/// everywhere, the loser told and not restarted, both supervisors up.
void expect_conflict_resolved(ProcessCluster& c, size_t x, const std::string& x_pid, size_t y,
                              const std::string& y_pid) {
  const std::string winner = expect_one_owner_everywhere(c, kConverge);
  ASSERT_TRUE(winner == x_pid || winner == y_pid)
      << "the owner is " << winner << ", neither " << x_pid << " nor " << y_pid;
  const size_t loser_node = winner == x_pid ? y : x;
  const size_t winner_node = winner == x_pid ? x : y;
  const std::string loser = winner == x_pid ? y_pid : x_pid;
  // The loser's node reported the conflict, and the losing process was told (it logs the
  // NameConflict message it got before it exited).
  EXPECT_TRUE(
      wait_for_line(c.process(loser_node),
                    std::string("global conflict ") + kName + " " + loser + " lost to " + winner,
                    Clock::now() + kConverge))
      << c.log(loser_node);
  EXPECT_TRUE(otp_test::eventually(
      [&] {
        return c.process(loser_node)
                   .stderr_text()
                   .find(std::string("lost global name ") + kName + " to ") != std::string::npos;
      },
      kConverge))
      << c.log(loser_node);
  // Both supervisors still stand, and neither restarted its counter: the winner keeps its pid
  // (one registered line for it on its node), the loser's supervisor left it down.
  for (size_t n : {loser_node, winner_node}) {
    EXPECT_FALSE(has_line(c.process(n), "supervisor ")) << c.log(n);
    EXPECT_EQ(c.process(n).stderr_text().find("restart of child global:"), std::string::npos)
        << c.log(n);
    EXPECT_NO_THROW(c.globals(n)) << c.name(n) << " does not answer";
  }
  EXPECT_EQ(lines_starting(c.process(winner_node),
                           std::string("global registered ") + kName + " " + winner)
                .size(),
            1u)
      << c.log(winner_node);
  EXPECT_EQ(lines_starting(c.process(loser_node), std::string("global registered ") + kName + " <" +
                                                      c.name(loser_node) + ".")
                .size(),
            1u)
      << "the loser's node registered " << kName << " again:\n"
      << c.log(loser_node);
}

/// Hosts 1 | 2 (network namespaces). n1 (host 1) and n2 (host 2) form the cluster; the link
/// between the hosts is cut; x joins on host 1 and y on host 2, each registering gc on its side;
/// the partition heals.
TEST(GlobalNamesPartition, TheSameNameOnBothSidesEndsWithOneOwnerAfterTheHeal) {
  if (auto why = otp::testkit::NetnsLab::unavailable())
    GTEST_SKIP() << "partition test skipped: " << *why
                 << " (TheSameNameOnTwoClustersThatMergeEndsWithOneOwner covers the conflict)";
  auto options = cluster_of(2);
  options.netns = true;
  ProcessCluster c(options);
  ASSERT_NO_THROW(c.await_line(0, "nodeup " + c.name(1), kConverge)) << c.logs();
  ASSERT_NO_THROW(c.await_line(1, "nodeup " + c.name(0), kConverge)) << c.logs();

  c.partition({{0}, {1}});  // iptables INPUT drops on both hosts
  ASSERT_NO_THROW(c.await_line(0, "member failed " + c.name(1) + " ", kConverge)) << c.log(0);
  ASSERT_NO_THROW(c.await_line(1, "member failed " + c.name(0) + " ", kConverge)) << c.log(1);

  const size_t x =
      c.add_node({.name = "x", .seeds = {0}, .beside = 0, .args = kConflictingCounter});
  const size_t y =
      c.add_node({.name = "y", .seeds = {1}, .beside = 1, .args = kConflictingCounter});
  const auto deadline = Clock::now() + kConverge;
  const std::string x_pid = wait_registered(c, x, c.name(x), deadline);
  const std::string y_pid = wait_registered(c, y, c.name(y), deadline);
  ASSERT_FALSE(x_pid.empty()) << c.log(x);
  ASSERT_FALSE(y_pid.empty()) << c.log(y);
  // Each side knows its own registration only.
  ASSERT_EQ(wait_registered(c, 0, c.name(x), deadline), x_pid) << c.log(0);
  ASSERT_EQ(wait_registered(c, 1, c.name(y), deadline), y_pid) << c.log(1);

  c.heal();
  expect_conflict_resolved(c, x, x_pid, y, y_pid);
}

/// The loopback form of the conflict (no root needed): two nodes not seeded with each other each
/// register gc, then a third node seeded with both merges the two clusters.
TEST(GlobalNamesPartition, TheSameNameOnTwoClustersThatMergeEndsWithOneOwner) {
  auto options = cluster_of(2);
  options.join = false;  // n1 and n2: a cluster of one each
  options.node_args = [](size_t) { return kConflictingCounter; };
  ProcessCluster c(options);
  const auto deadline = Clock::now() + kConverge;
  const std::string x_pid = wait_registered(c, 0, c.name(0), deadline);
  const std::string y_pid = wait_registered(c, 1, c.name(1), deadline);
  ASSERT_FALSE(x_pid.empty()) << c.log(0);
  ASSERT_FALSE(y_pid.empty()) << c.log(1);

  c.add_node({.name = "m", .seeds = {0, 1}});
  expect_conflict_resolved(c, 0, x_pid, 1, y_pid);
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
  ProcessCluster c(cluster_of(2, {1}));
  ASSERT_NO_FATAL_FAILURE(join(c.gossip_address(0)));
  const std::string first = wait_registered(c, 1, c.name(1), Clock::now() + kConverge);
  ASSERT_FALSE(first.empty()) << c.log(1);
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
          return now && otp::cluster::pid_text(node, *now) != owner;
        },
        kConverge))
        << "the name did not come back after death " << round << "\n"
        << c.log(1);
    owner = otp::cluster::pid_text(node, *otp::global::whereis_name(node, kName));
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
        c.process(1).read_some(10ms);
        return lines_starting(c.process(1), std::string("global registered ") + kName).size() ==
               static_cast<size_t>(kDeaths + 1);
      },
      kConverge))
      << c.log(1);
}

}  // namespace
