// SWIM membership between real otp-node processes: joining through one seed, kill -9, SIGSTOP /
// SIGCONT, graceful leave, the Cluster API of a gossiping node in this process, and (as root)
// partitions between hosts made of network namespaces, by silent INPUT drops and by OUTPUT drops
// that make sendto fail with EPERM. Every node runs with the default membership timings unless a
// test says why not, is bounded by --max-seconds, and is killed by PID (its whole group) at the
// end. Waits read the nodes' stdout lines against deadlines; nothing sleeps to synchronize.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cluster/gossip_node.hpp"
#include "otp/cluster/cluster.hpp"
#include "otp/distributed.hpp"
#include "otp/testkit/child_process.hpp"
#include "otp/testkit/netns_lab.hpp"
#include "support/eventually.hpp"
#include "support/time_scale.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kCookie = "membership-test-cookie";
using otp_test::kTimeScale;

constexpr auto kStart = otp_test::kGossipNodeStart;  // a node process starting
/// Every node seeing every other. Usually well under a second (gossip); the bound also covers the
/// periodic push-pull (every 7.5-15 s at first), which repairs the rare case where a node missed
/// every gossiped copy of a join (the joiner's own announcement and the seed's): that node
/// learns of the joiner at its next push-pull.
constexpr auto kConverge = 20s * kTimeScale;
/// kill -9 until every survivor reports `failed`: the defaults take about 1.0-1.6 s here (Serf:
/// 5.8 s); the bound leaves room for a loaded machine.
constexpr auto kDetect = 3s * kTimeScale;
constexpr auto kRecover =
    15s * kTimeScale;  // SIGCONT / healed partition until everyone sees alive again

using otp::testkit::all_lines;
using otp::testkit::has_line;
using otp::testkit::wait_for_line;
using NodeSpec = otp_test::GossipNodeSpec;

/// An otp-node of these tests: gossip membership with this test's cookie, for 2 minutes at most.
class GossipNode : public otp_test::GossipNode {
 public:
  explicit GossipNode(const NodeSpec& spec, std::vector<std::string> wrap = {})
      : otp_test::GossipNode({"--cookie", kCookie, "--max-seconds", "120"}, spec, std::move(wrap)) {
  }
};

using Nodes = std::vector<std::unique_ptr<GossipNode>>;

/// n nodes on loopback: node 1 first, then the others with node 1 as their only seed.
Nodes start_loopback_cluster(size_t n) {
  Nodes nodes;
  nodes.push_back(std::make_unique<GossipNode>(NodeSpec{.name = "n1"}));
  const std::string seed = nodes[0]->gossip_address();
  for (size_t i = 2; i <= n; ++i) {
    nodes.push_back(
        std::make_unique<GossipNode>(NodeSpec{.name = "n" + std::to_string(i), .seeds = {seed}}));
  }
  return nodes;
}

/// Waits until every node printed `member joined` for every other one.
void expect_converged(Nodes& nodes, Clock::time_point deadline) {
  for (auto& a : nodes) {
    for (auto& b : nodes) {
      if (a == b) continue;
      ASSERT_TRUE(wait_for_line(a->process(), "member joined " + b->full_name() + " ", deadline))
          << a->full_name() << " never saw " << b->full_name() << " join; its output:\n"
          << all_lines(a->process());
    }
  }
}

/// Every node comes to list exactly `expected` (name -> state) within the bound: asked again
/// while it does not (a view may still be settling, e.g. right after a partition heals).
void expect_members(Nodes& nodes, const std::map<std::string, std::string>& expected,
                    std::chrono::milliseconds within = 5s) {
  const auto deadline = Clock::now() + within;
  for (auto& n : nodes) {
    std::optional<std::map<std::string, std::string>> listed;
    do {
      listed = n->members(deadline);
    } while (listed && *listed != expected && Clock::now() < deadline);
    ASSERT_TRUE(listed) << n->full_name() << " did not list its members";
    EXPECT_EQ(*listed, expected) << "as seen by " << n->full_name();
  }
}

std::map<std::string, std::string> all_alive(Nodes& nodes) {
  std::map<std::string, std::string> m;
  for (auto& n : nodes) m[n->full_name()] = "alive";
  return m;
}

