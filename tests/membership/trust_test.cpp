// Membership that global names can trust (issue 14), on the deterministic simulator: both sides
// of a partition see the split fast (the minority too), nobody reachable is declared failed after
// a heal, a starved node accuses nobody, and 10% loss gives few suspicions per probe and no false
// `failed`. Each test prints the figure it measures (docs/membership.md quotes them).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>

#include "otp/membership/simulator.hpp"

namespace otp::membership {
namespace {

using namespace std::chrono_literals;

#if defined(__SANITIZE_ADDRESS__)
constexpr int kStatisticalScale = 10;
#else
constexpr int kStatisticalScale = 1;
#endif

std::vector<NodeIndex> converged_cluster(Simulator& sim, size_t n) {
  auto nodes = sim.add_nodes(n);
  for (NodeIndex i : nodes) sim.start(i, {nodes[0]});
  EXPECT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 30s, 50ms));
  sim.run_for(3s);  // past the join's gossip, into the steady state
  sim.clear_events();
  return nodes;
}

/// When `observer` first reported `about` failed (at or after `since`), if it did.
std::optional<Time> failed_at(const Simulator& sim, NodeIndex observer, NodeIndex about,
                              Time since) {
  for (const SimEvent& e : sim.events()) {
    if (e.node == observer && e.at >= since && e.event.kind == EventKind::failed &&
        e.event.member.id.full_name() == sim.full_name(about)) {
      return e.at;
    }
  }
  return std::nullopt;
}

/// How a cut is made, as the namespace lab makes it. `input_drop`: each host drops what comes
/// from the other side on arrival (packets in flight at the cut are lost too); `send_failure`:
/// each host refuses to send to the other side (the simulator's partition: nothing in flight is
/// lost). Both are silent to the core: the driver does not tell it that a send failed.
enum class Cut { input_drop, send_failure };

void cut(Simulator& sim, Cut how, const std::vector<NodeIndex>& a,
         const std::vector<NodeIndex>& b) {
  if (how == Cut::send_failure) {
    sim.partition({a, b});
    return;
  }
  for (NodeIndex i : a) {
    for (NodeIndex j : b) {
      sim.block(i, j);
      sim.block(j, i);
    }
  }
}

// -- both sides of a partition see it, fast -------------------------------------------------

class MinoritySide : public ::testing::TestWithParam<std::tuple<Cut, uint64_t>> {};

TEST_P(MinoritySide, BothSidesOfATwoThreeCutDeclareTheWholeOtherSideFailedWithinThreeSeconds) {
  const auto [how, seed] = GetParam();
  Simulator sim({.seed = seed});
  const auto nodes = converged_cluster(sim, 5);
  const std::vector<NodeIndex> minority{nodes[0], nodes[1]};
  const std::vector<NodeIndex> majority{nodes[2], nodes[3], nodes[4]};
  const Time cut_at = sim.now();
  cut(sim, how, minority, majority);
  sim.run_for(8s);
  Duration slowest_minority{0};
  Duration slowest_majority{0};
  const auto check = [&](const std::vector<NodeIndex>& side, const std::vector<NodeIndex>& other,
                         Duration& slowest) {
    for (NodeIndex i : side) {
      for (NodeIndex j : other) {
        const auto at = failed_at(sim, i, j, cut_at);
        ASSERT_TRUE(at) << sim.full_name(i) << " never declared " << sim.full_name(j) << " failed";
        slowest = std::max(slowest, *at - cut_at);
        EXPECT_EQ(sim.node(i).member(sim.full_name(j))->state, MemberState::failed);
      }
    }
  };
  check(minority, majority, slowest_minority);
  check(majority, minority, slowest_majority);
  std::printf(
      "seed %llu: cut -> all of the other side failed: minority %lld ms, majority %lld ms\n",
      static_cast<unsigned long long>(seed), static_cast<long long>(slowest_minority.count()),
      static_cast<long long>(slowest_majority.count()));
  EXPECT_LT(slowest_minority, 3s);
  EXPECT_LT(slowest_majority, 3s);
  // and nobody declared a member of its own side failed
  for (const SimEvent& e : sim.events()) {
    if (e.event.kind != EventKind::failed) continue;
    const bool node_in_minority = e.node == nodes[0] || e.node == nodes[1];
    const bool about_minority = e.event.member.id.full_name() == sim.full_name(nodes[0]) ||
                                e.event.member.id.full_name() == sim.full_name(nodes[1]);
    EXPECT_NE(node_in_minority, about_minority) << sim.full_name(e.node) << ": " << e.event;
  }
}

INSTANTIATE_TEST_SUITE_P(CutsAndSeeds, MinoritySide,
                         ::testing::Combine(::testing::Values(Cut::input_drop, Cut::send_failure),
                                            ::testing::Values(1, 2, 3, 4, 5, 6)));

// -- no failure declared after a heal, of a member reachable again ----------------------------

/// A verdict whose last call (the final ping before a declaration) went out just before the heal
/// lands up to a probe timeout (100 ms) after it, and its gossip reaches the others within a
/// gossip interval (100 ms) more. No detector can take those back; later ones it can avoid.
constexpr Duration kHealRace = 200ms;

/// `failed` events raised after `since`.
std::vector<SimEvent> failed_after(const Simulator& sim, Time since) {
  std::vector<SimEvent> found;
  for (const SimEvent& e : sim.events()) {
    if (e.at > since && e.event.kind == EventKind::failed) found.push_back(e);
  }
  return found;
}

