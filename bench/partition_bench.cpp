// otp-partition-bench: issue 14's fault scenarios on five hosts of a network namespace lab (root
// only), for otp-node and for Serf in the same namespaces, printed as anchor RESULT lines
// (`RESULT otp.part.<figure> ...`, `RESULT serf.part.<figure> ...`). bench/partitions.sh runs it
// (`make bench-partitions`). Per agent and repetition, each on a fresh five-host cluster:
//
//   in8 / out8   partition {1,2} | {3,4,5} for 8 s by INPUT drops (silent) / OUTPUT drops (EPERM):
//                per side, from the cut until every host of it reported every host of the other
//                side failed (a side that missed some pair by the heal counts as the partition's
//                length, and in <scenario>.<side>_missed_runs); `failed` reports after the heal;
//                from the heal until every host saw every other alive
//   in20         the same for 20 s (INPUT drops)
//   loss         10 % random INPUT loss on every host for OTP_PART_LOSS_S (60) s (the agents then
//                live that long and 2 minutes more): failed reports,
//                nodedowns (otp), failed probes (each raised a suspicion) per minute and per probe
//                (otp: counted probes; Serf: one probe per host per second, its interval), and for
//                otp distinct suspicions ((member, incarnation) pairs) per minute and per probe
//   starve       host 5 SIGSTOPped 200 ms / running 200 ms for 20 s: failed reports of the others
//                (any observer), of host 5, suspicions of the others
//   crash        SIGSTOP host 5 until all report it failed, SIGCONT, then kill -9 host 4
//
// Env: OTP_PART_REPS (3), OTP_PART_AGENTS ("otp serf"; serf only if SERF_BIN exists),
// OTP_PART_ONLY ("in8 out8 in20 loss starve crash"), OTP_PART_LOSS_S (60), OTP_PART_NODE_ARGS
// (extra otp-node flags; none: the default timings are measured), OTP_NODE_BIN (the otp-node of
// this build), SERF_BIN (/usr/bin/serf). Diagnostics ("# ...") on stderr, with every run's summary;
// OTP_PART_LOGS=1 adds the agents' lines. SIGINT / SIGTERM stop the run cleanly: the agents are
// killed by PID (their groups) and the namespaces deleted.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cluster/partition_scenarios.hpp"

namespace {

using namespace std::chrono_literals;
using otp_test::Agent;
using otp_test::Drop;

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> w;
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

/// figure -> (unit, note, values): printed at the end, in the order first seen.
struct Results {
  struct Figure {
    std::string unit, note;
    std::vector<double> values;
  };
  std::vector<std::string> order;
  std::map<std::string, Figure> figures;

