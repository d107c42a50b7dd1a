// otp-bench-global: global names (otp/global.hpp) between nodes on loopback, measured the way
// the Erlang anchor (anchor_dist.erl, an optional external input: see docs/performance.md)
// measures erl_dist.global_*, plus the issue's own targets. Every node here is an otp::Node with
// an otp::cluster::Cluster in THIS OS process (default scheduler threads and spin, default
// transport settings, no gossip: the bench links them with connect()); they talk over loopback
// TCP exactly as separate processes do, and share the machine's cores as separate processes
// would. The Erlang anchor runs a, b, c as three VMs.
//
//   otp.dist.global_call_median_us      sequential calls from one process on a to
//                                       otp::global_name("echo_g"), an echo server on b (the name
//                                       resolved at each call); the same run's calls to the pid
//                                       are printed as otp.dist.global_call_by_pid_median_us, the
//                                       two interleaved rep by rep (_over_pid_ratio: per rep)
//   otp.dist.global_register_us         global::register_name of a live process on a (3 nodes:
//                                       a, b, c; OTP_BENCH_GLOBAL_NODES) until it returns; per-rep
//                                       median
//   otp.dist.global_visible_on_3rd_us   from the start of that register until a thread on node c,
//                                       POLLING global::whereis_name(c, name) (spinning with
//                                       yield, as the anchor's poller does), sees it; per-rep p50,
//                                       and _p99_us the per-rep p99
//   otp.dist.global_whereis_ns          global::whereis_name on a of a name held on b, ns per
//                                       lookup over a batch (_local_ns: a name held on a)
//   otp.dist.global_register_per_s      registrations/s on a 5-node cluster from 100 caller
//                                       processes (20 per node) each registering its share of
//                                       100,000 distinct names for 100,000 idle processes started
//                                       beforehand, until every call returned
//                                       (_converged_per_s: until every node sees every name)
//   otp.dist.global_join_100k_ms        a node connecting to a 5-node cluster that holds 100,000
//                                       names, until it has them all
//   otp.dist.global_node_gone_100k_ms   Cluster::stop of the node holding those 100,000 names
//                                       (its links close, as a kill -9's do) until every survivor
//                                       has dropped them all
//   otp.dist.global_whereis_longest_during_drop_ms  the longest whereis of another name on a
//                                       survivor (polled every 200 us) while it drops them
//   otp.dist.global_bytes_per_name      heap growth (the allocator's accounting) over registering
//                                       100,000 names in a 5-node cluster, / names / 5 nodes
//                                       (_replica: the joining node's own growth / names)
//   otp.dist.global_register_1_thread_per_s  those 100,000 registered in a loop from one thread
//
// Usage: otp-bench-global. Tunables (environment): OTP_BENCH_REPS=5, OTP_BENCH_DUR_MS=2000,
// OTP_BENCH_GLOBAL_SAMPLES=200 (registers per rep), OTP_BENCH_GLOBAL_NAMES=100000,
// OTP_BENCH_GLOBAL_CALLERS=100, OTP_BENCH_GLOBAL_NODES=3 (of the call/register/whereis cluster),
// OTP_BENCH_GLOBAL_RATE_REPS=3, OTP_BENCH_GLOBAL_CHURN_REPS=3,
// OTP_BENCH_ONLY=global_call,global_register,global_whereis,global_rate,global_churn,
// OTP_BENCH_MAXLIFE_S=300.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "call_client.hpp"
#include "otp/cluster/cluster.hpp"
#include "otp/distributed.hpp"
#include "otp/global.hpp"

