// Test and bench support: the fault scenarios of issue 14 ("membership that global names can
// trust"), run on a started LabCluster (partition_lab.hpp) and measured from the agents'
// timestamped events. Each run_* function makes the fault, waits it out (every wait bounded),
// undoes it and returns what it measured; it asserts nothing. tests/cluster/partition_test.cpp
// asserts the bounds on these figures; bench/partition_bench.cpp prints them as RESULT
// lines, for otp-node and for Serf in the same namespaces.
//
// clang-format off
//   otp_test::LabCluster c({.otp_node = OTP_NODE_BIN});
//   if (auto why = c.start()) FAIL() << *why;
//   auto f = otp_test::run_partition(c, otp_test::Drop::input, 8s);
//   EXPECT_LE(*f.minority_detect_ms, 4500) << f.summary();
// clang-format on
#pragma once

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/partition_lab.hpp"

namespace otp_test {

inline std::string ms_text(std::optional<double> ms) {
  return ms ? std::to_string(static_cast<long>(*ms)) + " ms" : std::string("never");
}

/// When `observer` first reported `kind` about `subject` in [from, to]; nullopt if it did not.
inline std::optional<LabClock::time_point> first_seen(const LabCluster& c, int observer,
                                                      const std::string& kind, int subject,
                                                      LabClock::time_point from,
                                                      LabClock::time_point to) {
  for (const auto& o : c.observations()) {
    if (o.observer == observer && o.subject == subject && o.kind == kind && o.at >= from &&
        o.at <= to) {
      return o.at;
    }
  }
  return std::nullopt;
}

/// The first instant at or after `from` at which every host of `hosts` saw every other alive
/// (replaying the events), nullopt if not by the last event read.
inline std::optional<LabClock::time_point> one_view_at(const LabCluster& c,
                                                       const std::vector<int>& hosts,
                                                       LabClock::time_point from) {
  std::map<std::pair<int, int>, std::string> state;
  const auto all_alive = [&] {
    for (int a : hosts) {
      for (int b : hosts) {
        if (a != b && state[{a, b}] != "alive") return false;
      }
    }
    return true;
  };
  bool checked_from = false;
  for (const auto& o : c.observations()) {
    if (o.at > from && !checked_from) {
      checked_from = true;
      if (all_alive()) return from;
    }
    if (o.kind == "joined" || o.kind == "alive") {
      state[{o.observer, o.subject}] = "alive";
    } else if (o.kind == "failed" || o.kind == "left" ||
               (o.kind == "suspect" && c.agent() == Agent::otp)) {
      state[{o.observer, o.subject}] = o.kind;
    } else {
      continue;
    }
    if (o.at >= from && all_alive()) return o.at;
  }
  if (!checked_from && all_alive()) return from;
  return std::nullopt;
}

// -- a partition ------------------------------------------------------------------------------

/// A failure reported this soon after the heal was not declared on a member that had answered
/// since: one default probe interval (a probe every 200 ms; the round trip here is ~0.1 ms).
inline constexpr std::chrono::milliseconds kHealGrace{200};

struct PartitionFigures {
  std::vector<int> minority, majority;
  /// From the cut until every host of the side reported every host of the other side failed;
  /// nullopt when some pair was not reported by the heal.
  std::optional<double> minority_detect_ms, majority_detect_ms;
  int minority_pairs_missed = 0, majority_pairs_missed = 0;  // (observer, subject) never failed
  /// `failed` reports of a host of the observer's own side while the partition lasted.
  int same_side_failed = 0;
  /// `failed` reports later than kHealGrace after the heal (every host is reachable again then).
  int failed_after_heal = 0;
  /// `failed` reports within kHealGrace of the heal: a timer that ran out as the rules went away,
  /// before any probe could have been answered (reported apart, not counted above).
  int failed_at_heal = 0;
  /// nodedowns between hosts of the same side while the partition lasted.
  int same_side_nodedowns = 0;
  /// From the heal until every host saw every other alive; nullopt when not within the bound.
  std::optional<double> heal_to_one_view_ms;
  std::string detail;  // per pair detection times, the failures after the heal