/// No node reported `failed` for any node in `live` (from line index 0: the whole run).
void expect_never_failed(Nodes& nodes, const std::vector<std::string>& live) {
  for (auto& n : nodes) {
    for (const auto& name : live) {
      EXPECT_FALSE(has_line(n->process(), "member failed " + name + " "))
          << n->full_name() << " reported live node " << name << " failed; its output:\n"
          << all_lines(n->process());
    }
  }
}

std::vector<std::string> names_of(Nodes& nodes, size_t first, size_t last) {
  std::vector<std::string> names;
  for (size_t i = first; i <= last; ++i) names.push_back(nodes[i]->full_name());
  return names;
}

// -- loopback: joining, crashes, pauses, leaving -----------------------------------------------

TEST(MembershipProcesses, FiveNodesJoinThroughOneSeedAndConverge) {
  Nodes nodes = start_loopback_cluster(5);
  ASSERT_NO_FATAL_FAILURE(expect_converged(nodes, Clock::now() + kConverge));
  ASSERT_NO_FATAL_FAILURE(expect_members(nodes, all_alive(nodes)));
  // Membership drives the links: every node is linked to the other four without --connect.
  for (auto& a : nodes) {
    for (auto& b : nodes) {
      if (a == b) continue;
      EXPECT_TRUE(wait_for_line(a->process(), "nodeup " + b->full_name(), Clock::now() + kConverge))
          << a->full_name() << " has no link to " << b->full_name() << "; its output:\n"
          << all_lines(a->process()) << "stderr:\n"
          << a->process().stderr_text();
    }
  }
  expect_never_failed(nodes, names_of(nodes, 0, 4));
}

TEST(MembershipProcesses, KilledNodeIsMarkedFailedByEverySurvivorWithinTheBound) {
  Nodes nodes = start_loopback_cluster(5);
  ASSERT_NO_FATAL_FAILURE(expect_converged(nodes, Clock::now() + kConverge));
  const std::string victim = nodes[4]->full_name();
  const auto killed_at = Clock::now();
  nodes[4]->process().kill_now();
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(
        wait_for_line(nodes[i]->process(), "member failed " + victim + " ", killed_at + kDetect))
        << nodes[i]->full_name() << " did not report " << victim << " failed within "
        << std::chrono::duration_cast<std::chrono::milliseconds>(kDetect).count()
        << " ms; its output:\n"
        << all_lines(nodes[i]->process());
    // The transport link went down too (the node's distribution saw nodedown).
    EXPECT_TRUE(wait_for_line(nodes[i]->process(), "nodedown " + victim, killed_at + kDetect));
  }
  nodes.pop_back();
  std::map<std::string, std::string> expected = all_alive(nodes);
  expected[victim] = "failed";
  expect_members(nodes, expected);
  expect_never_failed(nodes, names_of(nodes, 0, 3));
}

TEST(MembershipProcesses, StoppedNodeIsFailedThenAliveAfterContinueWithoutFlappingOthers) {
  Nodes nodes = start_loopback_cluster(5);
  ASSERT_NO_FATAL_FAILURE(expect_converged(nodes, Clock::now() + kConverge));
  const std::string frozen = nodes[4]->full_name();
  nodes[4]->process().signal(SIGSTOP);
  const auto stopped_at = Clock::now();
  std::vector<size_t> mark(4);
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(
        wait_for_line(nodes[i]->process(), "member failed " + frozen + " ", stopped_at + kDetect))
        << nodes[i]->full_name() << " did not report the stopped node failed; its output:\n"
        << all_lines(nodes[i]->process());
    mark[i] = nodes[i]->process().lines().size();
  }
  nodes[4]->process().signal(SIGCONT);
  const auto resumed_at = Clock::now();
  for (size_t i = 0; i < 4; ++i) {
    // It refutes its death with a higher incarnation: `alive` (after the failure).
    EXPECT_TRUE(
        wait_for_line(nodes[i]->process(), "member alive " + frozen + " ", resumed_at + kRecover))
        << nodes[i]->full_name() << " never saw the resumed node alive; its output:\n"
        << all_lines(nodes[i]->process());
  }
  expect_members(nodes, all_alive(nodes));
  // Nobody, the resumed node included, declared one of the four live nodes failed.
  expect_never_failed(nodes, names_of(nodes, 0, 3));
}

