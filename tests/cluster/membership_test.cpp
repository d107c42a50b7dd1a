// SWIM membership between real otp-node processes: joining through one seed, kill -9, SIGSTOP /
// SIGCONT, graceful leave, the Cluster API of a gossiping node in this process, and (as root)
// partitions between hosts made of network namespaces, by silent INPUT drops and by OUTPUT drops
// that make sendto fail with EPERM. Every node runs with the default membership timings unless a
// test says why not, is bounded by --max-seconds, and is killed by PID (its whole group) at the
// end (the test kit's ProcessCluster, otp/testkit/process_cluster.hpp). Waits read the nodes'
// stdout lines against deadlines; nothing sleeps to synchronize.
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

#include "otp/cluster/cluster.hpp"
#include "otp/distributed.hpp"
#include "otp/testkit/child_process.hpp"
#include "otp/testkit/netns_lab.hpp"
#include "otp/testkit/process_cluster.hpp"
#include "support/eventually.hpp"
#include "support/time_scale.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kCookie = "membership-test-cookie";
using otp_test::kTimeScale;

constexpr auto kStart = std::chrono::seconds(15);  // a node process starting
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
using otp::testkit::ProcessCluster;
using otp::testkit::wait_for_line;

/// n otp-nodes of these tests (n1, n2, ...): gossip membership with this test's cookie, for 2
/// minutes at most; node 1 first, then the others with node 1 as their only seed.
ProcessCluster start_cluster(size_t n, std::vector<std::string> args = {}, bool netns = false) {
  return ProcessCluster({.nodes = n,
                         .program = OTP_NODE_BIN,
                         .cookie = kCookie,
                         .args = std::move(args),
                         .max_seconds = 120,
                         .netns = netns});
}

/// Nodes first..last (0-based) of a cluster.
std::vector<size_t> nodes_from(size_t first, size_t last) {
  std::vector<size_t> nodes;
  for (size_t i = first; i <= last; ++i) nodes.push_back(i);
  return nodes;
}

/// Waits until every node printed `member joined` for every other one.
void expect_converged(ProcessCluster& c, Clock::time_point deadline) {
  for (size_t a = 0; a < c.size(); ++a) {
    for (size_t b = 0; b < c.size(); ++b) {
      if (a == b) continue;
      ASSERT_TRUE(wait_for_line(c.process(a), "member joined " + c.name(b) + " ", deadline))
          << c.name(a) << " never saw " << c.name(b) << " join; its output:\n"
          << all_lines(c.process(a));
    }
  }
}

/// Every node of `nodes` comes to list exactly `expected` (name -> state) within the bound: asked
/// again while it does not (a view may still be settling, e.g. right after a partition heals).
void expect_members(ProcessCluster& c, const std::vector<size_t>& nodes,
                    const std::map<std::string, std::string>& expected,
                    std::chrono::milliseconds within = 5s) {
  const auto deadline = Clock::now() + within;
  for (size_t n : nodes) {
    std::optional<std::map<std::string, std::string>> listed;
    do {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      try {
        listed = c.members(n, std::max(left, std::chrono::milliseconds(1)));
      } catch (const otp::testkit::AwaitError&) {
        listed.reset();
      }
    } while (listed && *listed != expected && Clock::now() < deadline);
    ASSERT_TRUE(listed) << c.name(n) << " did not list its members";
    EXPECT_EQ(*listed, expected) << "as seen by " << c.name(n);
  }
}

std::map<std::string, std::string> all_alive(const ProcessCluster& c,
                                             const std::vector<size_t>& nodes) {
  std::map<std::string, std::string> m;
  for (size_t n : nodes) m[c.name(n)] = "alive";
  return m;
}

/// No node of `nodes` reported `failed` for any node in `live` (from line index 0: the whole run).
void expect_never_failed(ProcessCluster& c, const std::vector<size_t>& nodes,
                         const std::vector<std::string>& live) {
  for (size_t n : nodes) {
    for (const auto& name : live) {
      EXPECT_FALSE(has_line(c.process(n), "member failed " + name + " "))
          << c.name(n) << " reported live node " << name << " failed; its output:\n"
          << all_lines(c.process(n));
    }
  }
}

