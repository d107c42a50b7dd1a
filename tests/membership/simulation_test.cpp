// SWIM on the deterministic simulator: whole-cluster behaviours (join, failure detection,
// refutation, loss, partitions, leave, reaping, metadata, restarts, local health awareness).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "otp/membership/simulator.hpp"
#include "otp/membership/timing.hpp"

namespace otp::membership {
namespace {

using namespace std::chrono_literals;

// Sanitizer builds (Debug, -O0, ASan) run the same scenarios ~50x slower: they check memory
// safety of the same code paths, so the long statistical runs are shortened there.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kStatisticalScale = 10;
#else
constexpr int kStatisticalScale = 1;
#endif

/// Nodes that reported `kind` about `about` (by full name), at the earliest time each did.
std::map<NodeIndex, Time> reported(const Simulator& sim, EventKind kind, NodeIndex about) {
  std::map<NodeIndex, Time> who;
  for (const SimEvent& e : sim.events()) {
    if (e.event.kind == kind && e.event.member.id.full_name() == sim.full_name(about)) {
      who.emplace(e.node, e.at);
    }
  }
  return who;
}

std::vector<NodeIndex> start_cluster(Simulator& sim, size_t n) {
  auto nodes = sim.add_nodes(n);
  for (NodeIndex i : nodes) sim.start(i, {nodes[0]});
  return nodes;
}

// -- joining ----------------------------------------------------------------------------------

class Convergence : public ::testing::TestWithParam<size_t> {};

TEST_P(Convergence, NodesJoiningThroughOneSeedAllSeeEveryone) {
  Simulator sim({.seed = 11});
  start_cluster(sim, GetParam());
  EXPECT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 30s, 50ms))
      << "not converged after 30 s";
  // nobody was ever suspected on the way
  for (const SimEvent& e : sim.events()) {
    EXPECT_NE(e.event.kind, EventKind::failed) << e.event;
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, Convergence, ::testing::Values(3, 10, 50, 100));

// -- failure detection ------------------------------------------------------------------------

class CrashDetection : public ::testing::TestWithParam<size_t> {};

TEST_P(CrashDetection, EverySurvivorDeclaresACrashedNodeFailedWithinTwoSeconds) {
  Simulator sim({.seed = 5});
  auto nodes = start_cluster(sim, GetParam());
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 30s, 50ms));
  sim.run_for(5s);
  sim.clear_events();
  const NodeIndex victim = nodes[GetParam() / 2];
  const Time crashed_at = sim.now();
  sim.crash(victim);
  sim.run_for(10s);
  const auto failed = reported(sim, EventKind::failed, victim);
  for (NodeIndex i : nodes) {
    if (i == victim) continue;
    ASSERT_TRUE(failed.contains(i)) << sim.full_name(i) << " never declared the victim failed";
    EXPECT_LT(failed.at(i) - crashed_at, 2s) << sim.full_name(i);
  }
  // and nobody else was declared failed
  for (const SimEvent& e : sim.events()) {
    if (e.event.kind == EventKind::failed) {
      EXPECT_EQ(e.event.member.id.full_name(), sim.full_name(victim));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, CrashDetection, ::testing::Values(5, 10));

TEST(FailureDetection, NoLiveNodeIsEverDeclaredFailedAtTenPercentLossOverTenMinutes) {
  // (one minute in sanitizer builds)
  Simulator sim({.seed = 21, .loss = 0.10});
  auto nodes = start_cluster(sim, 20);
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 30s, 50ms));
  sim.run_for(10min / kStatisticalScale);
  uint64_t suspicions = 0;
  for (const SimEvent& e : sim.events()) {
    EXPECT_NE(e.event.kind, EventKind::failed) << sim.full_name(e.node) << ": " << e.event;
    if (e.event.kind == EventKind::suspect) ++suspicions;
  }
  // Loss did make probes fail (so refutation was exercised), and everyone still agrees.
  EXPECT_GT(suspicions, 0u);
  EXPECT_TRUE(sim.converged());
}

