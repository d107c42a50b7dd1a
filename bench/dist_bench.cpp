// otp-bench-dist: distribution figures between two node processes on loopback, measured the
// way the Erlang anchor (anchor_dist.erl, an optional external input: see docs/performance.md)
// measures erl_dist.*: this program is node "a" and starts otp-node processes (default CPU
// placement, default transport settings).
//
//   otp.dist.call_median_us / call_rt_per_s   sequential calls from one client process on a to
//                                             {echo, b}, 5 s timeout armed
//   otp.dist.cast_msgs_per_s                  casts from one process to {counter, b}, counted
//                                             when b has processed them all
//   otp.dist.nodedown_kill9_ms                kill -9 of b -> a's nodedown
//   otp.dist.nodedown_sigstop_ms              SIGSTOP of b -> a's nodedown (heartbeats)
//
// Usage: otp-bench-dist [path/to/otp-node]. Tunables (environment): OTP_BENCH_REPS=5,
// OTP_BENCH_DUR_MS=2000, OTP_BENCH_CASTS=200000, OTP_BENCH_DOWN_REPS=3,
// OTP_BENCH_ONLY=call,cast,nodedown, OTP_BENCH_MAXLIFE_S=300.
#include <signal.h>

#include <thread>

#include "bench_support.hpp"
#include "call_client.hpp"
#include "otp/cluster/cluster.hpp"
#include "otp/distributed.hpp"
#include "otp/testkit/child_process.hpp"
#include "services/cluster_services.hpp"

namespace {

using namespace otp_bench;
using namespace std::chrono_literals;

constexpr const char* kCookie = "otp-bench-dist";
std::string otp_node_bin = OTP_NODE_BIN;

/// An otp-node process with default settings. It listens on a port the kernel picks (read back
/// from its "ready ... port=N" line): a port chosen here could be an ephemeral one in use.
struct Peer {
  explicit Peer(const std::string& name)
      : name(name),
        process({otp_node_bin, "--name", name, "--listen", "127.0.0.1:0", "--cookie", kCookie,
                 "--max-seconds", "600"}) {
    auto ready = process.wait_line("ready ", 20s);
    if (!ready) die("otp-node " + name + " did not start");
    const auto at = ready->find(" port=");
    if (at == std::string::npos) die("otp-node " + name + ": no port in its ready line: " + *ready);
    port = static_cast<uint16_t>(std::stoi(ready->substr(at + 6)));
  }
  std::string full_name() const { return name + "@127.0.0.1"; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
  std::string name;
  uint16_t port = 0;
  otp::testkit::ChildProcess process;
};

struct Blast {
  otp::ServerRef target;
  uint64_t n;
  otp::Pid report;
};
struct Sent {};

class Caster : public otp::GenServer {
 public:
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const Blast& b) {
      for (uint64_t i = 0; i < b.n; ++i)
        otp::gen_server::cast(node(), b.target, services::Increment{1});
      otp::send(b.report, Sent{});
      return otp::noreply();
    });
  }
};

void bench_call(otp::Node& node, otp::Inbox& inbox, const Peer& b, size_t reps,
                std::chrono::milliseconds dur) {
  auto caller = otp::gen_server::start<Caller>(node);
  if (!caller) die("start Caller: " + caller.error().to_string());
  // The echo pid (not the name) so the figure is one call, not a name lookup plus a call.
  auto echo = otp::gen_server::call<otp::Pid>(node, otp::remote_name("echo", b.full_name()),
                                              services::WhoAmI{});
  if (!echo) die("who is echo: " + echo.error().to_string());
  std::vector<double> rates, lats;
  for (size_t i = 0; i <= reps; ++i) {
    auto d = i == 0 ? std::chrono::milliseconds(300) : dur;  // a warm-up first
    otp::gen_server::cast(node, *caller, RunCalls{*echo, d, inbox.pid()});
    auto rep = inbox.receive_as<CallRep>(d + 30s);
    if (!rep) die("call rep: no report");
    if (!rep->error.empty()) die("call rep: " + rep->error);
    if (i == 0) continue;
    double rate = static_cast<double>(rep->calls) / rep->seconds;
    double lat = median_us(rep->lat_ns);
    std::fprintf(stderr, "# dist call rep %zu: %.0f calls/s, median %.2f us\n", i, rate, lat);
    rates.push_back(rate);
    lats.push_back(lat);
  }
  std::string how = "seq_await_call_from_1_process_to_pid_on_other_os_process_5s_timeout";
  result("otp.dist.call_rt_per_s", "ops/s", rates, how);
  result("otp.dist.call_median_us", "us", lats, "median_of_per_rep_medians_" + how);
}

