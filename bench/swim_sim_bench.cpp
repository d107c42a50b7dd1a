// otp-swim-sim-bench: SWIM membership at scale on the deterministic simulator (not in CI).
// For each cluster size: protocol periods until every member knows of a joining node, periods
// until every survivor declares a crashed node failed, bytes each node sends per second in a
// steady state, and false failure declarations over a minute at 1%, 5% and 10% loss.
// Prints anchor-style `RESULT` lines (bench/bench_support.hpp) and a table; with
// --csv FILE also the table as CSV for bench/swim_plot.sh.
//
//   otp-swim-sim-bench                      # sizes 10 100 1000 10000
//   otp-swim-sim-bench --sizes 10,100 --reps 5 --csv /tmp/swim.csv
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "otp/membership/simulator.hpp"

namespace {

using namespace std::chrono_literals;
using otp::membership::Duration;
using otp::membership::EventKind;
using otp::membership::NodeIndex;
using otp::membership::SimEvent;
using otp::membership::SimOptions;
using otp::membership::Simulator;
using otp::membership::Time;

struct Options {
  std::vector<size_t> sizes{10, 100, 1000, 10000};
  int reps = 3;
  std::vector<double> losses{0.01, 0.05, 0.10};
  Duration loss_run = 60s;
  size_t max_loss_size = 1000;  // false-positive runs above this size take too long
  std::string csv;
};

struct Summary {
  double median = 0, min = 0, max = 0;
  int n = 0;
};

Summary summarize(std::vector<double> v) {
  Summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.n = static_cast<int>(v.size());
  s.min = v.front();
  s.max = v.back();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  return s;
}

void result(const std::string& name, const Summary& s, const char* unit, const char* note) {
  std::printf("RESULT %s median=%.2f min=%.2f max=%.2f n=%d unit=%s note=%s\n", name.c_str(),
              s.median, s.min, s.max, s.n, unit, note);
  std::fflush(stdout);
}

/// Counts nodes that reported `kind` about `about`, once each.
struct Counter {
  std::string about;
  EventKind kind = EventKind::joined;
  std::vector<bool> seen;
  size_t count = 0;
  void operator()(const SimEvent& e) {
    if (e.event.kind != kind || e.event.member.id.full_name() != about) return;
    if (e.node >= seen.size()) seen.resize(e.node + 1);
    if (!seen[e.node]) {
      seen[e.node] = true;
      ++count;
    }
  }
};

struct Run {
  double join_periods = 0;
  double fail_periods = 0;
  double bytes_per_node_s = 0;
};

Run run_once(size_t n, uint64_t seed) {
  SimOptions cfg{.seed = seed, .record_events = false};
  Simulator sim(cfg);
  const double period = static_cast<double>(cfg.membership.probe_interval.count());
  auto nodes = sim.add_nodes(n);
  std::vector<NodeIndex> first(nodes.begin(), nodes.end() - 1);
  sim.start_converged(first);
  sim.run_for(5s);
  Run r;

  // steady state: bytes per node per second over 10 s
  uint64_t before = 0;
  for (NodeIndex i : first) {
    before += sim.traffic(i).datagram_bytes_sent + sim.traffic(i).stream_bytes_sent;
  }
  sim.run_for(10s);
  uint64_t after = 0;
  for (NodeIndex i : first) {
    after += sim.traffic(i).datagram_bytes_sent + sim.traffic(i).stream_bytes_sent;
  }
  r.bytes_per_node_s = static_cast<double>(after - before) / static_cast<double>(first.size()) / 10;

  // a join through one seed: periods until every member has the newcomer
  const NodeIndex newcomer = nodes.back();
  Counter joined{sim.full_name(newcomer), EventKind::joined, {}, 0};
  sim.on_event = [&](const SimEvent& e) { joined(e); };
  const Time join_start = sim.now();
  sim.start(newcomer, {nodes[0]});
  sim.run_until([&] { return joined.count >= n - 1; }, sim.now() + 120s, 10ms);
  r.join_periods = static_cast<double>((sim.now() - join_start).count()) / period;

  // a crash: periods until every survivor declared it failed
  const NodeIndex victim = nodes[n / 2];
  Counter failed{sim.full_name(victim), EventKind::failed, {}, 0};
  sim.on_event = [&](const SimEvent& e) { failed(e); };
  const Time crash_at = sim.now();
  sim.crash(victim);
  sim.run_until([&] { return failed.count >= n - 1; }, sim.now() + 120s, 10ms);
  r.fail_periods = static_cast<double>((sim.now() - crash_at).count()) / period;
  return r;
}

/// Failed events (each one false: nobody crashes) over a run at this loss rate.
size_t false_positives(size_t n, double loss, Duration duration, uint64_t seed) {
  Simulator sim({.seed = seed, .loss = loss, .record_events = false});
  size_t failed = 0;
  sim.on_event = [&](const SimEvent& e) {
    if (e.event.kind == EventKind::failed) ++failed;
  };
  sim.start_converged(sim.add_nodes(n));
  sim.run_for(duration);
  return failed;
}

std::vector<size_t> parse_sizes(const std::string& s) {
  std::vector<size_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoul(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--sizes") {
      o.sizes = parse_sizes(argv[i + 1]);
    } else if (flag == "--reps") {
      o.reps = std::stoi(argv[i + 1]);
    } else if (flag == "--csv") {
      o.csv = argv[i + 1];
    } else if (flag == "--loss-max-size") {
      o.max_loss_size = std::stoul(argv[i + 1]);
    } else {
      std::cerr << "usage: otp-swim-sim-bench [--sizes 10,100,1000] [--reps 3] [--csv FILE]"
                   " [--loss-max-size 1000]\n";
      return 2;
    }
  }
  struct Row {
    size_t n;
    Summary join, fail, bytes;
    std::vector<double> fp;
  };
  std::vector<Row> rows;
  for (size_t n : o.sizes) {
    const auto wall = std::chrono::steady_clock::now();
    // the largest sizes once: minutes of wall time and GBs of memory each
    const int reps = n >= 5000 ? 1 : o.reps;
    std::vector<double> join, fail, bytes;
    for (int rep = 0; rep < reps; ++rep) {
      const Run r = run_once(n, 1000 + rep);
      join.push_back(r.join_periods);
      fail.push_back(r.fail_periods);
      bytes.push_back(r.bytes_per_node_s);
    }
    Row row{n, summarize(join), summarize(fail), summarize(bytes), {}};
    const std::string sz = std::to_string(n);
    result("swim_join_convergence_n" + sz, row.join, "periods",
           "protocol_periods_(200ms)_until_all_members_know_a_joiner");
    result("swim_failure_detection_n" + sz, row.fail, "periods",
           "protocol_periods_(200ms)_until_all_survivors_declare_a_crashed_node_failed");
    result("swim_bytes_per_node_n" + sz, row.bytes, "B/s", "steady_state_bytes_sent_per_node");
    for (double loss : o.losses) {
      if (n > o.max_loss_size) {
        row.fp.push_back(-1);
        continue;
      }
      const size_t fp = false_positives(n, loss, o.loss_run, 77);
      row.fp.push_back(static_cast<double>(fp));
      char name[96];
      std::snprintf(name, sizeof name, "swim_false_positives_n%zu_loss%d", n,
                    static_cast<int>(loss * 100 + 0.5));
      result(name,
             Summary{static_cast<double>(fp), static_cast<double>(fp), static_cast<double>(fp), 1},
             "events", "failed_events_for_live_nodes_in_60s_simulated");
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
    std::fprintf(stderr, "# n=%zu done in %.1f s wall\n", n, secs);
    rows.push_back(std::move(row));
  }

  std::printf("\n%8s %14s %14s %14s %8s %8s %8s\n", "nodes", "join(periods)", "fail(periods)",
              "B/s/node", "FP@1%", "FP@5%", "FP@10%");
  for (const Row& r : rows) {
    std::printf("%8zu %14.1f %14.1f %14.0f", r.n, r.join.median, r.fail.median, r.bytes.median);
    for (double fp : r.fp) {
      if (fp < 0) {
        std::printf(" %8s", "-");
      } else {
        std::printf(" %8.0f", fp);
      }
    }
    std::printf("\n");
  }
  if (!o.csv.empty()) {
    std::ofstream csv(o.csv);
    csv << "nodes,join_periods,fail_periods,bytes_per_node_s\n";
    for (const Row& r : rows) {
      csv << r.n << ',' << r.join.median << ',' << r.fail.median << ',' << r.bytes.median << '\n';
    }
  }
  return 0;
}