TEST(MembershipProcesses, GracefulStopIsReportedAsLeftNeverAsFailed) {
  Nodes nodes = start_loopback_cluster(4);
  ASSERT_NO_FATAL_FAILURE(expect_converged(nodes, Clock::now() + kConverge));
  const std::string leaver = nodes[3]->full_name();
  nodes[3]->process().signal(SIGTERM);
  ASSERT_TRUE(wait_for_line(nodes[3]->process(), "stopped", Clock::now() + kStart))
      << "the node did not stop on SIGTERM; stderr:\n"
      << nodes[3]->process().stderr_text();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(
        wait_for_line(nodes[i]->process(), "member left " + leaver + " ", Clock::now() + kDetect))
        << nodes[i]->full_name() << " output:\n"
        << all_lines(nodes[i]->process());
  }
  // A failure would follow within the detection time if the leave had not been understood.
  const auto quiet_until = Clock::now() + kDetect;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(wait_for_line(nodes[i]->process(), "member failed " + leaver + " ", quiet_until))
        << nodes[i]->full_name() << " reported a node that left as failed";
  }
}

TEST(MembershipProcesses, UnreachableSeedDoesNotBlockStartAndIsRetried) {
  // A seed nobody listens on yet: the node starts alone, then joins once the seed comes up.
  // Port 0 can not be a seed; take a free port from a node we stop again.
  uint16_t port = 0;
  {
    GossipNode probe(NodeSpec{.name = "probe"});
    port = probe.gossip_port();
  }
  const std::string seed_address = "127.0.0.1:" + std::to_string(port);
  GossipNode joiner(NodeSpec{.name = "joiner", .seeds = {seed_address, "seed-name.invalid:7101"}});
  GossipNode seed(NodeSpec{.name = "seed", .gossip_port = port});
  EXPECT_TRUE(wait_for_line(joiner.process(), "member joined seed@127.0.0.1 ", Clock::now() + 10s))
      << all_lines(joiner.process()) << joiner.process().stderr_text();
  EXPECT_TRUE(wait_for_line(seed.process(), "member joined joiner@127.0.0.1 ", Clock::now() + 10s));
  EXPECT_NE(joiner.process().stderr_text().find("seed-name.invalid:7101 does not resolve"),
            std::string::npos)
      << joiner.process().stderr_text();
}

// -- the Cluster API of a gossiping node in this process -----------------------------------------

class GossipingCluster : public ::testing::Test {
 protected:
  void start(const std::string& seed) {
    otp::distribution::monitor_nodes(node, node_events.pid());
    otp::cluster::ClusterOptions config{.name = "t", .cookie = kCookie};
    config.gossip = otp::cluster::GossipOptions{.seeds = {seed}};
    auto c = otp::cluster::Cluster::start(node, config);
    ASSERT_TRUE(c) << c.error();
    cluster = std::move(*c);
    cluster->subscribe(member_events.pid());
    cluster->subscribe([this](const otp::membership::Event& e) {
      std::lock_guard<std::mutex> g(mx);
      seen.push_back(e);
    });
  }
  void TearDown() override {
    if (cluster) cluster->stop();
  }

  /// The next Event of `kind` about `who` in member_events (others are skipped).
  std::optional<otp::membership::Event> next_event(otp::membership::EventKind kind,
                                                   const std::string& who,
                                                   std::chrono::milliseconds within) {
    const auto deadline = Clock::now() + within;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto e = member_events.receive_as<otp::membership::Event>(left);
      if (!e) return std::nullopt;
      if (e->kind == kind && e->member.id.full_name() == who) return e;
    }
  }
  template <class T>
  std::optional<T> next_node_event(const std::string& who, std::chrono::milliseconds within) {
    const auto deadline = Clock::now() + within;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto e = node_events.receive_as<T>(left);
      if (!e) return std::nullopt;
      if (e->node == who) return e;
    }
  }

  otp::Node node{{.name = "t", .scheduler_threads = 2, .log_crashes = false}};
  otp::Inbox node_events{node};
  otp::Inbox member_events{node};
  std::unique_ptr<otp::cluster::Cluster> cluster;
  std::mutex mx;
  std::vector<otp::membership::Event> seen;
};