  std::string summary() const {
    return "minority side detected the majority in " + ms_text(minority_detect_ms) + " (" +
           std::to_string(minority_pairs_missed) + " pairs never), majority detected minority in " +
           ms_text(majority_detect_ms) + " (" + std::to_string(majority_pairs_missed) +
           " pairs never), same side failed " + std::to_string(same_side_failed) +
           ", failed after heal " + std::to_string(failed_after_heal) + " (+" +
           std::to_string(failed_at_heal) + " within " + std::to_string(kHealGrace.count()) +
           " ms of it), heal to one view " + ms_text(heal_to_one_view_ms) + "\n" + detail;
  }
};

/// Partitions {1, 2} | {3, .., N} for `length`, then heals and watches `watch` more (and at
/// most `view_limit` for one view).
inline PartitionFigures run_partition(
    LabCluster& c, Drop drop, std::chrono::milliseconds length,
    std::chrono::milliseconds watch = std::chrono::seconds(6),
    std::chrono::milliseconds view_limit = std::chrono::seconds(40)) {
  PartitionFigures f;
  f.minority = {1, 2};
  for (int h = 3; h <= c.hosts(); ++h) f.majority.push_back(h);
  c.pump_until(LabClock::now() + std::chrono::seconds(1));  // settle
  const auto cut_at = c.cut(f.minority, f.majority, drop);
  c.pump_until(cut_at + length);
  const auto heal_at = c.heal();
  c.pump_until([&] { return LabClock::now() >= heal_at + watch && c.one_view(c.all()); },
               heal_at + view_limit);

  const auto side_detect = [&](const std::vector<int>& side, const std::vector<int>& other,
                               int& missed) -> std::optional<double> {
    double worst = 0;
    for (int o : side) {
      for (int s : other) {
        auto t = first_seen(c, o, "failed", s, cut_at, heal_at);
        f.detail += "  n" + std::to_string(o) + " saw n" + std::to_string(s) + " failed after " +
                    (t ? ms_text(ms_between(cut_at, *t)) : "never (by the heal)") + "\n";
        if (!t) {
          ++missed;
        } else {
          worst = std::max(worst, ms_between(cut_at, *t));
        }
      }
    }
    if (missed > 0) return std::nullopt;
    return worst;
  };
  f.minority_detect_ms = side_detect(f.minority, f.majority, f.minority_pairs_missed);
  f.majority_detect_ms = side_detect(f.majority, f.minority, f.majority_pairs_missed);
  const auto side_of = [&](int h) { return h <= 2 ? 0 : 1; };
  for (const auto& o : c.observations()) {
    const bool during = o.at >= cut_at && o.at <= heal_at;
    if (during && side_of(o.observer) == side_of(o.subject)) {
      if (o.kind == "failed") ++f.same_side_failed;
      if (o.kind == "nodedown") ++f.same_side_nodedowns;
      if (o.kind == "failed" || o.kind == "nodedown") f.detail += "  during: " + o.line + "\n";
    }
    if (o.at > heal_at && o.kind == "failed") {
      ++(o.at > heal_at + kHealGrace ? f.failed_after_heal : f.failed_at_heal);
      f.detail += "  " + ms_text(ms_between(heal_at, o.at)) + " after the heal, n" +
                  std::to_string(o.observer) + ": " + o.line + "\n";
    }
  }
  if (auto t = one_view_at(c, c.all(), heal_at)) f.heal_to_one_view_ms = ms_between(heal_at, *t);
  return f;
}

// -- random loss --------------------------------------------------------------------------------

struct LossFigures {
  double seconds = 0;
  int failed = 0;     // `failed` reports (every host is alive all along)
  int nodedowns = 0;  // otp links that went down
  /// Distinct suspicions: (member, incarnation) pairs reported suspect by any host (otp only;
  /// Serf logs a suspicion only on the host whose probe failed).
  int suspicions = 0;
  /// Probes that got no ack, direct or indirect, so that the prober raised a suspicion: otp, its
  /// probes_failed counters; Serf, its "Suspect <member> has failed, no acks received" lines.
  long failed_probes = 0;
  /// Direct probes sent by all hosts meanwhile (otp: their counters); Serf: estimated as one per
  /// host per second (memberlist's probe interval); -1 unknown.
  long probes = -1;
  bool probes_estimated = false;
  std::string detail;

