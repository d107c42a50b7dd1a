// otp-bench: the node runtime's local figures, measured the way the Erlang anchor
// (anchor_local.erl, an optional external input: see docs/performance.md) measures erl_local.*,
// and printed in the anchors' format:
//
//   RESULT <figure> median=<x> min=<y> max=<z> n=<reps> unit=<u> note=<how>
//
// median/min/max are over repetitions (for latencies: over the per-repetition medians).
// Diagnostics ("# ...") go to stderr. Tunables (environment):
//   OTP_BENCH_REPS=5 OTP_BENCH_DUR_MS=2000 OTP_BENCH_CASTS=1000000 OTP_BENCH_NPROCS=100000
//   OTP_BENCH_SPAWN_REPS=3 OTP_BENCH_THREADS=0 (0 = one scheduler thread per hardware thread)
//   OTP_BENCH_ONLY=call,external_call,cast,external_cast,start,start_thread,start_nosup (default:
//   all) OTP_BENCH_MAXLIFE_S=300 (the program _exits with status 3 after this long, whatever
//   happens)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "call_client.hpp"
#include "otp/otp.hpp"

namespace {

using namespace otp_bench;
using namespace std::chrono_literals;

// -- messages ------------------------------------------------------------------------------------

struct Ping {};
struct Pong {};
struct Inc {};
/// Resets the echo server's cast counter; it sends Reached to notify once it counted n casts.
struct Arm {
  uint64_t n;
  otp::Pid notify;
};
struct Armed {};
struct Reached {
  Clock::time_point at;
};
/// To the Caster: cast n Inc to target from inside this process, then report Sent to report.
struct Blast {
  uint64_t n;
  otp::Pid target;
  otp::Pid report;
};
struct Sent {
  Clock::time_point start, end;
};
// -- servers -------------------------------------------------------------------------------------

/// anchor_echo: call Ping -> Pong; cast Inc counts. Also the idle server of the start figures.
class Echo : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Ping&) { return otp::reply(Pong{}); },
                   [&](const Arm& a) {
                     count_ = 0;
                     target_ = a.n;
                     notify_ = a.notify;
                     return otp::reply(Armed{});
                   });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const Inc&) {
      if (++count_ == target_ && notify_) otp::send(notify_, Reached{Clock::now()});
      return otp::noreply();
    });
  }

 private:
  uint64_t count_ = 0;
  uint64_t target_ = 0;
  otp::Pid notify_;
};

/// The cast sender: a process, as in anchor_local.erl (the Erlang sender is the benchmark
/// process itself). One handler casts all n messages in a loop, as cast_loop/2 does.
class Caster : public otp::GenServer {
 public:
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const Blast& b) {
      auto t0 = Clock::now();
      for (uint64_t i = 0; i < b.n; ++i) otp::gen_server::cast(node(), b.target, Inc{});
      otp::send(b.report, Sent{t0, Clock::now()});
      return otp::noreply();
    });
  }
};

// -- the figures ---------------------------------------------------------------------------------

struct Config {
  size_t reps, spawn_reps, threads;
  std::chrono::milliseconds dur;
  uint64_t casts, nprocs;
};

std::string thread_note(otp::Node& node) {
  return "_" + std::to_string(node.scheduler_threads()) + "_sched_threads";
}

/// One repetition of sequential calls from the Caller process; returns {calls/s, median us}.
std::pair<double, double> call_rep(otp::Node& node, otp::Inbox& inbox, const otp::Pid& caller,
                                   const otp::Pid& echo, std::chrono::milliseconds dur) {
  otp::gen_server::cast(node, caller, RunCalls{echo, dur, inbox.pid(), Ping{}});
  auto rep = inbox.receive_as<CallRep>(dur + 30s);
  if (!rep)
    die("call rep: no report from the client process within " +
        std::to_string((dur + 30s).count()) + " ms");
  if (!rep->error.empty()) die("call rep: " + rep->error);
  return {static_cast<double>(rep->calls) / rep->seconds, median_us(rep->lat_ns)};
}