namespace {

using namespace otp_bench;
using namespace std::chrono_literals;

constexpr const char* kCookie = "otp-bench-global";

/// A node of the bench's cluster: an otp::Node and its Cluster, in this process.
struct Member {
  explicit Member(const std::string& name)
      : name(name),
        node(std::make_unique<otp::Node>(otp::NodeOptions{.name = name, .log_crashes = false})) {
    auto started = otp::cluster::Cluster::start(*node, {.name = name, .cookie = kCookie});
    if (!started) die("start the cluster of " + name + ": " + started.error().to_string());
    cluster = std::move(*started);
  }
  ~Member() {
    cluster.reset();  // before the Node
    node.reset();
  }
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;

  std::string full_name() const { return name + "@127.0.0.1"; }
  std::string address() const { return "127.0.0.1:" + std::to_string(cluster->port()); }
  std::optional<otp::Pid> whereis(const std::string& global) {
    return otp::global::whereis_name(*node, global);
  }

  std::string name;
  std::unique_ptr<otp::Node> node;
  std::unique_ptr<otp::cluster::Cluster> cluster;
};
using Members = std::vector<std::unique_ptr<Member>>;

/// Waits (sleeping between looks: setup and convergence checks, not a latency figure) until
/// done() holds; dies naming what after timeout.
template <class F>
void wait_until(F&& done, std::chrono::milliseconds timeout, const std::string& what) {
  auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > deadline) die("timed out waiting for " + what);
    std::this_thread::sleep_for(100us);
  }
}

/// Links `joiner` to every member of `to` (connect from joiner) and waits until both sides of
/// each link are up.
void link(Member& joiner, const Members& to) {
  for (auto& m : to)
    if (!joiner.cluster->connect(m->address())) die("connect " + joiner.name + " to " + m->name);
  auto linked = [](Member& x, Member& y) {
    auto nodes = x.cluster->nodes();
    return std::find(nodes.begin(), nodes.end(), y.full_name()) != nodes.end();
  };
  for (auto& m : to)
    wait_until([&] { return linked(joiner, *m) && linked(*m, joiner); }, 20s,
               "a link " + joiner.name + " <-> " + m->name);
}

/// n nodes named prefix1..prefixN, every pair linked.
Members full_mesh(const std::string& prefix, size_t n) {
  Members ms;
  for (size_t i = 1; i <= n; ++i) {
    auto m = std::make_unique<Member>(prefix + std::to_string(i));
    link(*m, ms);
    ms.push_back(std::move(m));
  }
  return ms;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

/// Answers every call with the request (an echo).
class Echo : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return otp::reply(m);
  }
};

/// A process that only holds a name.
class Idle : public otp::GenServer {};

// -- the call through a global name ---------------------------------------------------------------

void bench_call(Member& a, Member& b, size_t reps, std::chrono::milliseconds dur) {
  auto echo = otp::gen_server::start<Echo>(*b.node, otp::name(otp::global_name("echo_g")));
  if (!echo) die("start echo_g on b: " + echo.error().to_string());
  wait_until([&] { return a.whereis("echo_g").has_value(); }, 10s, "echo_g on a");
  auto caller = otp::gen_server::start<Caller>(*a.node);
  if (!caller) die("start Caller: " + caller.error().to_string());
  // The pid as a's replica knows it (a remote pid of b), for the paired call by pid.
  otp::Pid by_pid = *a.whereis("echo_g");
  otp::Inbox inbox(*a.node);
  auto run = [&](const otp::ServerRef& target, std::chrono::milliseconds d) {
    otp::gen_server::cast(*a.node, *caller, RunCalls{target, d, inbox.pid()});
    auto rep = inbox.receive_as<CallRep>(d + 30s);
    if (!rep) die("call rep: no report");
    if (!rep->error.empty()) die("call rep: " + rep->error);
    return median_us(rep->lat_ns);
  };
  run(by_pid, 300ms);  // warm-ups
  run(otp::global_name("echo_g"), 300ms);
  std::vector<double> by_name, by_pid_us;
  for (size_t i = 0; i < reps; ++i) {  // interleaved, so load changes hit both alike
    by_pid_us.push_back(run(by_pid, dur));
    by_name.push_back(run(otp::global_name("echo_g"), dur));
    std::fprintf(stderr, "# global call rep %zu: by name %.2f us, by pid %.2f us (x%.3f)\n", i + 1,
                 by_name.back(), by_pid_us.back(), by_name.back() / by_pid_us.back());
  }
  const std::string how = "seq_await_call_from_1_process_on_a_to_echo_on_b_5s_timeout_";
  result("otp.dist.global_call_median_us", "us", by_name,
         "median_of_per_rep_medians_" + how + "through_global_name_resolved_per_call");
  result("otp.dist.global_call_by_pid_median_us", "us", by_pid_us,
         "median_of_per_rep_medians_" + how + "by_pid_interleaved_with_the_global_reps");
  std::vector<double> ratio;
  for (size_t i = 0; i < by_name.size(); ++i) ratio.push_back(by_name[i] / by_pid_us[i]);
  result("otp.dist.global_call_over_pid_ratio", "ratio", ratio, "per_rep_global/by_pid");
}