  double per_minute(double n) const { return seconds > 0 ? n * 60.0 / seconds : 0; }
  std::optional<double> per_probe(double n) const {
    if (probes <= 0) return std::nullopt;
    return n / static_cast<double>(probes);
  }
  std::string summary() const {
    return std::to_string(failed) + " failed, " + std::to_string(nodedowns) + " nodedowns, " +
           std::to_string(suspicions) + " distinct suspicions, " + std::to_string(failed_probes) +
           " failed probes in " + std::to_string(seconds) + " s (" + std::to_string(probes) +
           (probes_estimated ? " probes, estimated)" : " probes)") + "\n" + detail;
  }
};

/// Every host drops each incoming packet with probability p for `length`; then the loss is
/// removed and the run watches `watch` more (a suspicion raised under loss may still fire).
inline LossFigures run_loss(LabCluster& c, double p, std::chrono::milliseconds length,
                            std::chrono::milliseconds watch = std::chrono::seconds(3)) {
  LossFigures f;
  c.pump_until(LabClock::now() + std::chrono::seconds(1));
  std::map<int, std::map<std::string, long>> before;
  if (c.agent() == Agent::otp) before = c.otp_stats(LabClock::now() + std::chrono::seconds(5));
  const auto from = c.random_loss(p);
  c.pump_until(from + length);
  const auto to = c.heal();
  f.seconds = ms_between(from, to) / 1000.0;
  if (c.agent() == Agent::otp) {
    auto after = c.otp_stats(LabClock::now() + std::chrono::seconds(5));
    f.probes = 0;
    for (int h = 1; h <= c.hosts(); ++h) {
      f.probes += after[h]["probes"] - before[h]["probes"];
      f.failed_probes += after[h]["probes_failed"] - before[h]["probes_failed"];
    }
  } else {
    f.probes = static_cast<long>(c.hosts() * f.seconds);
    f.probes_estimated = true;
  }
  c.pump_until(to + watch);
  std::set<std::pair<int, long>> suspected;
  for (const auto& o : c.observations()) {
    if (o.at < from) continue;
    if (o.kind == "failed") ++f.failed;
    if (o.kind == "nodedown") ++f.nodedowns;
    if (o.kind == "failed" || o.kind == "nodedown") {
      f.detail += "  +" + ms_text(ms_between(from, o.at)) + " n" + std::to_string(o.observer) +
                  ": " + o.line + "\n";
    }
    if (o.kind == "suspect" && o.at <= to) {
      if (c.agent() == Agent::otp) {
        suspected.insert({o.subject, o.incarnation});
      } else {
        ++f.failed_probes;
      }
    }
  }
  if (c.agent() == Agent::otp) f.suspicions = static_cast<int>(suspected.size());
  return f;
}

// -- one host's CPU starved ---------------------------------------------------------------------

struct StarveFigures {
  int failed_of_others = 0;  // `failed` reports of a host that was not starved (any observer)
  int failed_of_starved = 0;
  int suspicions_of_others = 0;      // distinct (member, incarnation) suspicions (otp)
  int nodedowns_between_others = 0;  // links between hosts that were not starved
  std::string detail;