TEST_F(GossipingCluster, MembershipLinksNodesAndReportsEventsToProcessesAndCallbacks) {
  GossipNode peer(NodeSpec{.name = "p"});
  start(peer.gossip_address());
  const std::string p = peer.full_name();
  auto joined = next_event(otp::membership::EventKind::joined, p, kConverge);
  ASSERT_TRUE(joined) << "no joined event for " << p;
  EXPECT_EQ(joined->member.gossip.to_string(), peer.gossip_address());
  EXPECT_NE(joined->member.meta.data.port, 0) << "the member's data address is gossiped";
  // "p@..." < "t@...": the peer dials; the link comes up without any connect() here.
  EXPECT_TRUE(next_node_event<otp::NodeUp>(p, kConverge)) << "no nodeup for " << p;
  EXPECT_TRUE(
      wait_for_line(peer.process(), "member joined t@127.0.0.1 ", Clock::now() + kConverge));

  const auto members = cluster->members();
  ASSERT_EQ(members.size(), 2u);
  for (const auto& m : members) EXPECT_EQ(m.state, otp::membership::MemberState::alive) << m.id;
  ASSERT_TRUE(cluster->gossip_port());
  EXPECT_GT(cluster->membership_stats().packets_received, 0u);
  EXPECT_GT(cluster->membership_driver_stats().streams_opened, 0u) << "the join's push-pull";

  peer.process().kill_now();
  EXPECT_TRUE(next_event(otp::membership::EventKind::failed, p, kDetect))
      << "no failed event within the bound";
  EXPECT_TRUE(next_node_event<otp::NodeDown>(p, kDetect));
  // The callback subscriber saw the same events, in the same order (it runs right after the
  // process subscriber, on the membership thread).
  EXPECT_TRUE(otp_test::eventually([&] {
    std::lock_guard<std::mutex> g(mx);
    return !seen.empty() && seen.back().kind == otp::membership::EventKind::failed;
  }));
  std::lock_guard<std::mutex> g(mx);
  EXPECT_EQ(seen.front().kind, otp::membership::EventKind::joined);
}

TEST_F(GossipingCluster, StopLeavesSoThePeerReportsLeftAndNodedown) {
  GossipNode peer(NodeSpec{.name = "p"});
  start(peer.gossip_address());
  ASSERT_TRUE(next_event(otp::membership::EventKind::joined, peer.full_name(), kConverge));
  ASSERT_TRUE(next_node_event<otp::NodeUp>(peer.full_name(), kConverge));
  cluster->stop();
  EXPECT_TRUE(wait_for_line(peer.process(), "member left t@127.0.0.1 ", Clock::now() + kDetect))
      << all_lines(peer.process());
  EXPECT_TRUE(wait_for_line(peer.process(), "nodedown t@127.0.0.1", Clock::now() + kDetect));
  EXPECT_FALSE(has_line(peer.process(), "member failed t@127.0.0.1 "));
}

TEST(GossipConfigErrors, StartFailsWithTheReasonForABadSeed) {
  otp::Node node({.name = "bad", .scheduler_threads = 1});
  otp::cluster::ClusterOptions config{.name = "bad", .cookie = kCookie};
  config.gossip = otp::cluster::GossipOptions{.seeds = {"no-port-here"}};
  auto c = otp::cluster::Cluster::start(node, config);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().to_string().find("no-port-here"), std::string::npos) << c.error();
  // The transport was stopped again: the node can be made distributed afresh.
  config.gossip.reset();
  EXPECT_TRUE(otp::cluster::Cluster::start(node, config));
}

// -- partitions between hosts (network namespaces; root only) -----------------------------------

enum class Drop { input, output };

class Partition : public ::testing::TestWithParam<Drop> {};