// -- register, and visible on a third node --------------------------------------------------------

/// A thread (not a CAF worker: it spins) that polls a node's replica for one name at a time.
class Poller {
 public:
  explicit Poller(Member& on) : on_(on), thread_([this] { run(); }) {}
  ~Poller() {
    {
      std::lock_guard<std::mutex> g(mx_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  /// Starts polling for `name` and returns once the thread is spinning on it.
  void arm(std::string name) {
    std::unique_lock<std::mutex> g(mx_);
    name_ = std::move(name);
    seen_.reset();
    state_ = State::armed;
    cv_.notify_all();
    cv_.wait(g, [&] { return state_ == State::polling; });
  }
  /// When the name was first seen (nothing: not within 10 s).
  std::optional<Clock::time_point> wait_seen() {
    std::unique_lock<std::mutex> g(mx_);
    cv_.wait(g, [&] { return state_ == State::idle; });
    return seen_;
  }

 private:
  enum class State { idle, armed, polling };
  void run() {
    std::unique_lock<std::mutex> g(mx_);
    for (;;) {
      cv_.wait(g, [&] { return quit_ || state_ == State::armed; });
      if (quit_) return;
      std::string name = name_;
      state_ = State::polling;
      g.unlock();
      cv_.notify_all();
      std::optional<Clock::time_point> seen;
      const auto deadline = Clock::now() + 10s;
      for (;;) {
        if (on_.whereis(name)) {
          seen = Clock::now();
          break;
        }
        if (Clock::now() > deadline) break;
        std::this_thread::yield();
      }
      g.lock();
      seen_ = seen;
      state_ = State::idle;
      cv_.notify_all();
    }
  }

  Member& on_;
  std::mutex mx_;
  std::condition_variable cv_;
  bool quit_ = false;
  State state_ = State::idle;
  std::string name_;
  std::optional<Clock::time_point> seen_;
  std::thread thread_;
};

void bench_register(Member& a, Member& c, size_t cluster_size, size_t reps, size_t samples) {
  const std::string nodes = std::to_string(cluster_size);
  otp::Inbox holder(*a.node);
  Poller poller(c);
  std::vector<double> reg_med, vis_p50, vis_p99;
  std::vector<double> all_vis;
  size_t serial = 0;
  for (size_t rep = 0; rep <= reps; ++rep) {  // rep 0: a warm-up
    std::vector<double> reg, vis;
    for (size_t i = 0; i < samples; ++i) {
      std::string name = "reg_" + std::to_string(++serial);
      poller.arm(name);
      auto t0 = Clock::now();
      auto r = otp::global::register_name(*a.node, name, holder.pid());
      auto t1 = Clock::now();
      if (!r) die("register " + name + ": " + r.error().to_string());
      auto seen = poller.wait_seen();
      if (!seen) die(name + " not seen on c within 10 s");
      reg.push_back(seconds_between(t0, t1) * 1e6);
      vis.push_back(seconds_between(t0, *seen) * 1e6);
      // Untimed: the next sample starts with the table as before.
      if (auto u = otp::global::unregister_name(*a.node, name); !u)
        die("unregister " + name + ": " + u.error().to_string());
      wait_until([&] { return !c.whereis(name); }, 10s, name + " gone from c");
    }
    if (rep == 0) continue;
    reg_med.push_back(median(reg));
    vis_p50.push_back(median(vis));
    vis_p99.push_back(percentile(vis, 0.99));
    all_vis.insert(all_vis.end(), vis.begin(), vis.end());
    std::fprintf(stderr,
                 "# global register rep %zu: register median %.2f us (max %.1f); visible on c "
                 "p50 %.1f us, p99 %.1f us, max %.1f us\n",
                 rep, reg_med.back(), *std::max_element(reg.begin(), reg.end()), vis_p50.back(),
                 vis_p99.back(), *std::max_element(vis.begin(), vis.end()));
  }
  std::fprintf(stderr, "# global visible on c over all %zu samples: p50 %.1f us, p99 %.1f us\n",
               all_vis.size(), percentile(all_vis, 0.5), percentile(all_vis, 0.99));
  const std::string per = std::to_string(samples) + "_samples_per_rep";
  result("otp.dist.global_register_us", "us", reg_med,
         "median_of_per_rep_medians_register_name_on_a_" + nodes + "_nodes_" + per);
  result("otp.dist.global_visible_on_3rd_us", "us", vis_p50,
         "median_of_per_rep_p50_from_register_start_until_a_thread_polling_whereis_on_c_sees_it_" +
             per);
  result("otp.dist.global_visible_on_3rd_p99_us", "us", vis_p99,
         "median_of_per_rep_p99_same_samples_" + per);
}

// -- whereis --------------------------------------------------------------------------------------

double whereis_rep(Member& on, const std::string& name, size_t n) {
  size_t found = 0;
  auto t0 = Clock::now();
  for (size_t i = 0; i < n; ++i) found += on.whereis(name).has_value();
  double ns = seconds_between(t0, Clock::now()) * 1e9 / static_cast<double>(n);
  if (found != n) die("whereis " + name + " missed");
  return ns;
}

/// Lookups of `names` in turn, ns per lookup: more names than whereis keeps resolved per thread,
/// so (almost) every lookup takes the table's lock and builds the pid.
double whereis_spread_rep(Member& on, const std::vector<std::string>& names, size_t n) {
  size_t found = 0;
  auto t0 = Clock::now();
  for (size_t i = 0; i < n; ++i) found += on.whereis(names[i % names.size()]).has_value();
  double ns = seconds_between(t0, Clock::now()) * 1e9 / static_cast<double>(n);
  if (found != n) die("whereis of the spread names missed");
  return ns;
}

void bench_whereis(Member& a, Member& b, size_t reps) {
  // echo_g (held on b) exists when global_call ran; otherwise hold it here.
  std::optional<otp::Inbox> local;
  local.emplace(*a.node);
  if (auto r = otp::global::register_name(*a.node, "held_on_a", local->pid()); !r)
    die("register held_on_a: " + r.error().to_string());
  constexpr size_t kBatch = 1'000'000;
  std::vector<double> remote, here;
  const bool has_remote = a.whereis("echo_g").has_value();
  // 1,000 names held on b, by one process.
  otp::Inbox spread_holder(*b.node);
  std::vector<std::string> spread;
  for (size_t i = 0; i < 1000; ++i) {
    spread.push_back("spread_" + std::to_string(i));
    if (auto r = otp::global::register_name(*b.node, spread.back(), spread_holder.pid()); !r)
      die("register " + spread.back() + ": " + r.error().to_string());
  }
  wait_until([&] { return a.whereis(spread.back()).has_value(); }, 10s, "the spread names on a");
  std::vector<double> spread_ns;
  whereis_rep(a, "held_on_a", kBatch / 10);  // warm-up
  for (size_t i = 0; i < reps; ++i) {
    if (has_remote) remote.push_back(whereis_rep(a, "echo_g", kBatch));
    here.push_back(whereis_rep(a, "held_on_a", kBatch));
    spread_ns.push_back(whereis_spread_rep(a, spread, kBatch));
    std::fprintf(stderr,
                 "# global whereis rep %zu: remote owner %.1f ns, local owner %.1f ns, 1,000 "
                 "names in turn %.1f ns\n",
                 i + 1, remote.empty() ? 0.0 : remote.back(), here.back(), spread_ns.back());
  }
  result("otp.dist.global_whereis_ns", "ns/op", remote,
         "whereis_name_on_a_of_a_name_held_on_b_batch_of_1M_hit");
  result("otp.dist.global_whereis_local_ns", "ns/op", here,
         "whereis_name_on_a_of_a_name_held_on_a_batch_of_1M_hit");
  result("otp.dist.global_whereis_uncached_ns", "ns/op", spread_ns,
         "whereis_name_on_a_of_1000_names_held_on_b_in_turn_more_than_the_per_thread_cache");
}

// -- registrations per second on 5 nodes ----------------------------------------------------------

/// Makes a Registrar register names[i] for holders[i], then send Registered to report.
struct RegisterAll {
  std::vector<otp::Pid> holders;
  std::vector<std::string> names;
  otp::Pid report;
};
struct Registered {
  size_t failures = 0;
  std::string first_error;
};

/// A caller: registers its share of the names in one handler (global::register_name is a
/// non-blocking call: a table change and a write to each peer's link).
class Registrar : public otp::GenServer {
 public:
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const RegisterAll& r) {
      Registered out;
      for (size_t i = 0; i < r.names.size(); ++i) {
        auto ok = otp::global::register_name(node(), r.names[i], r.holders[i]);
        if (!ok && out.failures++ == 0) out.first_error = ok.error().to_string();
      }
      otp::send(r.report, std::move(out));
      return otp::noreply();
    });
  }
};