  std::string summary() const {
    return std::to_string(failed_of_others) + " failed reports of hosts not starved, " +
           std::to_string(nodedowns_between_others) + " nodedowns between them, " +
           std::to_string(suspicions_of_others) + " suspicions of them; " +
           std::to_string(failed_of_starved) + " failed reports of the starved host\n" + detail;
  }
};

/// Stops host `starved`'s agent for `stopped` and lets it run for `running`, again and again for
/// `length`; then lets it run and watches `watch` more.
inline StarveFigures run_starve(LabCluster& c, int starved, std::chrono::milliseconds length,
                                std::chrono::milliseconds stopped = std::chrono::milliseconds(200),
                                std::chrono::milliseconds running = std::chrono::milliseconds(200),
                                std::chrono::milliseconds watch = std::chrono::seconds(5)) {
  StarveFigures f;
  c.pump_until(LabClock::now() + std::chrono::seconds(1));
  const auto from = LabClock::now();
  while (LabClock::now() < from + length) {
    c.signal(starved, SIGSTOP);
    c.pump_until(LabClock::now() + stopped);
    c.signal(starved, SIGCONT);
    c.pump_until(LabClock::now() + running);
  }
  c.signal(starved, SIGCONT);
  c.pump_until(LabClock::now() + watch);
  std::set<std::pair<int, long>> suspected;
  for (const auto& o : c.observations()) {
    if (o.at < from) continue;
    const bool other = o.subject != starved;
    if (o.kind == "failed") {
      ++(other ? f.failed_of_others : f.failed_of_starved);
      f.detail += "  +" + ms_text(ms_between(from, o.at)) + " n" + std::to_string(o.observer) +
                  ": " + o.line + "\n";
    }
    if (o.kind == "nodedown" && other && o.observer != starved) {
      ++f.nodedowns_between_others;
      f.detail += "  +" + ms_text(ms_between(from, o.at)) + " n" + std::to_string(o.observer) +
                  ": " + o.line + "\n";
    }
    if (o.kind == "suspect" && other) suspected.insert({o.subject, o.incarnation});
  }
  f.suspicions_of_others = static_cast<int>(suspected.size());
  return f;
}

// -- a host stopped, then one killed ------------------------------------------------------------

struct CrashFigures {
  /// From SIGSTOP of the last host until every other reported it failed.
  std::optional<double> stopped_failed_all_ms;
  /// From its SIGCONT until every host saw every other alive again.
  std::optional<double> continued_one_view_ms;
  /// From kill -9 of the last-but-one host until every survivor reported it failed.
  std::optional<double> killed_failed_all_ms;
  int false_failed = 0;  // `failed` reports of a host that was neither stopped nor killed
  std::string detail;

  std::string summary() const {
    return "SIGSTOP seen failed by all in " + ms_text(stopped_failed_all_ms) +
           ", SIGCONT to one view in " + ms_text(continued_one_view_ms) +
           ", kill -9 seen failed by all in " + ms_text(killed_failed_all_ms) + ", " +
           std::to_string(false_failed) + " failed reports of others\n" + detail;
  }
};

/// SIGSTOP host N until all others report it failed (at most `limit`), SIGCONT, wait for one
/// view; then kill -9 host N-1 and wait until every survivor reports it failed.
inline CrashFigures run_crash(LabCluster& c,
                              std::chrono::milliseconds limit = std::chrono::seconds(15)) {
  CrashFigures f;
  const int stopped = c.hosts(), killed = c.hosts() - 1;
  const auto worst_failed = [&](int subject, LabClock::time_point from,
                                const std::vector<int>& observers) -> std::optional<double> {
    double worst = 0;
    for (int o : observers) {
      auto t = first_seen(c, o, "failed", subject, from, LabClock::time_point::max());
      if (!t) return std::nullopt;
      worst = std::max(worst, ms_between(from, *t));
    }
    return worst;
  };
  std::vector<int> others;
  for (int h = 1; h < stopped; ++h) others.push_back(h);
  c.pump_until(LabClock::now() + std::chrono::seconds(1));
  const auto stop_at = LabClock::now();
  c.signal(stopped, SIGSTOP);
  c.pump_until([&] { return worst_failed(stopped, stop_at, others).has_value(); }, stop_at + limit);
  f.stopped_failed_all_ms = worst_failed(stopped, stop_at, others);
  const auto cont_at = LabClock::now();
  c.signal(stopped, SIGCONT);
  c.pump_until([&] { return c.one_view(c.all()); }, cont_at + limit);
  if (auto t = one_view_at(c, c.all(), cont_at)) f.continued_one_view_ms = ms_between(cont_at, *t);

  c.pump_until(LabClock::now() + std::chrono::seconds(1));
  std::vector<int> survivors;
  for (int h = 1; h <= c.hosts(); ++h) {
    if (h != killed) survivors.push_back(h);
  }
  const auto kill_at = c.kill(killed);
  c.pump_until([&] { return worst_failed(killed, kill_at, survivors).has_value(); },
               kill_at + limit);
  f.killed_failed_all_ms = worst_failed(killed, kill_at, survivors);
  for (const auto& o : c.observations()) {
    if (o.at < stop_at || o.kind != "failed") continue;
    const bool expected = (o.subject == stopped && o.at < cont_at + std::chrono::seconds(1)) ||
                          (o.subject == killed && o.at >= kill_at);
    if (!expected) {
      ++f.false_failed;
      f.detail += "  n" + std::to_string(o.observer) + ": " + o.line + "\n";
    }
  }
  return f;
}

}  // namespace otp_test