std::vector<std::string> names_of(const ProcessCluster& c, size_t first, size_t last) {
  std::vector<std::string> names;
  for (size_t i = first; i <= last; ++i) names.push_back(c.name(i));
  return names;
}

// -- loopback: joining, crashes, pauses, leaving -----------------------------------------------

TEST(MembershipProcesses, FiveNodesJoinThroughOneSeedAndConverge) {
  ProcessCluster c = start_cluster(5);
  const auto all = nodes_from(0, 4);
  ASSERT_NO_FATAL_FAILURE(expect_converged(c, Clock::now() + kConverge));
  ASSERT_NO_FATAL_FAILURE(expect_members(c, all, all_alive(c, all)));
  // Membership drives the links: every node is linked to the other four without --connect.
  for (size_t a : all) {
    for (size_t b : all) {
      if (a == b) continue;
      EXPECT_TRUE(wait_for_line(c.process(a), "nodeup " + c.name(b), Clock::now() + kConverge))
          << c.name(a) << " has no link to " << c.name(b) << "; its output:\n"
          << all_lines(c.process(a)) << "stderr:\n"
          << c.process(a).stderr_text();
    }
  }
  expect_never_failed(c, all, names_of(c, 0, 4));
}

TEST(MembershipProcesses, KilledNodeIsMarkedFailedByEverySurvivorWithinTheBound) {
  ProcessCluster c = start_cluster(5);
  ASSERT_NO_FATAL_FAILURE(expect_converged(c, Clock::now() + kConverge));
  const std::string victim = c.name(4);
  const auto survivors = nodes_from(0, 3);
  // Membership converges before the links: the nodedown asserted below needs each survivor's
  // link to the victim up first.
  for (size_t i : survivors) {
    ASSERT_TRUE(wait_for_line(c.process(i), "nodeup " + victim, Clock::now() + kConverge))
        << c.name(i) << " never linked to " << victim << "; its output:\n"
        << all_lines(c.process(i));
  }
  const auto killed_at = Clock::now();
  c.kill(4);
  for (size_t i : survivors) {
    EXPECT_TRUE(wait_for_line(c.process(i), "member failed " + victim + " ", killed_at + kDetect))
        << c.name(i) << " did not report " << victim << " failed within "
        << std::chrono::duration_cast<std::chrono::milliseconds>(kDetect).count()
        << " ms; its output:\n"
        << all_lines(c.process(i));
    // The transport link went down too (the node's distribution saw nodedown).
    EXPECT_TRUE(wait_for_line(c.process(i), "nodedown " + victim, killed_at + kDetect));
  }
  std::map<std::string, std::string> expected = all_alive(c, survivors);
  expected[victim] = "failed";
  expect_members(c, survivors, expected);
  expect_never_failed(c, survivors, names_of(c, 0, 3));
}

TEST(MembershipProcesses, StoppedNodeIsFailedThenAliveAfterContinueWithoutFlappingOthers) {
  ProcessCluster c = start_cluster(5);
  ASSERT_NO_FATAL_FAILURE(expect_converged(c, Clock::now() + kConverge));
  const std::string frozen = c.name(4);
  c.pause(4);
  const auto stopped_at = Clock::now();
  std::vector<size_t> mark(4);
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(wait_for_line(c.process(i), "member failed " + frozen + " ", stopped_at + kDetect))
        << c.name(i) << " did not report the stopped node failed; its output:\n"
        << all_lines(c.process(i));
    mark[i] = c.process(i).lines().size();
  }
  c.resume(4);
  const auto resumed_at = Clock::now();
  for (size_t i = 0; i < 4; ++i) {
    // It refutes its death with a higher incarnation: `alive` (after the failure).
    EXPECT_TRUE(wait_for_line(c.process(i), "member alive " + frozen + " ", resumed_at + kRecover))
        << c.name(i) << " never saw the resumed node alive; its output:\n"
        << all_lines(c.process(i));
  }
  const auto all = nodes_from(0, 4);
  expect_members(c, all, all_alive(c, all));
  // Nobody, the resumed node included, declared one of the four live nodes failed.
  expect_never_failed(c, all, names_of(c, 0, 3));
}