/// `n` idle processes on `m` (started from this thread, before any clock runs).
std::vector<otp::Pid> start_holders(Member& m, size_t n) {
  std::vector<otp::Pid> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(must(otp::gen_server::start<Idle>(*m.node), "idle"));
  return out;
}

void bench_rate(size_t reps, size_t names, size_t callers) {
  constexpr size_t kNodes = 5;
  const size_t per_caller = names / callers;
  const size_t per_node = callers / kNodes;
  std::vector<double> rates, converged;
  for (size_t rep = 1; rep <= reps; ++rep) {
    Members ms = full_mesh("rate" + std::to_string(rep) + "n", kNodes);
    std::vector<std::unique_ptr<otp::Inbox>> inboxes;
    std::vector<std::pair<size_t, otp::Pid>> registrars;  // (node index, pid)
    std::vector<RegisterAll> work;
    std::vector<std::string> last_names;  // each caller's last name
    for (size_t n = 0; n < kNodes; ++n) {
      inboxes.push_back(std::make_unique<otp::Inbox>(*ms[n]->node));
      auto holders = start_holders(*ms[n], per_node * per_caller);
      for (size_t c = 0; c < per_node; ++c) {
        registrars.emplace_back(n, must(otp::gen_server::start<Registrar>(*ms[n]->node), "reg"));
        RegisterAll w{{}, {}, inboxes[n]->pid()};
        for (size_t k = 0; k < per_caller; ++k) {
          w.holders.push_back(holders[c * per_caller + k]);
          w.names.push_back("n" + std::to_string(n) + "c" + std::to_string(c) + "k" +
                            std::to_string(k));
        }
        last_names.push_back(w.names.back());
        work.push_back(std::move(w));
      }
    }
    const size_t total = work.size() * per_caller;
    auto t0 = Clock::now();
    for (size_t i = 0; i < work.size(); ++i)
      otp::gen_server::cast(*ms[registrars[i].first]->node, registrars[i].second,
                            std::move(work[i]));
    for (size_t n = 0; n < kNodes; ++n)
      for (size_t c = 0; c < per_node; ++c) {
        auto done = inboxes[n]->receive_as<Registered>(120s);
        if (!done) die("a registrar did not report");
        if (done->failures) die(std::to_string(done->failures) + " failed: " + done->first_error);
      }
    auto t_calls = Clock::now();
    // A node's updates reach each peer in the order its table made them, so once every caller's
    // last name is visible on a node, every name is.
    wait_until(
        [&] {
          for (auto& m : ms)
            for (auto& last : last_names)
              if (!m->whereis(last)) return false;
          return true;
        },
        120s, "every name on every node");
    auto t_all = Clock::now();
    for (auto& m : ms)  // the argument above, checked (untimed)
      if (otp::global::registered_names(*m->node).size() != total)
        die(m->name + " does not hold every name");
    rates.push_back(static_cast<double>(total) / seconds_between(t0, t_calls));
    converged.push_back(static_cast<double>(total) / seconds_between(t0, t_all));
    std::fprintf(stderr,
                 "# global register rate rep %zu: %zu names, calls done in %.1f ms (%.0f/s), on "
                 "every node in %.1f ms (%.0f/s)\n",
                 rep, total, seconds_between(t0, t_calls) * 1e3, rates.back(),
                 seconds_between(t0, t_all) * 1e3, converged.back());
  }
  const std::string how = std::to_string(callers) + "_caller_processes_on_5_nodes_" +
                          std::to_string(names) + "_distinct_names_of_idle_processes";
  result("otp.dist.global_register_per_s", "ops/s", rates, how + "_until_every_call_returned");
  result("otp.dist.global_register_converged_per_s", "ops/s", converged,
         how + "_until_every_node_sees_every_name");
}