/// Hosts 1, 2 | 3: after the cut each side reports the other failed (never its own side); after
/// the heal all three list each other alive. INPUT drops lose packets silently; OUTPUT drops make
/// sendto fail with EPERM, which the driver must survive and log only now and then.
TEST_P(Partition, HealsIntoOneView) {
  if (auto why = otp::testkit::NetnsLab::unavailable())
    GTEST_SKIP() << "partition test skipped: " << *why;
  otp::testkit::NetnsLab lab(3);
  const bool input = GetParam() == Drop::input;
  Nodes nodes;
  const std::string seed = otp::testkit::NetnsLab::ip(1) + ":7101";
  for (int h = 1; h <= 3; ++h) {
    // reconnect_interval 1 s instead of 5 s: only how soon a healed partition is noticed; it
    // shortens the test without touching failure detection.
    nodes.push_back(std::make_unique<GossipNode>(
        NodeSpec{.name = std::string(1, static_cast<char>('a' + h - 1)),
                 .host = otp::testkit::NetnsLab::ip(h),
                 .port = 7001,
                 .gossip_port = 7101,
                 .seeds = {seed},
                 .extra = {"--reconnect-ms", "1000"}},
        lab.exec(h, {})));
  }
  ASSERT_NO_FATAL_FAILURE(expect_converged(nodes, Clock::now() + kConverge));

  const auto cut = [&](int from, int to) {  // packets between hosts from and to are dropped
    if (input) {
      lab.iptables(to, {"-A", "INPUT", "-s", otp::testkit::NetnsLab::ip(from), "-j", "DROP"});
    } else {
      lab.iptables(from, {"-A", "OUTPUT", "-d", otp::testkit::NetnsLab::ip(to), "-j", "DROP"});
    }
  };
  for (int side : {1, 2}) {
    cut(side, 3);
    cut(3, side);
  }
  const auto cut_at = Clock::now();
  const std::string a = nodes[0]->full_name(), b = nodes[1]->full_name(), c = nodes[2]->full_name();
  for (size_t i : {0, 1}) {
    ASSERT_TRUE(wait_for_line(nodes[i]->process(), "member failed " + c + " ", cut_at + 10s))
        << all_lines(nodes[i]->process());
  }
  for (const auto& other : {a, b}) {
    ASSERT_TRUE(wait_for_line(nodes[2]->process(), "member failed " + other + " ", cut_at + 10s))
        << all_lines(nodes[2]->process());
  }
  std::vector<size_t> mark;
  for (auto& n : nodes) mark.push_back(n->process().lines().size());

  for (int h = 1; h <= 3; ++h) lab.iptables(h, {"-F", input ? "INPUT" : "OUTPUT"});
  const auto healed_at = Clock::now();
  const auto back = [&](size_t i, const std::string& who) {
    // `alive` (refuted) or `joined` (a new incarnation) after the cut: either heals the view.
    const auto deadline = healed_at + kRecover;
    while (!has_line(nodes[i]->process(), "member alive " + who + " ", mark[i]) &&
           !has_line(nodes[i]->process(), "member joined " + who + " ", mark[i])) {
      if (Clock::now() > deadline) return false;
      nodes[i]->process().wait_line("\x01", 50ms);
    }
    return true;
  };
  EXPECT_TRUE(back(0, c)) << all_lines(nodes[0]->process());
  EXPECT_TRUE(back(1, c)) << all_lines(nodes[1]->process());
  EXPECT_TRUE(back(2, a)) << all_lines(nodes[2]->process());
  EXPECT_TRUE(back(2, b)) << all_lines(nodes[2]->process());
  expect_members(nodes, all_alive(nodes));
  // The two nodes on the same side never lost each other while the partition lasted. (Right
  // after the heal, the other side's stale `dead` news can make them suspect each other, and
  // with N = 3 no confirmations shorten or lengthen that: a brief failed -> alive is possible
  // then; it is the core's business, reported below when it happens, not a failure here.)
  for (size_t i : {0, 1}) {
    const std::string other = i == 0 ? b : a;
    const auto& lines = nodes[i]->process().lines();
    for (size_t k = 0; k < lines.size(); ++k) {
      if (lines[k].rfind("member failed " + other + " ", 0) != 0) continue;
      if (k < mark[i]) {
        ADD_FAILURE() << nodes[i]->full_name() << " lost " << other << " during the partition:\n"
                      << all_lines(nodes[i]->process());
      } else {
        std::cerr << "note: after the heal " << nodes[i]->full_name() << " briefly reported "
                  << other << " failed (stale dead news from the other side)\n";
      }
    }
  }
  if (!input) {
    // sendto failed with EPERM all along; it was logged, but at most once per peer per 10 s.
    const std::string err = nodes[2]->process().stderr_text();
    size_t lines = 0;
    for (size_t p = 0; (p = err.find("Operation not permitted", p)) != std::string::npos; ++p) {
      ++lines;
    }
    EXPECT_GE(lines, 1u) << err;
    EXPECT_LE(lines, 12u) << "send errors are not throttled:\n" << err;
  }
}

INSTANTIATE_TEST_SUITE_P(Drops, Partition, ::testing::Values(Drop::input, Drop::output),
                         [](const auto& info) {
                           return std::string(info.param == Drop::input ? "SilentInputDrops"
                                                                        : "OutputDropsWithEperm");
                         });

}  // namespace