void bench_call(const Config& c, otp::Node& node, otp::Inbox& inbox, const otp::Pid& echo) {
  auto caller = must(otp::gen_server::start<Caller>(node), "start Caller");
  call_rep(node, inbox, caller, echo, 200ms);  // warm-up, as the anchor
  std::vector<double> rates, lats;
  for (size_t i = 0; i < c.reps; ++i) {
    auto [rate, lat] = call_rep(node, inbox, caller, echo, c.dur);
    std::fprintf(stderr, "# call rep %zu: %.0f calls/s, median %.2f us\n", i + 1, rate, lat);
    rates.push_back(rate);
    lats.push_back(lat);
  }
  std::string how = "seq_await_call_from_1_client_process_5s_timeout" + thread_note(node);
  result("otp.local.call_rt_per_s", "ops/s", rates, how);
  result("otp.local.call_median_us", "us", lats, "median_of_per_rep_medians_" + how);
  (void)otp::gen_server::stop(node, caller);
}

std::pair<double, double> external_call_rep(otp::Node& node, const otp::Pid& echo,
                                            std::chrono::milliseconds dur) {
  std::vector<uint32_t> lat;
  lat.reserve(static_cast<size_t>(dur.count()) * 200);
  auto t0 = Clock::now(), prev = t0, deadline = t0 + dur;
  uint64_t n = 0;
  for (;;) {
    auto r = otp::gen_server::call<Pong>(node, echo, Ping{});  // 5 s default timeout
    if (!r) die("external call: " + r.error().to_string());
    auto now = Clock::now();
    ++n;
    lat.push_back(ns_since(prev, now));
    prev = now;
    if (now >= deadline) break;
  }
  return {static_cast<double>(n) / seconds_between(t0, prev), median_us(lat)};
}

void bench_external_call(const Config& c, otp::Node& node, const otp::Pid& echo) {
  external_call_rep(node, echo, 200ms);
  std::vector<double> rates, lats;
  for (size_t i = 0; i < c.reps; ++i) {
    auto [rate, lat] = external_call_rep(node, echo, c.dur);
    std::fprintf(stderr, "# external call rep %zu: %.0f calls/s, median %.2f us\n", i + 1, rate,
                 lat);
    rates.push_back(rate);
    lats.push_back(lat);
  }
  std::string how = "seq_gen_server::call_from_main_thread_5s_timeout" + thread_note(node);
  result("otp.local.external_call_rt_per_s", "ops/s", rates, how);
  result("otp.local.external_call_median_us", "us", lats, "median_of_per_rep_medians_" + how);
}

void arm(otp::Node& node, const otp::Pid& echo, uint64_t n, const otp::Pid& notify) {
  must(otp::gen_server::call<Armed>(node, echo, Arm{n, notify}), "arm echo");
}

/// Casts from the Caster process; the clock stops when the echo server counted the last one.
double cast_rep(otp::Node& node, otp::Inbox& inbox, const otp::Pid& caster, const otp::Pid& echo,
                uint64_t n) {
  arm(node, echo, n, inbox.pid());
  otp::gen_server::cast(node, caster, Blast{n, echo, inbox.pid()});
  auto reached = inbox.receive_as<Reached>(120s);
  auto sent = inbox.receive_as<Sent>(120s);
  if (!reached || !sent) die("cast rep: the server did not count all casts within 120 s");
  std::fprintf(stderr, "#   sender loop %.3f s, until processed %.3f s\n",
               seconds_between(sent->start, sent->end), seconds_between(sent->start, reached->at));
  return static_cast<double>(n) / seconds_between(sent->start, reached->at);
}

void bench_cast(const Config& c, otp::Node& node, otp::Inbox& inbox, const otp::Pid& echo) {
  auto caster = must(otp::gen_server::start<Caster>(node), "start Caster");
  cast_rep(node, inbox, caster, echo, 10000);  // warm-up, as the anchor
  std::vector<double> rates;
  for (size_t i = 0; i < c.reps; ++i) {
    rates.push_back(cast_rep(node, inbox, caster, echo, c.casts));
    std::fprintf(stderr, "# cast rep %zu: %.0f msgs/s\n", i + 1, rates.back());
  }
  result("otp.local.cast_msgs_per_s", "msgs/s", rates,
         "N=" + std::to_string(c.casts) + "_from_1_process_until_server_processed_all" +
             thread_note(node));
  (void)otp::gen_server::stop(node, caster);
}