// -- a node holding 100k names: bytes per name, a node joining, the node going away ---------------

void bench_churn(size_t reps, size_t names) {
  constexpr size_t kNodes = 5;
  std::vector<double> bytes, replica_bytes, join_ms, gone_ms, stall_ms, reg_rate;
  const std::string n_names = std::to_string(names);
  for (size_t rep = 1; rep <= reps; ++rep) {
    Members ms = full_mesh("churn" + std::to_string(rep) + "n", kNodes);
    Member& owner = *ms.back();
    auto holders = start_holders(owner, names);
    std::vector<std::string> keys;
    keys.reserve(names);
    for (size_t i = 0; i < names; ++i) keys.push_back("churn_name_" + std::to_string(i));
    std::this_thread::sleep_for(100ms);
    const double heap0 = heap_in_use(), rss0 = rss_bytes();
    auto t0 = Clock::now();
    for (size_t i = 0; i < names; ++i)
      if (auto r = otp::global::register_name(*owner.node, keys[i], holders[i]); !r)
        die("register " + keys[i] + ": " + r.error().to_string());
    auto t1 = Clock::now();
    wait_until(
        [&] {
          for (auto& m : ms)
            if (!m->whereis(keys.back())) return false;
          return true;
        },
        60s, "the names on every node");
    std::this_thread::sleep_for(200ms);  // link buffers drained and freed
    const double heap1 = heap_in_use(), rss1 = rss_bytes();
    bytes.push_back((heap1 - heap0) / static_cast<double>(names) / kNodes);
    reg_rate.push_back(static_cast<double>(names) / seconds_between(t0, t1));

    // A node joins: it dials all five; each sends it a sync of the names it owns.
    Member joiner("churn" + std::to_string(rep) + "join");
    std::this_thread::sleep_for(100ms);
    const double heap2 = heap_in_use();
    auto t2 = Clock::now();
    for (auto& m : ms)
      if (!joiner.cluster->connect(m->address())) die("connect the joiner");
    // A sync is applied at once when its last part arrives: the last name there means all.
    wait_until([&] { return joiner.whereis(keys.back()).has_value(); }, 60s, "names on joiner");
    auto t3 = Clock::now();
    if (otp::global::registered_names(*joiner.node).size() != names)
      die("the joiner does not hold every name");
    std::this_thread::sleep_for(200ms);
    replica_bytes.push_back((heap_in_use() - heap2) / static_cast<double>(names));
    join_ms.push_back(seconds_between(t2, t3) * 1e3);

    // The owner goes away: its links close (a kill -9's close the same way; a hung host would
    // first need the failure detector's bound). Meanwhile a reader on a survivor looks up a name
    // of its own every 200 us: how long can a whereis (and so a call by global name) wait while
    // the 100k names are dropped?
    otp::Inbox probe_holder(*ms[0]->node);
    must(otp::global::register_name(*ms[0]->node, "probe", probe_holder.pid()), "probe");
    wait_until(
        [&] {
          for (auto& m : ms)
            if (!m->whereis("probe")) return false;
          return joiner.whereis("probe").has_value();
        },
        10s, "probe everywhere");
    std::atomic<bool> reading{true};
    double longest_ns = 0;
    std::thread reader([&] {
      while (reading.load()) {
        auto t = Clock::now();
        if (!ms[0]->whereis("probe")) die("probe lost");
        longest_ns = std::max(longest_ns, static_cast<double>(ns_since(t, Clock::now())));
        std::this_thread::sleep_for(200us);
      }
    });
    std::this_thread::sleep_for(20ms);
    auto t4 = Clock::now();
    owner.cluster->stop();
    std::vector<Member*> survivors{&joiner};
    for (size_t i = 0; i + 1 < ms.size(); ++i) survivors.push_back(ms[i].get());
    // A nodedown drops the node's names in parts of a few thousand, in no particular order: a
    // sample of them first (cheap to poll), then the whole table (probe is all that stays).
    wait_until(
        [&] {
          for (auto* m : survivors)
            for (size_t k = 0; k < keys.size(); k += 997)
              if (m->whereis(keys[k])) return false;
          return true;
        },
        60s, "a sample of the names gone from every survivor");
    wait_until(
        [&] {
          for (auto* m : survivors)
            if (otp::global::registered_names(*m->node).size() != 1) return false;
          return true;
        },
        60s, "the names gone from every survivor");
    auto t5 = Clock::now();
    std::this_thread::sleep_for(20ms);
    reading = false;
    reader.join();
    // Every survivor holds "probe" only. Under load a survivor's transport thread, busy dropping
    // the names, may close healthy links by heartbeat timeout: the names of those peers (probe)
    // go with them and come back when the link is redialed and the peers resync.
    uint64_t timeouts = 0;
    for (auto* m : survivors) {
      timeouts += m->cluster->stats().heartbeat_timeouts;
      auto left = otp::global::registered_names(*m->node);
      if (left.size() > 1 || (left.size() == 1 && left[0] != "probe"))
        die(m->name + " holds " + std::to_string(left.size()) + " names (probe only expected), " +
            "the first " + left.front() + ", the last " + left.back());
      if (left.empty()) {
        std::fprintf(stderr, "# global churn rep %zu: %s lost probe (links closed meanwhile)\n",
                     rep, m->name.c_str());
        wait_until([&] { return m->whereis("probe").has_value(); }, 30s,
                   "probe back on " + m->name);
      }
    }
    gone_ms.push_back(seconds_between(t4, t5) * 1e3);
    stall_ms.push_back(longest_ns / 1e6);
    std::fprintf(stderr,
                 "# global churn rep %zu: %zu names registered from 1 thread at %.0f/s; heap "
                 "+%.0f B/name/node (RSS +%.0f); joiner had them all in %.1f ms (+%.0f B/name); "
                 "gone from the %zu survivors %.1f ms after stop (longest whereis meanwhile "
                 "%.1f ms; links closed by heartbeat timeout in this rep: %llu)\n",
                 rep, names, reg_rate.back(), bytes.back(),
                 (rss1 - rss0) / static_cast<double>(names) / kNodes, join_ms.back(),
                 replica_bytes.back(), survivors.size(), gone_ms.back(), stall_ms.back(),
                 static_cast<unsigned long long>(timeouts));
  }
  result("otp.dist.global_bytes_per_name", "bytes", bytes,
         std::string(heap_counter()) + "_growth_over_registering_" + n_names +
             "_names_on_5_nodes_/names/5_owner_and_4_replicas");
  result("otp.dist.global_bytes_per_name_replica", "bytes", replica_bytes,
         std::string(heap_counter()) + "_growth_over_a_6th_node_joining_/names");
  result("otp.dist.global_join_100k_ms", "ms", join_ms,
         "a_node_connecting_to_5_nodes_holding_" + n_names + "_names_until_it_has_them_all");
  result("otp.dist.global_node_gone_100k_ms", "ms", gone_ms,
         "Cluster::stop_of_the_node_owning_" + n_names +
             "_names_until_5_survivors_dropped_them_all_links_closed_no_detection_wait");
  result("otp.dist.global_whereis_longest_during_drop_ms", "ms", stall_ms,
         "longest_whereis_of_another_name_on_a_survivor_polled_every_200us_while_it_drops_" +
             n_names + "_names");
  result("otp.dist.global_register_1_thread_per_s", "ops/s", reg_rate,
         "register_name_in_a_loop_from_1_thread_on_5_nodes_until_calls_returned");
}

}  // namespace