// -- pauses: refutation ---------------------------------------------------------------------

TEST(Refutation, APausedNodeThatResumesInTimeRefutesItsSuspicionAndStaysAlive) {
  Simulator sim({.seed = 3});
  auto nodes = start_cluster(sim, 10);
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 30s, 50ms));
  sim.run_for(2s);
  const NodeIndex sleeper = nodes[4];
  sim.pause(sleeper);
  sim.run_for(700ms);  // long enough to be suspected, shorter than the suspicion timeout
  sim.resume(sleeper);
  sim.run_for(10s);
  EXPECT_FALSE(reported(sim, EventKind::suspect, sleeper).empty()) << "never suspected";
  EXPECT_TRUE(reported(sim, EventKind::failed, sleeper).empty());
  EXPECT_GT(sim.node(sleeper).stats().refutations, 0u);
  EXPECT_TRUE(sim.converged());
  for (NodeIndex i : nodes) {
    EXPECT_EQ(sim.node(i).member(sim.full_name(sleeper))->incarnation,
              sim.node(sleeper).incarnation());
  }
}

TEST(Refutation, ANodePausedBeyondItsSuspicionTimeoutIsFailedThenComesBackAliveWhenResumed) {
  Simulator sim({.seed = 4});
  auto nodes = start_cluster(sim, 10);
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 30s, 50ms));
  const NodeIndex sleeper = nodes[7];
  sim.pause(sleeper);
  sim.run_for(15s);
  EXPECT_EQ(reported(sim, EventKind::failed, sleeper).size(), 9u);
  sim.resume(sleeper);
  EXPECT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 5s));
  // every survivor saw it come back through refutation (a higher incarnation, same creation)
  EXPECT_EQ(reported(sim, EventKind::alive, sleeper).size(), 9u);
  EXPECT_GT(sim.node(sleeper).incarnation(), 0u);
  EXPECT_EQ(sim.node(nodes[0]).member(sim.full_name(sleeper))->id.creation, 1u);
  // and the sleeper, whose timers ran late, accused nobody
  EXPECT_GT(sim.node(sleeper).stats().stalls, 0u);
  for (const SimEvent& e : sim.events()) {
    if (e.event.kind == EventKind::failed) {
      EXPECT_EQ(e.event.member.id.full_name(), sim.full_name(sleeper)) << e.event;
    }
  }
}

// -- partitions -----------------------------------------------------------------------------

TEST(AntiEntropy, APartitionHealsIntoOneView) {
  Simulator sim({.seed = 8});
  auto nodes = start_cluster(sim, 10);
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 30s, 50ms));
  const std::vector<NodeIndex> left_side(nodes.begin(), nodes.begin() + 5);
  const std::vector<NodeIndex> right_side(nodes.begin() + 5, nodes.end());
  sim.partition({left_side, right_side});
  sim.run_for(20s);
  // each side declared the other failed
  EXPECT_EQ(sim.node(nodes[0]).live_peers(), 4u);
  EXPECT_EQ(sim.node(nodes[9]).live_peers(), 4u);
  EXPECT_EQ(sim.node(nodes[0]).member(sim.full_name(nodes[9]))->state, MemberState::failed);
  sim.heal();
  EXPECT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 30s, 50ms));
}

// -- joining with seeds ---------------------------------------------------------------------

TEST(Join, ADeadSeedDoesNotBlockStartUp) {
  Simulator sim({.seed = 9});
  auto nodes = sim.add_nodes(4);
  // nodes[0] is a seed that never starts; nodes[1] is a live one
  sim.start(nodes[1], {});
  sim.start(nodes[2], {nodes[0], nodes[1]});
  sim.start(nodes[3], {nodes[0], nodes[1]});
  EXPECT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 5s));
}