void bench_cast(otp::Node& node, otp::Inbox& inbox, const Peer& b, size_t reps, uint64_t n) {
  auto caster = otp::gen_server::start<Caster>(node);
  if (!caster) die("start Caster: " + caster.error().to_string());
  auto counter = otp::remote_name("counter", b.full_name());
  std::vector<double> rates;
  int total = otp::gen_server::call<int>(node, counter, services::Get{}).value();
  for (size_t i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    otp::gen_server::cast(node, *caster, Blast{counter, n, inbox.pid()});
    if (!inbox.receive_as<Sent>(120s)) die("cast rep: the sender did not finish");
    total += static_cast<int>(n);
    // Counted when b has processed them all: its counter reaches the total (the call queues
    // behind the casts on the same link).
    auto got = otp::gen_server::call<int>(node, counter, services::Get{}, 120s);
    if (!got || *got != total)
      die("cast rep: counter " + (got ? std::to_string(*got) : got.error().to_string()) +
          ", expected " + std::to_string(total));
    double rate = static_cast<double>(n) / seconds_between(t0, Clock::now());
    std::fprintf(stderr, "# dist cast rep %zu: %.0f casts/s\n", i + 1, rate);
    rates.push_back(rate);
  }
  result(
      "otp.dist.cast_msgs_per_s", "msgs/s", rates,
      "casts_from_1_process_to_name_on_other_os_process_until_all_processed_n" + std::to_string(n));
}

/// ms from sending sig to b until a's nodedown for b.
double nodedown_after(otp::Node& node, otp::cluster::Cluster& cluster, otp::Inbox& events,
                      int sig) {
  static int peers = 0;  // each a fresh node name: a restarted name would be a new incarnation
  Peer b("down" + std::to_string(sig) + "_" + std::to_string(++peers));
  if (!cluster.connect(b.address())) die("connect");
  for (;;) {
    auto up = events.receive_as<otp::NodeUp>(20s);
    if (!up) die("no nodeup from " + b.full_name());
    if (up->node == b.full_name()) break;
  }
  (void)node;
  auto t0 = Clock::now();
  b.process.signal(sig);
  for (;;) {
    auto down = events.receive_as<otp::NodeDown>(60s);
    if (!down) die("no nodedown for " + b.full_name());
    if (down->node == b.full_name()) break;
  }
  double ms = seconds_between(t0, Clock::now()) * 1000;
  b.process.kill_now();
  return ms;
}

void bench_nodedown(otp::Node& node, otp::cluster::Cluster& cluster, otp::Inbox& events,
                    size_t reps) {
  std::vector<double> kill9, sigstop;
  for (size_t i = 0; i < reps; ++i) {
    kill9.push_back(nodedown_after(node, cluster, events, SIGKILL));
    sigstop.push_back(nodedown_after(node, cluster, events, SIGSTOP));
    std::fprintf(stderr, "# nodedown rep %zu: kill -9 %.1f ms, SIGSTOP %.1f ms\n", i + 1,
                 kill9.back(), sigstop.back());
  }
  result("otp.dist.nodedown_kill9_ms", "ms", kill9, "kill9_to_nodedown_default_settings");
  result("otp.dist.nodedown_sigstop_ms", "ms", sigstop,
         "sigstop_to_nodedown_default_heartbeat_settings");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) otp_node_bin = argv[1];
  auto maxlife = std::chrono::seconds(env_long("OTP_BENCH_MAXLIFE_S", 300));
  std::thread([maxlife] {
    std::this_thread::sleep_for(maxlife);
    std::fprintf(stderr, "otp-bench-dist: still running after %lld s, giving up\n",
                 static_cast<long long>(maxlife.count()));
    std::_Exit(3);
  }).detach();
  auto reps = static_cast<size_t>(env_long("OTP_BENCH_REPS", 5));
  auto dur = std::chrono::milliseconds(env_long("OTP_BENCH_DUR_MS", 2000));
  auto casts = static_cast<uint64_t>(env_long("OTP_BENCH_CASTS", 200000));
  auto down_reps = static_cast<size_t>(env_long("OTP_BENCH_DOWN_REPS", 3));

  services::register_types();
  otp::Node node({.name = "a", .log_crashes = false});
  auto cluster = otp::cluster::Cluster::start(node, {.name = "a", .cookie = kCookie});
  if (!cluster) die(cluster.error().to_string());
  otp::Inbox inbox(node);
  otp::Inbox events(node);
  otp::distribution::monitor_nodes(node, events.pid());
  {
    Peer b("b");
    if (!(*cluster)->connect(b.address())) die("connect to b");
    if (!events.receive_as<otp::NodeUp>(20s)) die("no nodeup from b");
    if (wanted("call")) bench_call(node, inbox, b, reps, dur);
    if (wanted("cast")) bench_cast(node, inbox, b, reps, casts);
  }
  if (wanted("nodedown")) bench_nodedown(node, **cluster, events, down_reps);
  (*cluster)->stop();
  return 0;
}
