#include "global_scale/partition_scenario.hpp"

#include <chrono>
#include <cstdio>
#include <functional>
#include <numeric>

namespace otp::global_scale {

namespace {

using namespace std::chrono_literals;

double ms_between(Time from, Time to) {
  return static_cast<double>((to - from).count());
}

/// Runs until every condition has held (each checked every virtual ms) or the deadline; returns
/// for each the ms from now until it first held, -1 if it never did.
std::vector<double> time_until(CombinedSimulator& sim,
                               const std::vector<std::function<bool()>>& conditions,
                               Time deadline) {
  const Time start = sim.now();
  std::vector<double> at(conditions.size(), -1);
  auto all_held = [&] {
    bool all = true;
    for (size_t i = 0; i < conditions.size(); ++i) {
      if (at[i] < 0 && conditions[i]()) at[i] = ms_between(start, sim.now());
      all = all && at[i] >= 0;
    }
    return all;
  };
  sim.run_until(all_held, deadline);
  return at;
}

/// Every node of `side` shows exactly the names that live processes of `side` hold.
bool side_shows_its_own(const CombinedSimulator& sim, const std::vector<NodeIndex>& side,
                        const std::vector<bool>& on_side) {
  uint64_t expected = 0;
  size_t count = 0;
  for (const auto& [pid, name] : sim.named()) {
    const NodeIndex owner = std::stoul(pid.node.name.substr(1));
    if (!on_side[owner]) continue;
    expected ^= CombinedSimulator::fingerprint_of(name, pid);
    ++count;
  }
  for (const NodeIndex i : side) {
    if (sim.fingerprint(i) != expected || sim.shown(i) != count) return false;
  }
  return true;
}

}  // namespace

ScenarioFigures run_partition_scenario(const ScenarioOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  const size_t n = options.nodes;
  ScenarioFigures f;
  f.nodes = n;
  f.label = options.label.empty() ? "n" + std::to_string(n) : options.label;
  auto fail = [&](const std::string& what) { f.problems.push_back(what); };

  CombinedSimulator sim(
      {.nodes = n, .seed = options.seed, .dead_link_timeout = options.dead_link_timeout});
  sim.run_for(1s);  // the links' empty Syncs arrive; membership runs steady

  // -- names everywhere: each node registers one name every 100 ms, node i at offset i % 100 ms --
  std::vector<protocol::Pid> first_pid(n);
  const Time register_start = sim.now();
  const uint64_t bytes_before_register = sim.traffic().bytes;
  for (size_t k = 0; k < options.names_per_node; ++k) {
    for (size_t offset = 0; offset < 100; ++offset) {
      sim.run_until(register_start + Duration(k * 100 + offset));
      for (NodeIndex i = offset; i < n; i += 100) {
        const std::string name = "g" + std::to_string(i) + "." + std::to_string(k);
        const global::RegisterOutcome r = sim.register_name(i, name);
        if (r.status != global::RegisterStatus::ok) {
          fail("registering " + name + " on n" + std::to_string(i) + ": " +
               global::to_string(r.status));
        }
        if (k == 0) first_pid[i] = r.holder;
      }
    }
  }
  f.names = sim.named().size();
  const Time last_register = sim.now();
  if (sim.run_until([&] { return sim.tables_identical(); }, sim.now() + options.step_deadline)) {
    f.register_identical_ms = ms_between(last_register, sim.now());
  } else {
    fail("the tables were not identical after the registrations");
  }
  const double register_bytes = static_cast<double>(sim.traffic().bytes - bytes_before_register);
  f.bytes_per_name = register_bytes / static_cast<double>(f.names);
  f.bytes_per_name_per_node = f.bytes_per_name / static_cast<double>(n - 1);
  sim.run_for(1s);

  // -- the partition: two halves --------------------------------------------------------------
  std::vector<NodeIndex> left(n / 2), right(n - n / 2);
  std::iota(left.begin(), left.end(), 0);
  std::iota(right.begin(), right.end(), n / 2);
  std::vector<bool> on_left(n, false), on_right(n, false);
  for (NodeIndex i : left) on_left[i] = true;
  for (NodeIndex i : right) on_right[i] = true;
  sim.partition({left, right});
  {
    const std::vector<double> at =
        time_until(sim,
                   {[&] { return sim.names_across_cut() == 0; },
                    [&] { return sim.failures_across_cut() == sim.pairs_across_cut(); }},
                   sim.now() + options.step_deadline);
    f.cut_dropped_ms = at[0];
    f.membership_failed_ms = at[1];
    if (at[0] < 0) fail("names of the other side still shown after the cut");
    if (at[1] < 0) fail("membership did not declare the other side failed");
  }
  sim.run_for(1s);

  // -- while apart: exits, new names, the same names on both sides ------------------------------
  for (NodeIndex i = 3; i < n; i += 10) {
    sim.kill(first_pid[i]);
    if (sim.register_name(i, "p" + std::to_string(i)).status != global::RegisterStatus::ok) {
      fail("registering p" + std::to_string(i) + " during the partition");
    }
  }
  f.conflicts = std::max<size_t>(1, n / 50);
  for (size_t k = 0; k < f.conflicts; ++k) {
    for (const NodeIndex i : {left[k], right[k]}) {
      if (sim.register_name(i, "c" + std::to_string(k)).status != global::RegisterStatus::ok) {
        fail("registering c" + std::to_string(k) + " on n" + std::to_string(i) +
             " during the partition");
      }
    }
  }
  if (!sim.run_until(
          [&] {
            return side_shows_its_own(sim, left, on_left) &&
                   side_shows_its_own(sim, right, on_right);
          },
          sim.now() + options.step_deadline)) {
    fail("a side's tables did not settle on its own names during the partition");
  }
  sim.run_for(1s);

  // -- the heal ---------------------------------------------------------------------------------
  const uint64_t bytes_before_heal = sim.traffic().bytes;
  const uint64_t made_before_heal = sim.links_made();
  const uint64_t closed_before_heal = sim.links_closed();
  sim.heal();
  {
    const std::vector<double> at = time_until(
        sim, {[&] { return sim.tables_identical(); }, [&] { return sim.membership_converged(); }},
        sim.now() + options.step_deadline);
    f.heal_identical_ms = at[0];
    f.membership_heal_ms = at[1];
    if (at[0] < 0) fail("the tables were not identical after the heal");
    if (at[1] < 0) fail("membership did not converge after the heal");
  }
  // Settle: every link up, nothing in flight; then the full check.
  auto all_linked = [&] {
    for (NodeIndex a = 0; a < n; ++a) {
      for (NodeIndex b = a + 1; b < n; ++b) {
        if (!sim.linked(a, b)) return false;
      }
    }
    return true;
  };
  if (!sim.run_until([&] { return sim.pending() == 0 && all_linked(); },
                     sim.now() + options.step_deadline, Duration(10))) {
    fail("links or messages did not settle after the heal");
  }
  sim.run_for(1s);
  f.names_after_heal = sim.named().size();
  f.conflict_losers = sim.conflict_losers();
  if (f.conflict_losers != f.conflicts) {
    fail(std::to_string(f.conflicts) + " names registered on both sides, but " +
         std::to_string(f.conflict_losers) + " processes lost one");
  }
  f.heal_bytes_per_name_per_node = static_cast<double>(sim.traffic().bytes - bytes_before_heal) /
                                   static_cast<double>(f.names_after_heal) /
                                   (static_cast<double>(n) / 2);
  f.dropped_messages = sim.traffic().dropped;
  f.links_made_after_heal = sim.links_made() - made_before_heal;
  f.links_closed_after_heal = sim.links_closed() - closed_before_heal;
  if (!sim.tables_identical()) fail("the tables differ at the end");
  for (const std::string& p : sim.verify()) fail(p);
  for (const std::string& p : sim.problems()) fail(p);
  f.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return f;
}

void print_results(const ScenarioFigures& f) {
  const std::string prefix = "otp.sim.global." + f.label + ".";
  auto result = [&](const char* figure, double value, const char* unit, const char* note) {
    std::printf("RESULT %s%s median=%.1f min=%.1f max=%.1f n=1 unit=%s note=%s\n", prefix.c_str(),
                figure, value, value, value, unit, note);
  };
  result("register_identical_ms", f.register_identical_ms, "ms",
         "virtual_ms_from_the_last_registration_until_every_table_shows_every_name");
  result("bytes_per_name", f.bytes_per_name, "B",
         "name-table_bytes_sent_to_replicate_one_name_to_every_node_(global::encode)");
  result("bytes_per_name_per_node", f.bytes_per_name_per_node, "B", "the_same_per_receiving_node");
  result("cut_dropped_ms", f.cut_dropped_ms, "ms",
         "virtual_ms_from_a_cut_into_halves_until_no_node_shows_a_name_of_the_other_side");
  result("membership_failed_ms", f.membership_failed_ms, "ms",
         "virtual_ms_from_the_cut_until_every_node_declared_the_other_side_failed_(SWIM)");
  result("heal_identical_ms", f.heal_identical_ms, "ms",
         "virtual_ms_from_the_heal_until_every_table_is_identical");
  result("membership_heal_ms", f.membership_heal_ms, "ms",
         "virtual_ms_from_the_heal_until_every_node_holds_every_other_alive_(SWIM)");
  result("heal_bytes_per_name_per_node", f.heal_bytes_per_name_per_node, "B",
         "name-table_bytes_sent_after_the_heal_per_name_per_node_of_the_other_side");
  std::printf(
      "# %zu nodes, %zu names (+ changes while apart: %zu at the end, %zu conflicts, %llu "
      "losers), %llu name messages lost with closed links; after the heal %llu links made, %llu "
      "closed; %.1f s wall\n",
      f.nodes, f.names, f.names_after_heal, f.conflicts,
      static_cast<unsigned long long>(f.conflict_losers),
      static_cast<unsigned long long>(f.dropped_messages),
      static_cast<unsigned long long>(f.links_made_after_heal),
      static_cast<unsigned long long>(f.links_closed_after_heal), f.wall_s);
  std::fflush(stdout);
}

}  // namespace otp::global_scale