void bench_external_cast(const Config& c, otp::Node& node, otp::Inbox& inbox,
                         const otp::Pid& echo) {
  std::vector<double> rates;
  for (size_t i = 0; i < c.reps + 1; ++i) {
    uint64_t n = i == 0 ? 10000 : c.casts;  // the first is a warm-up
    arm(node, echo, n, inbox.pid());
    auto t0 = Clock::now();
    for (uint64_t k = 0; k < n; ++k) otp::gen_server::cast(node, echo, Inc{});
    auto t_sent = Clock::now();
    auto reached = inbox.receive_as<Reached>(120s);
    if (!reached) die("external cast rep: the server did not count all casts within 120 s");
    if (i == 0) continue;
    rates.push_back(static_cast<double>(n) / seconds_between(t0, reached->at));
    std::fprintf(stderr, "# external cast rep %zu: %.0f msgs/s (loop %.3f s)\n", i, rates.back(),
                 seconds_between(t0, t_sent));
  }
  result("otp.local.external_cast_msgs_per_s", "msgs/s", rates,
         "N=" + std::to_string(c.casts) + "_from_main_thread_until_server_processed_all" +
             thread_note(node));
}

/// To the Starter: start n Echo children under sup, one after the other, then report.
struct StartMany {
  otp::Pid sup;
  uint64_t n;
  otp::Pid report;
};
struct StartedAll {
  Clock::time_point start, end;
  std::string error;  // empty when every start succeeded
};

/// Starts children from inside a process: await_call(sup, StartChild), the next one from the
/// reply's continuation. The paired figure: the Erlang anchor's starter is a process too.
class Starter : public otp::GenServer {
 public:
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const StartMany& s) {
      job_ = s;
      left_ = s.n;
      start_ = Clock::now();
      return next();
    });
  }

 private:
  otp::Action next() {
    return await_call(
        job_.sup, otp::dynamic_supervisor::StartChild{otp::worker<Echo>("echo")},
        [this](otp::Result<otp::Message> r) -> otp::Action {
          if (!r || !r->is<otp::Pid>())
            return finish(r ? "unexpected reply " + r->type_name() : r.error().to_string());
          if (--left_ == 0) return finish({});
          return next();
        });
  }
  otp::Action finish(std::string error) {
    otp::send(job_.report, StartedAll{start_, Clock::now(), std::move(error)});
    return otp::noreply();
  }

  StartMany job_;
  uint64_t left_ = 0;
  Clock::time_point start_;
};

enum class StartMode { dynsup_process, dynsup_main, plain_main };

struct StartRep {
  double rate, rss_per_proc, heap_per_proc, teardown_s;
};