  void add(const std::string& figure, const std::string& unit, const std::string& note, double v) {
    auto [it, fresh] = figures.try_emplace(figure, Figure{unit, note, {}});
    if (fresh) order.push_back(figure);
    it->second.values.push_back(v);
  }
  void print() const {
    for (const auto& name : order) {
      auto v = figures.at(name).values;
      std::sort(v.begin(), v.end());
      const size_t n = v.size();
      const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
      std::printf("RESULT %s median=%.6g min=%.6g max=%.6g n=%zu unit=%s note=%s\n", name.c_str(),
                  median, v.front(), v.back(), n, figures.at(name).unit.c_str(),
                  figures.at(name).note.c_str());
    }
    std::fflush(stdout);
  }
};

void partition(otp_test::LabCluster& c, Results& r, const std::string& p, Drop drop,
               std::chrono::milliseconds length) {
  const auto f = otp_test::run_partition(c, drop, length);
  std::cerr << "# " << p << ": " << f.summary();
  const double cap = static_cast<double>(length.count());
  const std::string how = std::string(otp_test::to_string(drop)) + "_drops_" +
                          std::to_string(length.count() / 1000) + "s";
  r.add(p + "minority_detect_ms", "ms",
        "cut_until_both_of_{1,2}_report_all_of_{3,4,5}_failed_" + how + "_missed=partition_length",
        f.minority_detect_ms.value_or(cap));
  r.add(p + "majority_detect_ms", "ms",
        "cut_until_all_of_{3,4,5}_report_both_of_{1,2}_failed_" + how + "_missed=partition_length",
        f.majority_detect_ms.value_or(cap));
  r.add(p + "minority_missed_runs", "runs", "runs_where_the_2-side_missed_a_pair_by_the_heal",
        f.minority_detect_ms ? 0 : 1);
  r.add(p + "majority_missed_runs", "runs", "runs_where_the_3-side_missed_a_pair_by_the_heal",
        f.majority_detect_ms ? 0 : 1);
  r.add(p + "failed_after_heal", "count", "member_failed_reports_later_than_200ms_after_the_heal",
        f.failed_after_heal);
  r.add(p + "failed_at_heal", "count", "member_failed_reports_within_200ms_of_the_heal",
        f.failed_at_heal);
  r.add(p + "same_side_failed", "count", "member_failed_reports_of_own_side_during_partition",
        f.same_side_failed);
  if (f.heal_to_one_view_ms) {
    r.add(p + "heal_to_one_view_ms", "ms", "heal_until_every_host_sees_every_other_alive",
          *f.heal_to_one_view_ms);
  } else {
    r.add(p + "heal_no_view_runs", "runs", "runs_without_one_view_40s_after_the_heal", 1);
  }
}

void loss(otp_test::LabCluster& c, Results& r, const std::string& p, std::chrono::seconds length) {
  const auto f = otp_test::run_loss(c, 0.10, length);
  std::cerr << "# " << p << ": " << f.summary();
  const std::string how = "10pct_input_loss_all_hosts_" + std::to_string(length.count()) + "s";
  r.add(p + "failed", "count", "member_failed_reports_" + how, f.failed);
  if (c.agent() == Agent::otp) r.add(p + "nodedowns", "count", "nodedowns_" + how, f.nodedowns);
  // Suspicions raised by a prober whose probe got no ack: the same event for both agents.
  r.add(p + "failed_probes_per_min", "1/min",
        (c.agent() == Agent::otp ? "probes_failed_counters_all_hosts_"
                                 : "Suspect_no_acks_log_lines_all_hosts_") +
            how,
        f.per_minute(static_cast<double>(f.failed_probes)));
  if (auto pp = f.per_probe(static_cast<double>(f.failed_probes))) {
    r.add(p + "failed_probes_per_probe", "ratio",
          (f.probes_estimated ? "probes_estimated_1_per_host_per_s_" : "probes_counted_") + how,
          *pp);
  }
  if (c.agent() == Agent::otp) {
    // Distinct suspicions ((member, incarnation) pairs reported suspect anywhere).
    r.add(p + "suspicions_per_min", "1/min", "distinct_member_incarnation_suspected_" + how,
          f.per_minute(f.suspicions));
    if (auto pp = f.per_probe(f.suspicions)) {
      r.add(p + "suspicions_per_probe", "ratio", "distinct_suspicions_over_counted_probes_" + how,
            *pp);
    }
  }
}

void starve(otp_test::LabCluster& c, Results& r, const std::string& p) {
  const auto f = otp_test::run_starve(c, 5, 20s);
  std::cerr << "# " << p << ": " << f.summary();
  const std::string how = "host5_sigstop200ms_sigcont200ms_for_20s";
  r.add(p + "failed_of_others", "count", "member_failed_reports_of_hosts_1-4_" + how,
        f.failed_of_others);
  r.add(p + "failed_of_starved", "count", "member_failed_reports_of_host5_" + how,
        f.failed_of_starved);
  if (c.agent() == Agent::otp) {
    r.add(p + "suspicions_of_others", "count", "distinct_suspicions_of_hosts_1-4_" + how,
          f.suspicions_of_others);
    r.add(p + "nodedowns_between_others", "count", "nodedowns_between_hosts_1-4_" + how,
          f.nodedowns_between_others);
  }
}

void crash(otp_test::LabCluster& c, Results& r, const std::string& p) {
  const auto f = otp_test::run_crash(c);
  std::cerr << "# " << p << ": " << f.summary();
  if (f.stopped_failed_all_ms) {
    r.add(p + "sigstop_failed_all_ms", "ms", "sigstop_host5_until_all_4_report_failed",
          *f.stopped_failed_all_ms);
  }
  if (f.continued_one_view_ms) {
    r.add(p + "sigcont_to_one_view_ms", "ms", "sigcont_host5_until_all_see_all_alive",
          *f.continued_one_view_ms);
  }
  if (f.killed_failed_all_ms) {
    r.add(p + "kill9_failed_all_ms", "ms", "kill9_host4_until_all_4_survivors_report_failed",
          *f.killed_failed_all_ms);
  }
  r.add(p + "false_failed", "count", "failed_reports_of_hosts_neither_stopped_nor_killed",
        f.false_failed);
}

/// The 1-minute load average: the scenarios' figures depend on a machine that is not too busy.
std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string first;
  f >> first;
  return first;
}