TEST(MembershipProcesses, GracefulStopIsReportedAsLeftNeverAsFailed) {
  ProcessCluster c = start_cluster(4);
  ASSERT_NO_FATAL_FAILURE(expect_converged(c, Clock::now() + kConverge));
  const std::string leaver = c.name(3);
  c.process(3).signal(SIGTERM);
  ASSERT_TRUE(wait_for_line(c.process(3), "stopped", Clock::now() + kStart))
      << "the node did not stop on SIGTERM; stderr:\n"
      << c.process(3).stderr_text();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(wait_for_line(c.process(i), "member left " + leaver + " ", Clock::now() + kDetect))
        << c.name(i) << " output:\n"
        << all_lines(c.process(i));
  }
  // A failure would follow within the detection time if the leave had not been understood.
  const auto quiet_until = Clock::now() + kDetect;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(wait_for_line(c.process(i), "member failed " + leaver + " ", quiet_until))
        << c.name(i) << " reported a node that left as failed";
  }
}

TEST(MembershipProcesses, UnreachableSeedDoesNotBlockStartAndIsRetried) {
  // A seed nobody listens on yet: the node starts alone, then joins once the seed comes up.
  // Port 0 can not be a seed; take a free port from a node we stop again.
  std::string seed_address;
  {
    ProcessCluster probe = start_cluster(1);
    seed_address = probe.gossip_address(0);
  }
  const auto node = [&](const std::string& name, const std::string& gossip,
                        std::vector<std::string> extra) {
    std::vector<std::string> argv = {OTP_NODE_BIN, "--name",        name,          "--host",
                                     "127.0.0.1",  "--listen",      "127.0.0.1:0", "--gossip",
                                     gossip,       "--cookie",      kCookie,       "--threads",
                                     "1",          "--max-seconds", "120"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<otp::testkit::ChildProcess>(argv);
  };
  auto joiner =
      node("joiner", "127.0.0.1:0", {"--seeds", seed_address + ",seed-name.invalid:7101"});
  ASSERT_TRUE(joiner->wait_line("ready ", kStart)) << joiner->stderr_text();
  auto seed = node("seed", seed_address, {});
  ASSERT_TRUE(seed->wait_line("ready ", kStart)) << seed->stderr_text();
  EXPECT_TRUE(wait_for_line(*joiner, "member joined seed@127.0.0.1 ", Clock::now() + 10s))
      << all_lines(*joiner) << joiner->stderr_text();
  EXPECT_TRUE(wait_for_line(*seed, "member joined joiner@127.0.0.1 ", Clock::now() + 10s));
  EXPECT_NE(joiner->stderr_text().find("seed-name.invalid:7101 does not resolve"),
            std::string::npos)
      << joiner->stderr_text();
}

// -- the Cluster API of a gossiping node in this process -----------------------------------------

class GossipingCluster : public ::testing::Test {
 protected:
  /// The peer: one otp-node, p1 ("p1@..." < "t@...": the peer dials).
  static ProcessCluster start_peer() {
    return ProcessCluster({.nodes = 1,
                           .program = OTP_NODE_BIN,
                           .cookie = kCookie,
                           .prefix = "p",
                           .max_seconds = 120});
  }
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
  ProcessCluster peer = start_peer();
  start(peer.gossip_address(0));
  const std::string p = peer.name(0);
  auto joined = next_event(otp::membership::EventKind::joined, p, kConverge);
  ASSERT_TRUE(joined) << "no joined event for " << p;
  EXPECT_EQ(joined->member.gossip.to_string(), peer.gossip_address(0));
  EXPECT_NE(joined->member.meta.data.port, 0) << "the member's data address is gossiped";
  // "p1@..." < "t@...": the peer dials; the link comes up without any connect() here.
  EXPECT_TRUE(next_node_event<otp::NodeUp>(p, kConverge)) << "no nodeup for " << p;
  EXPECT_TRUE(
      wait_for_line(peer.process(0), "member joined t@127.0.0.1 ", Clock::now() + kConverge));

  const auto members = cluster->members();
  ASSERT_EQ(members.size(), 2u);
  for (const auto& m : members) EXPECT_EQ(m.state, otp::membership::MemberState::alive) << m.id;
  ASSERT_TRUE(cluster->gossip_port());
  EXPECT_GT(cluster->membership_stats().packets_received, 0u);
  EXPECT_GT(cluster->membership_driver_stats().streams_opened, 0u) << "the join's push-pull";

  peer.kill(0);
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
  ProcessCluster peer = start_peer();
  start(peer.gossip_address(0));
  ASSERT_TRUE(next_event(otp::membership::EventKind::joined, peer.name(0), kConverge));
  ASSERT_TRUE(next_node_event<otp::NodeUp>(peer.name(0), kConverge));
  cluster->stop();
  EXPECT_TRUE(wait_for_line(peer.process(0), "member left t@127.0.0.1 ", Clock::now() + kDetect))
      << all_lines(peer.process(0));
  EXPECT_TRUE(wait_for_line(peer.process(0), "nodedown t@127.0.0.1", Clock::now() + kDetect));
  EXPECT_FALSE(has_line(peer.process(0), "member failed t@127.0.0.1 "));
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
  const bool input = GetParam() == Drop::input;
  // Hosts 1..3 of a namespace lab, a node each. reconnect_interval 1 s instead of 5 s: only how
  // soon a healed partition is noticed; it shortens the test without touching failure detection.
  ProcessCluster nodes = start_cluster(3, {"--reconnect-ms", "1000"}, /*netns=*/true);
  const otp::testkit::NetnsLab& lab = *nodes.lab();
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
  const std::string a = nodes.name(0), b = nodes.name(1), c = nodes.name(2);
  for (size_t i : {0, 1}) {
    ASSERT_TRUE(wait_for_line(nodes.process(i), "member failed " + c + " ", cut_at + 10s))
        << all_lines(nodes.process(i));
  }
  for (const auto& other : {a, b}) {
    ASSERT_TRUE(wait_for_line(nodes.process(2), "member failed " + other + " ", cut_at + 10s))
        << all_lines(nodes.process(2));
  }
  std::vector<size_t> mark;
  for (size_t i = 0; i < nodes.size(); ++i) mark.push_back(nodes.process(i).lines().size());

  for (int h = 1; h <= 3; ++h) lab.iptables(h, {"-F", input ? "INPUT" : "OUTPUT"});
  const auto healed_at = Clock::now();
  const auto back = [&](size_t i, const std::string& who) {
    // `alive` (refuted) or `joined` (a new incarnation) after the cut: either heals the view.
    const auto deadline = healed_at + kRecover;
    while (!has_line(nodes.process(i), "member alive " + who + " ", mark[i]) &&
           !has_line(nodes.process(i), "member joined " + who + " ", mark[i])) {
      if (Clock::now() > deadline) return false;
      nodes.process(i).read_some(50ms);
    }
    return true;
  };
  EXPECT_TRUE(back(0, c)) << all_lines(nodes.process(0));
  EXPECT_TRUE(back(1, c)) << all_lines(nodes.process(1));
  EXPECT_TRUE(back(2, a)) << all_lines(nodes.process(2));
  EXPECT_TRUE(back(2, b)) << all_lines(nodes.process(2));
  const auto all = nodes_from(0, 2);
  expect_members(nodes, all, all_alive(nodes, all));
  // The two nodes on the same side never lost each other while the partition lasted. (Right
  // after the heal, the other side's stale `dead` news can make them suspect each other, and
  // with N = 3 no confirmations shorten or lengthen that: a brief failed -> alive is possible
  // then; it is the core's business, reported below when it happens, not a failure here.)
  for (size_t i : {0, 1}) {
    const std::string other = i == 0 ? b : a;
    const auto& lines = nodes.process(i).lines();
    for (size_t k = 0; k < lines.size(); ++k) {
      if (lines[k].rfind("member failed " + other + " ", 0) != 0) continue;
      if (k < mark[i]) {
        ADD_FAILURE() << nodes.name(i) << " lost " << other << " during the partition:\n"
                      << all_lines(nodes.process(i));
      } else {
        std::cerr << "note: after the heal " << nodes.name(i) << " briefly reported " << other
                  << " failed (stale dead news from the other side)\n";
      }
    }
  }
  if (!input) {
    // sendto failed with EPERM all along; it was logged, but at most once per peer per 10 s.
    const std::string err = nodes.process(2).stderr_text();
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