TEST(Join, ANodeWhoseOnlySeedIsDownJoinsOnceTheSeedComesUp) {
  Simulator sim({.seed = 10});
  auto nodes = sim.add_nodes(3);
  sim.start(nodes[1], {nodes[0]});
  sim.start(nodes[2], {nodes[0]});
  sim.run_for(10s);
  EXPECT_EQ(sim.node(nodes[1]).live_peers(), 0u);
  sim.start(nodes[0], {});
  EXPECT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 3s));
}

TEST(Join, FreshSeedAddressesPassedBySetSeedsAreUsed) {
  Simulator sim({.seed = 12});
  auto nodes = sim.add_nodes(2);
  sim.start(nodes[0], {});
  sim.start(nodes[1], {});
  sim.run_for(3s);
  EXPECT_FALSE(sim.converged());
  sim.node(nodes[1]).set_seeds({sim.address(nodes[0])});  // as after a DNS re-resolution
  EXPECT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 3s));
}

// -- leaving and reaping --------------------------------------------------------------------

TEST(Leave, ALeavingNodeIsReportedLeftNeverFailedAndReapedLater) {
  SimOptions cfg{.seed = 13};
  cfg.membership.reap_left_after = 20s;
  Simulator sim(cfg);
  auto nodes = start_cluster(sim, 10);
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 30s, 50ms));
  const NodeIndex quitter = nodes[3];
  sim.leave(quitter);
  ASSERT_TRUE(sim.run_until([&] { return sim.node(quitter).leave_propagated(); }, sim.now() + 5s));
  sim.crash(quitter);  // the process exits after its leave went out
  sim.run_for(10s);
  EXPECT_EQ(reported(sim, EventKind::left, quitter).size(), 9u);
  EXPECT_TRUE(reported(sim, EventKind::failed, quitter).empty());
  EXPECT_TRUE(sim.converged());
  EXPECT_EQ(sim.node(nodes[0]).member(sim.full_name(quitter))->state, MemberState::left);
  sim.run_for(15s);
  for (NodeIndex i : nodes) {
    if (i != quitter) {
      EXPECT_FALSE(sim.node(i).member(sim.full_name(quitter)).has_value());
    }
  }
}

TEST(Reaping, AFailedMemberIsForgottenAfterTheReapTimeoutAndNotBefore) {
  SimOptions cfg{.seed = 14};
  cfg.membership.reap_failed_after = 30s;
  Simulator sim(cfg);
  auto nodes = start_cluster(sim, 5);
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 30s, 50ms));
  sim.crash(nodes[2]);
  sim.run_for(25s);
  for (NodeIndex i : {nodes[0], nodes[1], nodes[3], nodes[4]}) {
    ASSERT_TRUE(sim.node(i).member(sim.full_name(nodes[2])).has_value());
    EXPECT_EQ(sim.node(i).member(sim.full_name(nodes[2]))->state, MemberState::failed);
  }
  sim.run_for(10s);
  for (NodeIndex i : {nodes[0], nodes[1], nodes[3], nodes[4]}) {
    EXPECT_FALSE(sim.node(i).member(sim.full_name(nodes[2])).has_value());
    EXPECT_EQ(sim.node(i).members().size(), 4u);
    EXPECT_GT(sim.node(i).stats().reaped, 0u);
  }
}

// -- metadata and identity ------------------------------------------------------------------

TEST(Metadata, AnUpdateReachesEveryMember) {
  Simulator sim({.seed = 15});
  auto nodes = start_cluster(sim, 20);
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 30s, 50ms));
  Metadata meta;
  meta.version = "1.2.3";
  meta.tags = {{"role", "db"}, {"zone", "eu-1"}};
  sim.update_metadata(nodes[6], meta);
  const auto everyone_knows = [&] {
    for (NodeIndex i : nodes) {
      const auto m = sim.node(i).member(sim.full_name(nodes[6]));
      if (!m || m->meta.tags != meta.tags || m->meta.version != "1.2.3") return false;
    }
    return true;
  };
  EXPECT_TRUE(sim.run_until(everyone_knows, sim.now() + 3s));
  EXPECT_EQ(reported(sim, EventKind::updated, nodes[6]).size(), 19u);
  EXPECT_EQ(sim.node(nodes[0]).member(sim.full_name(nodes[6]))->meta.data, sim.address(nodes[6]));
}