void on_stop(int) {
  otp_test::lab_interrupted = true;
}

}  // namespace

int main() {
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGINT, on_stop);
  ::signal(SIGTERM, on_stop);
  if (auto why = otp_test::NetnsLab::unavailable()) {
    std::cerr << "otp-partition-bench: " << *why << "\n";
    return 2;
  }
  const int reps = std::max(1, std::atoi(env("OTP_PART_REPS", "3").c_str()));
  const auto only = words(env("OTP_PART_ONLY", "in8 out8 in20 loss starve crash"));
  const auto loss_s =
      std::chrono::seconds(std::max(1, std::atoi(env("OTP_PART_LOSS_S", "60").c_str())));
  const std::string serf = env("SERF_BIN", "/usr/bin/serf");
  std::vector<Agent> agents;
  for (const auto& a : words(env("OTP_PART_AGENTS", "otp serf"))) {
    if (a == "otp") agents.push_back(Agent::otp);
    if (a == "serf") {
      if (::access(serf.c_str(), X_OK) == 0) {
        agents.push_back(Agent::serf);
      } else {
        std::cerr << "# " << serf << " not found: Serf not measured (see ../shared/anchors)\n";
      }
    }
  }
  const bool logs = env("OTP_PART_LOGS", "0") == "1";
  otp_test::LabOptions base{.otp_node = env("OTP_NODE_BIN", OTP_NODE_BIN),
                            .otp_args = words(env("OTP_PART_NODE_ARGS", "")),
                            .serf = serf};
  std::cerr << "# otp-partition-bench: " << base.otp_node << ", " << reps << " repetitions of";
  for (const auto& s : only) std::cerr << " " << s;
  std::cerr << "\n";

  Results results;
  int failures = 0;
  for (int rep = 1; rep <= reps; ++rep) {
    for (Agent agent : agents) {
      for (const auto& scenario : only) {
        const std::string p = std::string(otp_test::to_string(agent)) + ".part." + scenario + ".";
        try {
          otp_test::LabOptions o = base;
          o.agent = agent;
          // Every agent is bounded in time (LabOptions::max_seconds, 300 s): a longer loss phase
          // needs them to outlive it, or they exit in the middle of it (a nodedown each).
          if (scenario == "loss") {
            o.max_seconds = std::max<int>(o.max_seconds, static_cast<int>(loss_s.count()) + 120);
          }
          otp_test::LabCluster c(o);
          if (auto why = c.start(60s)) {
            std::cerr << "# " << p << " rep " << rep << ": " << *why;
            ++failures;
            continue;
          }
          std::cerr << "# " << p << " rep " << rep << " (loadavg " << loadavg() << ")\n";
          if (scenario == "in8") {
            partition(c, results, p, Drop::input, 8s);
          } else if (scenario == "out8") {
            partition(c, results, p, Drop::output, 8s);
          } else if (scenario == "in20") {
            partition(c, results, p, Drop::input, 20s);
          } else if (scenario == "out20") {
            partition(c, results, p, Drop::output, 20s);
          } else if (scenario == "loss") {
            loss(c, results, p, loss_s);
          } else if (scenario == "starve") {
            starve(c, results, p);
          } else if (scenario == "crash") {
            crash(c, results, p);
          } else {
            std::cerr << "# unknown scenario " << scenario << "\n";
            ++failures;
          }
          if (logs) std::cerr << c.logs();
        } catch (const std::exception& e) {
          std::cerr << "# " << p << " rep " << rep << ": " << e.what() << "\n";
          ++failures;
          if (otp_test::lab_interrupted) {
            results.print();
            return 130;
          }
        }
      }
    }
  }
  results.print();
  return failures == 0 ? 0 : 1;
}
