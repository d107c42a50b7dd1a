// How fast a member that stops answering is declared failed by every other member, over many
// seeds and moments (issue 14: a paused or killed host seen failed by all within 1.5 s on five
// hosts). Each test prints the distribution it measured (docs/membership.md quotes it).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "otp/membership/simulator.hpp"

namespace otp::membership {
namespace {

using namespace std::chrono_literals;

struct Detection {
  Duration first_suspect{-1};  // until the first survivor suspected it
  Duration all_failed{-1};     // until the last survivor declared it failed
  size_t false_failed = 0;     // `failed` about anyone else
};

enum class Stop { pause, crash };

/// A converged cluster of n, run for a seeded random moment, then one member stops (paused as
/// SIGSTOP does, or crashed); the times until every other member declared it failed.
Detection stop_one(uint64_t seed, size_t n, Stop how, double loss) {
  Simulator sim({.seed = seed});
  auto nodes = sim.add_nodes(n);
  for (NodeIndex i : nodes) sim.start(i, {nodes[0]});
  EXPECT_TRUE(sim.run_until([&] { return sim.converged(); }, sim.now() + 30s, 50ms));
  std::mt19937_64 rng(seed);
  sim.run_for(3s + Duration(std::uniform_int_distribution<int64_t>(0, 2000)(rng)));
  sim.set_loss(loss);
  sim.clear_events();
  const NodeIndex victim = nodes[n - 1];
  const Time at = sim.now();
  if (how == Stop::pause) {
    sim.pause(victim);
  } else {
    sim.crash(victim);
  }
  Detection d;
  const auto victim_name = sim.full_name(victim);
  const auto all_failed = [&] {
    std::vector<bool> seen(n, false);
    for (const SimEvent& e : sim.events()) {
      if (e.event.kind == EventKind::failed && e.event.member.id.full_name() == victim_name) {
        seen[e.node] = true;
      }
    }
    return std::count(seen.begin(), seen.end(), true) == static_cast<long>(n - 1);
  };
  sim.run_until(all_failed, at + 20s, Duration(1));
  for (const SimEvent& e : sim.events()) {
    const bool about_victim = e.event.member.id.full_name() == victim_name;
    if (about_victim && e.event.kind == EventKind::suspect && d.first_suspect.count() < 0) {
      d.first_suspect = e.at - at;
    }
    if (about_victim && e.event.kind == EventKind::failed) d.all_failed = e.at - at;
    if (!about_victim && e.event.kind == EventKind::failed) ++d.false_failed;
  }
  if (!all_failed()) d.all_failed = Duration(-1);
  return d;
}

struct Spread {
  int64_t median = 0, p90 = 0, worst = 0;
};
Spread spread(std::vector<int64_t> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const auto at = [&](double q) {
    return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
  };
  return {at(0.5), at(0.9), v.back()};
}

struct Runs {
  Spread all_failed, first_suspect;
  size_t never = 0, false_failed = 0;
};

Runs run_seeds(size_t n, Stop how, double loss, int seeds) {
  std::vector<int64_t> all, first;
  Runs r;
  for (int s = 1; s <= seeds; ++s) {
    const auto d = stop_one(static_cast<uint64_t>(s), n, how, loss);
    r.false_failed += d.false_failed;
    if (d.all_failed.count() < 0) {
      ++r.never;
      continue;
    }
    all.push_back(d.all_failed.count());
    first.push_back(d.first_suspect.count());
  }
  r.all_failed = spread(all);
  r.first_suspect = spread(first);
  std::printf(
      "%s, %zu nodes, %.0f%% loss, %d seeds: every other member declared it failed after "
      "%lld ms (median), %lld (90th percentile), %lld (worst); first suspected after %lld / "
      "%lld / %lld ms\n",
      how == Stop::pause ? "paused" : "crashed", n, loss * 100, seeds,
      static_cast<long long>(r.all_failed.median), static_cast<long long>(r.all_failed.p90),
      static_cast<long long>(r.all_failed.worst), static_cast<long long>(r.first_suspect.median),
      static_cast<long long>(r.first_suspect.p90), static_cast<long long>(r.first_suspect.worst));
  return r;
}

// The bound of issue 14 is 1.5 s on five real hosts. On the simulator, before the probe order
// was kept from round to round and the last call overlapped the suspicion's end, 200 moments
// gave a median of 1.22 s, a 90th percentile of 1.52 s and a worst case of 1.92 s (the first
// probe of the paused node came up to 0.8 s after the pause); now 1.12 / 1.31 / 1.57 s.
TEST(Detection, APausedMemberIsDeclaredFailedByEveryOtherWithinOnePointFiveSecondsMostly) {
  const auto r = run_seeds(5, Stop::pause, 0.0, 200);
  EXPECT_EQ(r.never, 0u);
  EXPECT_EQ(r.false_failed, 0u);
  EXPECT_LT(r.all_failed.p90, 1400);    // 7 probe intervals
  EXPECT_LT(r.all_failed.worst, 1750);  // 8.75 probe intervals
}

TEST(Detection, AtTenPercentLossAPausedMemberIsStillFoundAndNobodyElseFails) {
  const auto r = run_seeds(5, Stop::pause, 0.10, 100);
  EXPECT_EQ(r.never, 0u);
  EXPECT_EQ(r.false_failed, 0u);
  EXPECT_LT(r.all_failed.worst, 2000);
}

TEST(Detection, ACrashedMemberOfTenIsDeclaredFailedByEveryOtherWithinTwoSeconds) {
  const auto r = run_seeds(10, Stop::crash, 0.0, 100);
  EXPECT_EQ(r.never, 0u);
  EXPECT_EQ(r.false_failed, 0u);
  EXPECT_LT(r.all_failed.worst, 2000);
}

}  // namespace
}  // namespace otp::membership