TEST(Identity, ARestartedNodeReplacesItsPreviousRunEverywhere) {
  Simulator sim({.seed = 16});
  auto nodes = start_cluster(sim, 10);
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 30s, 50ms));
  sim.clear_events();
  // restarted before anyone noticed the crash: the new creation replaces the old entry
  sim.crash(nodes[5]);
  sim.restart(nodes[5], {nodes[0]});
  EXPECT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 5s));
  for (NodeIndex i : nodes) {
    EXPECT_EQ(sim.node(i).member(sim.full_name(nodes[5]))->id.creation, 2u);
  }
  // every other node reported the old run gone before the new one joined
  for (NodeIndex i : nodes) {
    if (i == nodes[5]) continue;
    std::vector<std::pair<EventKind, uint32_t>> seen;
    for (const SimEvent& e : sim.events()) {
      if (e.node == i && e.event.member.id.full_name() == sim.full_name(nodes[5])) {
        seen.emplace_back(e.event.kind, e.event.member.id.creation);
      }
    }
    ASSERT_GE(seen.size(), 2u) << sim.full_name(i);
    EXPECT_EQ(seen.front(), std::make_pair(EventKind::failed, 1u)) << sim.full_name(i);
    EXPECT_EQ(seen.back(), std::make_pair(EventKind::joined, 2u)) << sim.full_name(i);
  }
}

// -- local health awareness -----------------------------------------------------------------

/// How many suspicions a node that hears almost nothing (90% of its inbound datagrams lost)
/// raises in a minute, and how many failed events healthy nodes raise about healthy nodes.
struct DeafNodeRun {
  uint64_t deaf_node_probes = 0;
  uint64_t deaf_node_accusations = 0;
  size_t healthy_declared_failed = 0;
};

DeafNodeRun run_with_a_deaf_node(uint32_t awareness_max_multiplier) {
  SimOptions cfg{.seed = 17};
  cfg.membership.awareness_max_multiplier = awareness_max_multiplier;
  Simulator sim(cfg);
  auto nodes = start_cluster(sim, 12);
  sim.run_until([&] { return sim.converged(); }, sim.now() + 30s, 50ms);
  const NodeIndex deaf = nodes[11];
  sim.set_inbound_loss(deaf, 0.9);
  const Stats before = sim.node(deaf).stats();
  sim.run_for(60s / kStatisticalScale);
  DeafNodeRun r;
  r.deaf_node_probes = sim.node(deaf).stats().probes - before.probes;
  r.deaf_node_accusations = sim.node(deaf).stats().probes_failed - before.probes_failed;
  for (const SimEvent& e : sim.events()) {
    if (e.node != deaf && e.event.kind == EventKind::failed &&
        e.event.member.id.full_name() != sim.full_name(deaf)) {
      ++r.healthy_declared_failed;
    }
  }
  return r;
}

TEST(LocalHealthAwareness, ANodeThatMissesItsAcksSlowsDownInsteadOfAccusingHealthyMembers) {
  const DeafNodeRun with = run_with_a_deaf_node(8);
  const DeafNodeRun without = run_with_a_deaf_node(1);
  // Without awareness the deaf node keeps probing at full rate and accuses on most probes; with
  // it, it backs off (fewer probes) and so raises far fewer false suspicions.
  EXPECT_LT(with.deaf_node_probes * 3, without.deaf_node_probes);
  EXPECT_LT(with.deaf_node_accusations * 3, without.deaf_node_accusations);
  EXPECT_EQ(with.healthy_declared_failed, 0u);
}

}  // namespace
}  // namespace otp::membership