/// Starts nprocs idle Echo servers sequentially on a fresh node: under a DynamicSupervisor from a
/// Starter process (the paired figure), the same from the main thread, or with plain
/// gen_server::start from the main thread. Memory is measured before the node is shut down; the
/// shutdown (which stops them all) is timed separately.
StartRep start_rep(const Config& c, StartMode mode) {
  otp::Node node({.name = "bench-start", .scheduler_threads = c.threads});
  std::optional<otp::Inbox> inbox;
  std::optional<otp::Pid> sup, starter;
  if (mode != StartMode::plain_main)
    sup = must(otp::dynamic_supervisor::start_link(node), "start DynamicSupervisor");
  if (mode == StartMode::dynsup_process) {
    inbox.emplace(node);
    starter = must(otp::gen_server::start<Starter>(node), "start Starter");
  }
  malloc_trim(0);
  double rss0 = rss_bytes(), heap0 = heap_in_use();
  auto t0 = Clock::now(), t1 = t0;
  switch (mode) {
    case StartMode::dynsup_main:
      for (uint64_t i = 0; i < c.nprocs; ++i)
        must(otp::dynamic_supervisor::start_child(node, *sup, otp::worker<Echo>("echo")),
             "start_child");
      t1 = Clock::now();
      break;
    case StartMode::dynsup_process: {
      otp::gen_server::cast(node, *starter, StartMany{*sup, c.nprocs, inbox->pid()});
      auto done = inbox->receive_as<StartedAll>(120s);
      if (!done) die("start from a process: no report within 120 s");
      if (!done->error.empty()) die("start from a process: " + done->error);
      t0 = done->start;
      t1 = done->end;
      break;
    }
    case StartMode::plain_main:
      for (uint64_t i = 0; i < c.nprocs; ++i)
        must(otp::gen_server::start<Echo>(node), "gen_server::start");
      t1 = Clock::now();
      break;
  }
  double rss1 = rss_bytes(), heap1 = heap_in_use();
  size_t count = node.process_count();
  inbox.reset();
  auto t2 = Clock::now();
  node.shutdown();
  auto t3 = Clock::now();
  double n = static_cast<double>(c.nprocs);
  StartRep r{n / seconds_between(t0, t1), (rss1 - rss0) / n, (heap1 - heap0) / n,
             seconds_between(t2, t3)};
  static const char* names[] = {"dynsup from process", "dynsup from main", "plain from main"};
  std::fprintf(stderr,
               "# start rep (%s): %.0f procs/s, rss %.0f B/proc, heap %.0f B/proc, %zu processes, "
               "node shutdown %.3f s\n",
               names[static_cast<int>(mode)], r.rate, r.rss_per_proc, r.heap_per_proc, count,
               r.teardown_s);
  return r;
}

/// Runs start_rep in a fresh copy of this program (OTP_BENCH_START_REP=<mode>), so that every
/// repetition's resident-set delta starts from a clean heap: memory freed by an earlier
/// repetition and kept by malloc would otherwise be reused and hide part of the cost.
StartRep start_rep_in_child(const Config& c, StartMode mode) {
  char exe[4096];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) die("readlink /proc/self/exe failed");
  exe[len] = '\0';
  std::string cmd = "OTP_BENCH_START_REP=" + std::to_string(static_cast<int>(mode)) +
                    " OTP_BENCH_THREADS=" + std::to_string(c.threads) + " OTP_BENCH_MAXLIFE_S=" +
                    std::to_string(env_long("OTP_BENCH_REP_MAXLIFE_S", 180)) + " exec '" + exe +
                    "'";
  std::fflush(stdout);
  std::fflush(stderr);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) die("popen failed: " + cmd);
  StartRep r{};
  char line[512];
  bool got = false;
  while (std::fgets(line, sizeof line, p)) {
    if (std::sscanf(line, "STARTREP %lf %lf %lf %lf", &r.rate, &r.rss_per_proc, &r.heap_per_proc,
                    &r.teardown_s) == 4)
      got = true;
  }
  int status = pclose(p);
  if (!got || status != 0)
    die("start repetition in a child process failed (status " + std::to_string(status) + ")");
  return r;
}

