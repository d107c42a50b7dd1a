// The scale scenario of issue 13 on the CombinedSimulator (combined_simulator.hpp): names on
// every node, a partition into two halves, changes on both sides while they are apart (exits, new
// names, the same names registered on both sides), then the heal. It measures how long each step
// takes in virtual time and how many bytes the name tables send, and checks the behaviour: the
// tests assert it, and print the figures as RESULT lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "global_scale/combined_simulator.hpp"

namespace otp::global_scale {

/// What the scenario runs.
struct ScenarioOptions {
  /// Nodes; the partition puts [0, nodes/2) on one side, the rest on the other.
  size_t nodes = 100;
  /// Names each node registers before the partition (one process each, one per 100 ms).
  size_t names_per_node = 10;
  /// The simulation's seed.
  uint64_t seed = 1;
  /// The transport's dead-link timeout (CombinedOptions::dead_link_timeout); 0: only
  /// membership closes links.
  Duration dead_link_timeout{10'000};
  /// The most any step may take in virtual time before the run gives up (a problem).
  Duration step_deadline{120'000};
  /// Names the figures: otp.sim.global.<label>.* ("n<nodes>" if empty).
  std::string label{};
};

/// What the scenario measured (times in virtual ms; -1: it did not happen within the deadline).
struct ScenarioFigures {
  /// The figures' label (see ScenarioOptions::label).
  std::string label;
  /// Nodes simulated.
  size_t nodes = 0;
  /// Names registered before the partition.
  size_t names = 0;
  /// Names every table shows at the end.
  size_t names_after_heal = 0;
  /// Names registered on both sides of the partition, and processes that lost them.
  size_t conflicts = 0;
  /// Of which processes exited for losing.
  uint64_t conflict_losers = 0;

  /// From the last registration until every table shows every name.
  double register_identical_ms = -1;
  /// Name-table bytes sent to replicate the names, per name (to every other node).
  double bytes_per_name = 0;
  /// The same per receiving node.
  double bytes_per_name_per_node = 0;

  /// From the cut until no node shows a name owned on the other side.
  double cut_dropped_ms = -1;
  /// From the cut until every node's membership declared every node of the other side failed.
  double membership_failed_ms = -1;

  /// From the heal until every table is identical (every name, one owner each).
  double heal_identical_ms = -1;
  /// From the heal until every node's membership holds every other alive.
  double membership_heal_ms = -1;
  /// Name-table bytes sent from the heal until everything settled, per name shown at the end and
  /// per node of the other side (each name has to reach each of them).
  double heal_bytes_per_name_per_node = 0;
  /// Name-table messages lost with a link that closed, over the whole run.
  uint64_t dropped_messages = 0;
  /// Links that came up from the heal until the end (one per pair across, unless links flap).
  uint64_t links_made_after_heal = 0;
  /// Links that closed from the heal until the end (a pair one side declared failed again).
  uint64_t links_closed_after_heal = 0;

  /// Behaviour that was wrong (the simulator's problems(), verify() at the end and after the
  /// cut, steps that did not finish). Empty when the run is right.
  std::vector<std::string> problems;
  /// Wall-clock seconds the run took.
  double wall_s = 0;
};

/// Runs the scenario (see above).
ScenarioFigures run_partition_scenario(const ScenarioOptions& options);

/// Prints the figures as RESULT lines (otp.sim.global.<label>.*) and a short summary on stdout.
void print_results(const ScenarioFigures& figures);

}  // namespace otp::global_scale