int main() {
  auto maxlife = std::chrono::seconds(env_long("OTP_BENCH_MAXLIFE_S", 300));
  std::thread([maxlife] {
    std::this_thread::sleep_for(maxlife);
    std::fprintf(stderr, "otp-bench-global: still running after %lld s, giving up\n",
                 static_cast<long long>(maxlife.count()));
    std::_Exit(3);
  }).detach();
  auto reps = static_cast<size_t>(env_long("OTP_BENCH_REPS", 5));
  auto dur = std::chrono::milliseconds(env_long("OTP_BENCH_DUR_MS", 2000));
  auto samples = static_cast<size_t>(env_long("OTP_BENCH_GLOBAL_SAMPLES", 200));
  auto names = static_cast<size_t>(env_long("OTP_BENCH_GLOBAL_NAMES", 100000));
  auto callers = static_cast<size_t>(env_long("OTP_BENCH_GLOBAL_CALLERS", 100));
  auto rate_reps = static_cast<size_t>(env_long("OTP_BENCH_GLOBAL_RATE_REPS", 3));
  auto churn_reps = static_cast<size_t>(env_long("OTP_BENCH_GLOBAL_CHURN_REPS", 3));
  auto nodes = static_cast<size_t>(env_long("OTP_BENCH_GLOBAL_NODES", 3));
  if (callers < 5 || names < callers) die("need at least 5 callers and a name per caller");
  if (nodes < 3) die("OTP_BENCH_GLOBAL_NODES: at least 3 (a, b and c)");

  if (wanted("global_call") || wanted("global_register") || wanted("global_whereis")) {
    Members abc = full_mesh("g", nodes);  // g1 = a, g2 = b, g3 = c
    if (wanted("global_call")) bench_call(*abc[0], *abc[1], reps, dur);
    if (wanted("global_register")) bench_register(*abc[0], *abc[2], nodes, reps, samples);
    if (wanted("global_whereis")) bench_whereis(*abc[0], *abc[1], reps);
  }
  if (wanted("global_rate")) bench_rate(rate_reps, names, callers);
  if (wanted("global_churn")) bench_churn(churn_reps, names);
  return 0;
}