void bench_start(const Config& c, StartMode mode) {
  std::vector<double> rate, rss, heap, teardown;
  for (size_t i = 0; i < c.spawn_reps; ++i) {
    auto r = start_rep_in_child(c, mode);
    rate.push_back(r.rate);
    rss.push_back(r.rss_per_proc);
    heap.push_back(r.heap_per_proc);
    teardown.push_back(r.teardown_s * 1000);
  }
  std::string np = std::to_string(c.nprocs);
  std::string th = "_" + std::to_string(c.threads) + "_sched_threads";
  switch (mode) {
    case StartMode::dynsup_process:
      result("otp.local.gen_server_start_per_s", "procs/s", rate,
             "await_call(sup,StartChild)_seq_from_1_process_" + np + th);
      result("otp.local.gen_server_mem_bytes", "bytes/proc", rss,
             "RSS_delta(/proc/self/statm)/" + np + "_incl_supervisor_bookkeeping");
      result("otp.local.gen_server_heap_bytes", "bytes/proc", heap,
             "malloc_in_use_delta(" + std::string(heap_counter()) + ")/" + np);
      result("otp.local.dynsup_shutdown_ms", "ms", teardown,
             "node.shutdown()_with_" + np + "_children_under_1_DynamicSupervisor");
      break;
    case StartMode::dynsup_main:
      result("otp.local.gen_server_start_from_thread_per_s", "procs/s", rate,
             "dynamic_supervisor::start_child_seq_from_main_thread_" + np + th);
      break;
    case StartMode::plain_main:
      result("otp.local.gen_server_start_nosup_per_s", "procs/s", rate,
             "gen_server::start_seq_from_main_thread_" + np + th);
      result("otp.local.gen_server_nosup_mem_bytes", "bytes/proc", rss,
             "RSS_delta(/proc/self/statm)/" + np);
      result("otp.local.nosup_shutdown_ms", "ms", teardown,
             "node.shutdown()_with_" + np + "_unsupervised_servers");
      break;
  }
}

}  // namespace

int main() {
  Config c{static_cast<size_t>(env_long("OTP_BENCH_REPS", 5)),
           static_cast<size_t>(env_long("OTP_BENCH_SPAWN_REPS", 3)),
           static_cast<size_t>(env_long("OTP_BENCH_THREADS", 0)),
           std::chrono::milliseconds(env_long("OTP_BENCH_DUR_MS", 2000)),
           static_cast<uint64_t>(env_long("OTP_BENCH_CASTS", 1000000)),
           static_cast<uint64_t>(env_long("OTP_BENCH_NPROCS", 100000))};
  if (c.reps == 0 || c.spawn_reps == 0 || c.casts == 0 || c.nprocs == 0) die("counts must be > 0");

  // A hard bound on the whole run, like the anchor VM's own halt timer.
  long maxlife = env_long("OTP_BENCH_MAXLIFE_S", 600);
  std::thread([maxlife] {
    std::this_thread::sleep_for(std::chrono::seconds(maxlife));
    std::fprintf(stderr, "otp-bench: still running after %ld s (OTP_BENCH_MAXLIFE_S); exiting\n",
                 maxlife);
    std::fflush(stderr);
    std::_Exit(3);
  }).detach();

  // One start repetition, in a child process started by start_rep_in_child.
  if (long mode = env_long("OTP_BENCH_START_REP", -1); mode >= 0) {
    if (mode > static_cast<long>(StartMode::plain_main)) die("bad OTP_BENCH_START_REP");
    auto r = start_rep(c, static_cast<StartMode>(mode));
    std::printf("STARTREP %.17g %.17g %.17g %.17g\n", r.rate, r.rss_per_proc, r.heap_per_proc,
                r.teardown_s);
    std::fflush(stdout);
    return 0;
  }

  {
    otp::Node node({.name = "bench", .scheduler_threads = c.threads});
    c.threads = node.scheduler_threads();
    std::fprintf(stderr,
                 "# otp-bench: %zu scheduler threads, %u hardware threads, reps=%zu dur=%lld ms\n",
                 c.threads, std::thread::hardware_concurrency(), c.reps,
                 static_cast<long long>(c.dur.count()));
    otp::Inbox inbox(node);
    auto echo = must(otp::gen_server::start<Echo>(node), "start Echo");
    if (wanted("call")) bench_call(c, node, inbox, echo);
    if (wanted("external_call")) bench_external_call(c, node, echo);
    if (wanted("cast")) bench_cast(c, node, inbox, echo);
    if (wanted("external_cast")) bench_external_cast(c, node, inbox, echo);
  }
  if (wanted("start")) bench_start(c, StartMode::dynsup_process);
  if (wanted("start_thread")) bench_start(c, StartMode::dynsup_main);
  if (wanted("start_nosup")) bench_start(c, StartMode::plain_main);
  return 0;
}