TEST(AfterAHeal, NoReachableMemberIsDeclaredFailedWhateverTheMomentOfTheHeal) {
  // Heals at many moments of the suspicion timers, so some suspicion raised before the heal is
  // always still running after it. A member that answers once the cut is gone must not be
  // declared failed by anyone from then on.
  size_t late_failures = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    for (Duration heal_after = 300ms; heal_after <= 3s; heal_after += 150ms) {
      Simulator sim({.seed = seed});
      const auto nodes = converged_cluster(sim, 5);
      sim.partition({{nodes[0], nodes[1]}, {nodes[2], nodes[3], nodes[4]}});
      sim.run_for(heal_after);
      sim.heal();
      // A verdict reached before the heal may still be on its way (gossip takes a few ms); what
      // counts is a declaration made by a node's own timer after members could answer again.
      const Time healed_at = sim.now();
      sim.run_for(10s);
      for (const SimEvent& e : failed_after(sim, healed_at + kHealRace)) {
        ++late_failures;
        ADD_FAILURE() << "seed " << seed << ", heal after " << heal_after.count()
                      << " ms: " << sim.full_name(e.node) << " at +" << (e.at - healed_at).count()
                      << " ms: " << e.event;
      }
      EXPECT_TRUE(sim.converged()) << "seed " << seed << ", heal after " << heal_after.count();
    }
  }
  EXPECT_EQ(late_failures, 0u);
}

// -- a starved node accuses nobody ------------------------------------------------------------

TEST(StarvedNode, PauseCyclesOfTwoHundredMillisecondsMakeNobodyElseFailed) {
  // SIGSTOP / SIGCONT every 200 ms on one node for a minute: it may be suspected (and refute),
  // but no other member may end up failed, in its view or anyone's.
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    Simulator sim({.seed = seed});
    const auto nodes = converged_cluster(sim, 5);
    const NodeIndex starved = nodes[2];
    // Around 200 ms each, with jitter (a scheduler is not a metronome, and fixed phases would
    // keep every prober's pings out of, or always inside, the pauses).
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int64_t> around_200ms(100, 300);
    for (Time end = sim.now() + 60s / kStatisticalScale; sim.now() < end;) {
      sim.pause(starved);
      sim.run_for(Duration(around_200ms(rng)));
      sim.resume(starved);
      sim.run_for(Duration(around_200ms(rng)));
    }
    sim.run_for(10s);
    size_t others_failed = 0;
    for (const SimEvent& e : sim.events()) {
      if (e.event.kind == EventKind::failed &&
          e.event.member.id.full_name() != sim.full_name(starved)) {
        ++others_failed;
        ADD_FAILURE() << "seed " << seed << ": " << sim.full_name(e.node) << ": " << e.event;
      }
    }
    EXPECT_EQ(others_failed, 0u);
    // The pauses were felt: the others suspected the starved node now and then (it refuted).
    EXPECT_GT(sim.node(starved).stats().refutations, 0u) << "seed " << seed;
    std::printf("seed %llu: starved node refuted %llu times, raised %llu suspicions, %llu stalls\n",
                static_cast<unsigned long long>(seed),
                static_cast<unsigned long long>(sim.node(starved).stats().refutations),
                static_cast<unsigned long long>(sim.node(starved).stats().suspicions_raised),
                static_cast<unsigned long long>(sim.node(starved).stats().stalls));
    EXPECT_TRUE(sim.converged()) << "seed " << seed;
    if (!sim.converged()) {
      for (NodeIndex i : nodes) {
        for (const Member& m : sim.node(i).members()) {
          std::printf("%s sees %s %d inc %u\n", sim.full_name(i).c_str(), m.id.full_name().c_str(),
                      static_cast<int>(m.state), m.incarnation);
        }
      }
    }
  }
}

// -- suspicions per probe at 10% loss -----------------------------------------------------------

TEST(TenPercentLoss, FewSuspicionsPerProbeAndNoFalseFailureOverTenMinutes) {
  // Serf (memberlist LAN defaults) probes once a second, we probe 5x as often, so per probe is
  // the fair comparison.
  uint64_t probes = 0;
  uint64_t raised = 0;
  Duration ran{0};
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    Simulator sim({.seed = seed});
    const auto nodes = converged_cluster(sim, 5);
    sim.set_loss(0.10);
    std::vector<Stats> before;
    for (NodeIndex i : nodes) before.push_back(sim.node(i).stats());
    const Duration run = 10min / kStatisticalScale;
    sim.run_for(run);
    ran += run;
    for (NodeIndex i : nodes) {
      probes += sim.node(i).stats().probes - before[i].probes;
      raised += sim.node(i).stats().suspicions_raised - before[i].suspicions_raised;
    }
    for (const SimEvent& e : sim.events()) {
      EXPECT_NE(e.event.kind, EventKind::failed) << "seed " << seed << ": " << e.event;
    }
    EXPECT_TRUE(sim.converged());
  }
  const double per_probe = static_cast<double>(raised) / static_cast<double>(probes);
  const double per_minute =
      static_cast<double>(raised) * 60'000.0 / static_cast<double>(ran.count());
  std::printf(
      "10%% loss, 5 nodes: %llu suspicions in %llu probes: %.4f per probe, %.2f per minute\n",
      static_cast<unsigned long long>(raised), static_cast<unsigned long long>(probes), per_probe,
      per_minute);
  EXPECT_GT(probes, 0u);
  // Serf's rate on five real hosts (two loss phases of 5 and 9 minutes): 10 failed probes in
  // ~4,150, ~0.0024 per probe. Ours was 0.0016 here with two direct pings per probe, 0.0004 with
  // the third.
  EXPECT_LT(per_probe, 0.001);
}

}  // namespace
}  // namespace otp::membership
