// otp-node: one distributed node running the cluster services (counter, echo, relay, and the
// control service otp-ctl talks to) under a supervisor, and optionally counters under global names
// (otp/global.hpp) under a second one. It prints one line when it is ready to be talked to, logs
// node, membership and global name events, and stops cleanly on SIGTERM / SIGINT (leaving the
// membership gracefully).
//
//   otp-node --name a --listen 127.0.0.1:7001 --cookie secret
//   otp-node --name b --listen 127.0.0.1:7002 --cookie secret --connect 127.0.0.1:7001
//   # gossip membership: nodes find each other through a seed and link on their own
//   otp-node --name a --listen 127.0.0.1:7001 --gossip 127.0.0.1:7101 --cookie secret
//   otp-node --name b --listen 127.0.0.1:7002 --gossip 7102 --seeds 127.0.0.1:7101 --cookie secret
//   # a counter any node calls as otp::global_name("gc"), restarted (name and all) on a crash
//   otp-node --name c --gossip 0 --seeds 127.0.0.1:7101 --cookie secret --global-counter gc
//   # one counter kept alive in the cluster: every node runs a standby for the name
//   otp-node --name d --gossip 0 --seeds 127.0.0.1:7101 --cookie secret --standby-counter counter
//
// stdout, one line per event, flushed at once (tests and benchmarks timestamp them):
//   ready a@127.0.0.1#<creation> port=<port> [gossip=<port>] [http=<port>]
//   nodeup <node> / nodedown <node> <reason>
//   member <joined|suspect|alive|failed|left|updated> <name@host> inc=<n> gossip=<h:p> data=<h:p>
//   members <count> <name@host>=<state> ...       (self included; on SIGUSR1)
//   membership-stats probes=<n> probes_failed=<n> indirect_probes=<n> nacks=<n> refutations=<n>
//                    stalls=<n>                    (this node's counters so far; on SIGUSR1)
//   global registered <name> <owner pid> <owner node>     (each change of this node's replica
//   global unregistered <name> <owner pid> <owner node>    of the global name table)
//   global conflict <name> <loser pid> lost to <winner pid>
//   globals <count> <name>=<owner pid> ...        (this node's replica, sorted; on SIGUSR1)
//   supervisor <services|global|standby> down <reason>    (a supervisor of this node exited)
//   control ok <command> / control error <command>: <why>  (--control-stdin: the answers of the
//                                                 test kit's control channel, and their lines)
//   stopped
// Pids in global lines are written as every node writes them, <name@host.N.0> (the form of a
// remote pid), so the lines of different nodes compare as text. With --http the ready line ends
// in http=<port>.
//
// Defaults for containers (replicas of one command line): --name is the host name, --host the
// address of --listen's host, or (no host, or 0.0.0.0) this host's own non-loopback address
// (apps/cli/defaults.hpp); a node that advertises a loopback address while a seed or --connect
// target is not on loopback says so on stderr. The cookie: --cookie, else --cookie-file (its
// first line), else $OTP_COOKIE_FILE, else $OTP_COOKIE.
//
// stderr: the same events, one line each, as text or JSON (--log-format), with node, peer and
// reason fields, and the transport's and membership's warnings (rejected links, send errors,
// bad gossip input and why) as event "log" (otp/cluster/event_log.hpp).
//
// --http [HOST:]PORT serves GET /health and /metrics (otp/cluster/http_endpoint.hpp); /health
// says 503 from the moment SIGTERM starts the graceful leave.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/defaults.hpp"
#include "cli/parse.hpp"
#include "otp/cluster/cluster.hpp"
#include "otp/cluster/control_channel.hpp"
#include "otp/cluster/event_log.hpp"
#include "otp/cluster/faults.hpp"
#include "otp/cluster/host_port.hpp"
#include "otp/cluster/http_endpoint.hpp"
#include "otp/distributed.hpp"
#include "services/cluster_services.hpp"
#include "services/control_service.hpp"
#include "services/counter_standby.hpp"

namespace {

std::atomic<bool> stop_requested{false};
std::atomic<bool> members_requested{false};

void on_signal(int) {
  stop_requested = true;
}
void on_usr1(int) {
  members_requested = true;
}

/// The flags of this node's supervisors: generous, so a test crashing a service again and again
/// does not take the node down.
const otp::SupervisorOptions kSupervisorFlags{.strategy = otp::Strategy::one_for_one,
                                              .max_restarts = 100,
                                              .max_time = std::chrono::seconds(10)};

/// stdout lines come from the main thread and the membership thread: one lock, whole lines.
std::mutex out_mx;
void print_line(const std::string& line) {
  std::lock_guard<std::mutex> g(out_mx);
  std::cout << line << "\n" << std::flush;
}

/// The stderr event log (--log-format); set once in main before any thread uses it.
const otp::cluster::EventLog* event_log = nullptr;

/// A stdout line and its stderr event: event name and fields (node is added by the log).
void print_event(const std::string& line, std::string_view event,
                 std::initializer_list<otp::cluster::LogField> fields,
                 std::string_view level = "info") {
  print_line(line);
  if (event_log) event_log->write(level, event, fields);
}

struct Options {
  otp::cluster::ClusterOptions cluster;
  std::vector<std::string> connect;
  std::optional<std::chrono::seconds> max_run;
  size_t threads = 0;
  std::chrono::microseconds scheduler_spin = otp::NodeOptions{}.scheduler_spin;
  std::vector<std::string> global_counters;
  otp::Restart global_restart = otp::Restart::permanent;
  std::vector<std::string> standby_counters;
  std::optional<otp::cluster::HttpOptions> http;
  otp::cluster::LogFormat log_format = otp::cluster::LogFormat::text;
  bool control_stdin = false;
};

// The flag reference beyond each flag's own line (otp-node --help prints it after them).
const char* kFooter =
    "--scheduler-spin-us: how long an idle scheduler thread spins before it sleeps (0 saves CPU\n"
    "on an idle node, at the cost of latency). --gossip runs SWIM membership on that UDP+TCP port\n"
    "(0: any); --seeds are host:port (DNS names allowed, re-resolved). The timing flags override\n"
    "membership defaults (otp/membership/options.hpp). SIGUSR1 prints the member list and the\n"
    "global names. With --gossip, membership closes the links and --dead-link-ms is replaced by\n"
    "--gossip-dead-link-ms (default 10000), a backstop (otp/cluster/cluster.hpp).\n"
    "--global-counter runs a counter (the counter service's calls, plus call Crash) as\n"
    "otp::global_name(NAME), a child of a supervisor of its own; a crash restarts it and the name\n"
    "comes back. Its value outlives the restarts. If the name is held elsewhere it is not started\n"
    "(stderr says so). --global-restart is its restart type (transient: not restarted after a\n"
    "clean exit, such as losing a name conflict).\n"
    "--standby-counter runs a standby that keeps one counter alive in the cluster under\n"
    "otp::global_name(NAME): when no node holds the name, one standby starts a counter on its\n"
    "node (from 0) and registers it (apps/services/counter_standby.hpp). Run it on every node.\n"
    "--http serves GET /health (200 while serving, 503 while leaving) and GET /metrics\n"
    "(Prometheus text; docs/operations.md) on [HOST:]PORT; HOST defaults to the --listen host, "
    "and\n"
    "with port 0 the ready line ends in http=<port>. --log-format: stderr lines as text or json,\n"
    "one per event, with node, peer and reason fields.\n"
    "--control-stdin: the test kit (otp/testkit/process_cluster.hpp) drives this node through\n"
    "stdin: fault set/clear (its fault-injection seam), members, nodes, globals; the end of\n"
    "stdin stops the node.\n"
    "Exit status: 0 after a clean stop, 1 when the node cannot start, 2 on a usage error.\n";

/// The gossip section, created by the first gossip flag.
otp::cluster::GossipOptions& gossip(Options& o) {
  if (!o.cluster.gossip) o.cluster.gossip.emplace();
  return *o.cluster.gossip;
}

/// otp::cluster::parse_host_port, failing as a CLI11 validator does.
otp::cluster::HostPort host_port(const std::string& flag, const std::string& v) {
  auto parsed = otp::cluster::parse_host_port(v);
  if (!parsed) throw CLI::ValidationError(flag, parsed.error().context());
  return std::move(parsed).value();
}

/// The failure detector's counters: a benchmark divides suspicions by probes with them.
std::string membership_stats(const otp::membership::Stats& s) {
  return "membership-stats probes=" + std::to_string(s.probes) +
         " probes_failed=" + std::to_string(s.probes_failed) +
         " indirect_probes=" + std::to_string(s.indirect_probes) +
         " nacks=" + std::to_string(s.nacks_received) +
         " refutations=" + std::to_string(s.refutations) + " stalls=" + std::to_string(s.stalls);
}

/// A whole number >= 0 (CLI11's NonNegativeNumber says "not in range 0 to 1.79e308").
const CLI::Validator kNonNegative(
    [](std::string& v) -> std::string {
      try {
        size_t used = 0;
        if (std::stol(v, &used) >= 0 && used == v.size()) return "";
      } catch (const std::exception&) {
      }
      return "needs a whole number >= 0, got '" + v + "'";
    },
    "N>=0");

/// A non-negative number of milliseconds, handed to `set`.
void add_ms(CLI::App& app, const std::string& flag, const std::string& what,
            std::function<void(std::chrono::milliseconds)> set) {
  app.add_option_function<long>(
         flag, [set](long v) { set(std::chrono::milliseconds(v)); }, what)
      ->type_name("MS")
      ->check(kNonNegative);
}

/// A flag given once per (non-empty) global name.
void add_names(CLI::App& app, const std::string& flag, std::vector<std::string>& names,
               const std::string& what) {
  app.add_option(flag, names, what)
      ->type_name("NAME")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check([](const std::string& v) { return v.empty() ? std::string("needs a name") : ""; });
}

/// Parses the command line; a usage error prints one line saying why and exits with 2.
Options parse(int argc, char** argv) {
  Options o;
  o.cluster.name.clear();
  auto& t = o.cluster.transport;
  CLI::App app("otp-node: one distributed node running the cluster services.", "otp-node");
  app.footer(kFooter);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.get_formatter()->column_width(34);

  app.add_option("--name", o.cluster.name, "this node's name (NAME@HOST); default: the host name");
  auto* host = app.add_option("--host", o.cluster.host,
                              "the address others dial (the HOST of NAME@HOST); default: "
                              "--listen's host, else this host's own address");
  app.add_option_function<std::string>(
         "--listen",
         [&](const std::string& v) {
           auto [host, port] = host_port("--listen", v);
           if (!host.empty()) o.cluster.listen_host = host;
           o.cluster.port = port;
         },
         "the TCP data port (0: any) and the address it binds")
      ->type_name("[HOST:]PORT");
  std::string cookie_file;
  auto* cookie =
      app.add_option("--cookie", o.cluster.cookie, "the cluster secret")->type_name("SECRET");
  app.add_option("--cookie-file", cookie_file, "a file whose first line is the cluster secret")
      ->type_name("FILE")
      ->excludes(cookie);
  app.add_option("--cluster", o.cluster.cluster,
                 "the cluster's name (nodes of others are refused)");
  app.add_option("--connect", o.connect, "dial this node (and redial it while it is down)")
      ->type_name("HOST:PORT")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--threads", o.threads, "scheduler threads (0: one per core)")
      ->check(kNonNegative);
  app.add_option_function<long>(
         "--scheduler-spin-us", [&](long v) { o.scheduler_spin = std::chrono::microseconds(v); },
         "idle scheduler spin before sleeping (default 100)")
      ->type_name("US")
      ->check(kNonNegative);
  add_ms(app, "--heartbeat-ms", "link heartbeat interval",
         [&](auto v) { t.heartbeat_interval = v; });
  add_ms(app, "--dead-link-ms", "a link silent this long is closed",
         [&](auto v) { t.dead_link_timeout = v; });
  add_ms(app, "--handshake-timeout-ms", "bound on a link's handshake",
         [&](auto v) { t.handshake_timeout = v; });
  app.add_option("--max-frame-bytes", t.max_frame_size, "largest frame a link accepts")
      ->check(kNonNegative);
  app.add_option_function<long>(
         "--max-seconds", [&](long v) { o.max_run = std::chrono::seconds(v); },
         "stop after this many seconds (tests)")
      ->type_name("S")
      ->check(kNonNegative);
  app.add_option_function<std::string>(
         "--gossip",
         [&](const std::string& v) {
           auto [host, port] = host_port("--gossip", v);
           auto& g = gossip(o);
           if (!host.empty()) g.listen_host = host;
           g.port = port;
         },
         "run SWIM membership on this UDP+TCP port (0: any)")
      ->type_name("[HOST:]PORT");
  app.add_option_function<std::vector<std::string>>(
         "--seeds",
         [&](const std::vector<std::string>& seeds) {
           for (const auto& seed : seeds) {
             if (!seed.empty()) gossip(o).seeds.push_back(seed);
           }
         },
         "members to join through (DNS names allowed, re-resolved)")
      ->type_name("HOST:PORT,...")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  add_ms(app, "--probe-interval-ms", "SWIM probe interval",
         [&](auto v) { gossip(o).membership.probe_interval = v; });
  add_ms(app, "--probe-timeout-ms", "SWIM probe timeout",
         [&](auto v) { gossip(o).membership.probe_timeout = v; });
  app.add_option_function<long>(
         "--suspicion-mult",
         [&](long v) { gossip(o).membership.suspicion_mult = static_cast<uint32_t>(v); },
         "SWIM suspicion timeout multiplier")
      ->type_name("N")
      ->check(kNonNegative);
  add_ms(app, "--gossip-interval-ms", "SWIM gossip interval",
         [&](auto v) { gossip(o).membership.gossip_interval = v; });
  add_ms(app, "--push-pull-ms", "SWIM full state exchange interval",
         [&](auto v) { gossip(o).membership.push_pull_interval = v; });
  add_ms(app, "--reconnect-ms", "how often a failed member is dialled again",
         [&](auto v) { gossip(o).membership.reconnect_interval = v; });
  add_ms(app, "--leave-timeout-ms", "bound on the graceful leave at stop",
         [&](auto v) { gossip(o).leave_timeout = v; });
  add_ms(app, "--gossip-dead-link-ms", "the link backstop under gossip (default 10000)",
         [&](auto v) { o.cluster.gossip_dead_link_timeout = v; });
  add_ms(app, "--address-check-ms", "how often this host's address is checked for a change",
         [&](auto v) { gossip(o).address_check_interval = v; });
  add_names(app, "--global-counter", o.global_counters, "run a counter under this global name");
  app.add_option("--global-restart", o.global_restart, "the global counters' restart type")
      ->type_name("permanent|transient")
      ->transform(CLI::CheckedTransformer(std::map<std::string, otp::Restart>{
          {"permanent", otp::Restart::permanent}, {"transient", otp::Restart::transient}}));
  add_names(app, "--standby-counter", o.standby_counters,
            "keep one counter alive in the cluster under this global name");
  app.add_option_function<std::string>(
         "--http",
         [&](const std::string& v) {
           auto [host, port] = host_port("--http", v);
           o.http = otp::cluster::HttpOptions{.host = host, .port = port};
         },
         "serve /health and /metrics here (HOST: the --listen host)")
      ->type_name("[HOST:]PORT");
  app.add_flag("--control-stdin", o.control_stdin,
               "take the test kit's control commands on stdin (otp/cluster/control_channel.hpp)");
  app.add_option("--log-format", o.log_format, "stderr event lines: text (default) or json")
      ->type_name("text|json")
      ->transform(CLI::CheckedTransformer(std::map<std::string, otp::cluster::LogFormat>{
          {"text", otp::cluster::LogFormat::text}, {"json", otp::cluster::LogFormat::json}}));
  cli::parse_or_exit(app, argc, argv);
  auto cookie_value = cli::resolve_cookie(o.cluster.cookie, cookie_file);
  if (!cookie_value) cli::usage_error(app, cookie_value.error().context());
  o.cluster.cookie = std::move(cookie_value).value();
  // Replicas of one command line (a compose service) must become distinct, reachable nodes.
  if (o.cluster.name.empty()) o.cluster.name = cli::default_name();
  if (host->count() == 0) {
    const std::string& listen = o.cluster.listen_host;
    const bool wildcard =
        listen.empty() || listen == "0.0.0.0" || listen == "::" || listen == "[::]";
    o.cluster.host = wildcard ? cli::default_host() : listen;
  }
  if (o.http && o.http->host.empty()) {
    o.http->host = o.cluster.listen_host.empty() ? o.cluster.host : o.cluster.listen_host;
  }
  return o;
}

/// Prints this node's replica of the global name table as it changes (GlobalEvent messages of
/// otp::global::monitor_names), starting with what it holds already.
class GlobalLog {
 public:
  explicit GlobalLog(otp::Node& node) : node_(node) {}

  /// Call once monitor_names is in place: prints the names known so far. An event for a change
  /// made before the snapshot may still be on its way; it is not printed twice (see on_event).
  void snapshot() {
    for (const auto& name : otp::global::registered_names(node_)) {
      if (auto owner = otp::global::whereis_name(node_, name)) registered(name, *owner);
    }
  }

  void on_event(const otp::GlobalEvent& e) {
    switch (e.kind) {
      case otp::GlobalEvent::Kind::registered:
        registered(e.name, e.owner);
        break;
      case otp::GlobalEvent::Kind::unregistered: {
        // Only an owner that was printed: one printed by no line came and went before snapshot.
        auto it = shown_.find(e.name);
        if (it == shown_.end() || it->second != pid(e.owner)) break;
        print_event("global unregistered " + e.name + " " + it->second + " " + node_of(e.owner),
                    "global_unregistered",
                    {{"name", e.name}, {"owner", it->second}, {"peer", node_of(e.owner)}});
        shown_.erase(it);
        break;
      }
      case otp::GlobalEvent::Kind::conflict:
        print_event("global conflict " + e.name + " " + pid(e.owner) + " lost to " + pid(e.winner),
                    "global_conflict",
                    {{"name", e.name}, {"owner", pid(e.owner)}, {"winner", pid(e.winner)}},
                    "warning");
        break;
    }
  }

 private:
  void registered(const std::string& name, const otp::Pid& owner) {
    const std::string p = pid(owner);
    auto [it, fresh] = shown_.try_emplace(name, p);
    if (!fresh && it->second == p) return;  // the snapshot printed it already
    it->second = p;
    print_event("global registered " + name + " " + p + " " + node_of(owner), "global_registered",
                {{"name", name}, {"owner", p}, {"peer", node_of(owner)}});
  }
  std::string node_of(const otp::Pid& p) { return otp::distribution::node_of(node_, p); }
  /// <name@host.N.0> for every pid, local ones included.
  std::string pid(const otp::Pid& p) { return otp::cluster::pid_text(node_, p); }

  otp::Node& node_;
  std::map<std::string, std::string> shown_;  // name -> owner pid last printed as registered
};

}  // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  {
    std::vector<std::string> targets = options.connect;
    if (options.cluster.gossip) {
      const auto& seeds = options.cluster.gossip->seeds;
      targets.insert(targets.end(), seeds.begin(), seeds.end());
    }
    if (auto warning = cli::loopback_warning(options.cluster.host, targets))
      std::cerr << "otp-node: " << *warning << "\n";
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGUSR1, on_usr1);
  std::signal(SIGPIPE, SIG_IGN);

  // Named as the cluster will name it (name@host): transport and membership log through it from
  // their first line on.
  const otp::cluster::EventLog log(options.log_format,
                                   options.cluster.name + "@" + options.cluster.host);
  event_log = &log;
  options.cluster.transport.log = log.hook();

  services::register_types();
  services::register_control_types();
  // Crash and supervisor reports, the global registry's lines: through --log-format too.
  otp::Node node({.name = options.cluster.name,
                  .scheduler_threads = options.threads,
                  .scheduler_spin = options.scheduler_spin,
                  .log = log.hook()});
  auto sup = otp::supervisor::start_link(node, services::child_specs(), kSupervisorFlags);
  if (!sup) {
    std::cerr << "otp-node: services did not start: " << sup.error() << "\n";
    return 1;
  }
  // Membership events are printed on the membership thread, as they happen, from the first one
  // (a node joining through a seed learns members while start() runs).
  options.cluster.on_member_event = [](const otp::membership::Event& e) {
    const auto& m = e.member;
    print_event(otp::cluster::member_event_line(e), "member",
                {{"kind", otp::membership::to_string(e.kind)},
                 {"peer", m.id.full_name()},
                 {"incarnation", std::to_string(m.incarnation)},
                 {"gossip", m.gossip.to_string()},
                 {"data", m.meta.data.to_string()}},
                e.kind == otp::membership::EventKind::failed ? "warning" : "info");
  };
  // The test kit's control channel sets faults through this seam (null without the flag: no cost).
  std::shared_ptr<otp::cluster::FaultInjector> faults;
  if (options.control_stdin) {
    faults = std::make_shared<otp::cluster::FaultInjector>();
    options.cluster.faults = faults;
  }
  // Node events too: a link may come up while start() runs.
  otp::Inbox events(node);
  otp::distribution::monitor_nodes(node, events.pid());
  auto cluster = otp::cluster::Cluster::start(node, options.cluster);
  if (!cluster) {
    std::cerr << "otp-node: " << cluster.error() << "\n";
    return 1;
  }
  // otp-ctl's counterpart (apps/services/control_service.hpp), beside the other services.
  if (auto ctl = otp::supervisor::start_child(node, *sup, services::control_service(**cluster));
      !ctl) {
    std::cerr << "otp-node: the control service did not start: " << ctl.error() << "\n";
    return 1;
  }
  GlobalLog globals(node);
  otp::global::monitor_names(node, events.pid());
  globals.snapshot();
  events.monitor(*sup);
  std::optional<otp::Pid> global_sup;
  if (!options.global_counters.empty()) {
    // After the Cluster: a global name needs the node distributed. Children are added one by one
    // so a name held elsewhere (already_started) leaves the others and the node running.
    auto started = otp::supervisor::start_link(node, {}, kSupervisorFlags);
    if (!started) {
      std::cerr << "otp-node: the global supervisor did not start: " << started.error() << "\n";
      return 1;
    }
    global_sup = *started;
    events.monitor(*global_sup);
    for (const auto& name : options.global_counters) {
      auto child = otp::supervisor::start_child(
          node, *global_sup, services::global_counter(name, options.global_restart));
      if (!child)
        std::cerr << "otp-node: global counter " << name << " not started: " << child.error()
                  << "\n";
    }
  }
  std::optional<otp::Pid> standby_sup;
  if (!options.standby_counters.empty()) {
    // After the Cluster too: the standbys watch and register global names.
    std::vector<otp::ChildSpec> standbys;
    for (const auto& name : options.standby_counters)
      standbys.push_back(services::counter_standby(name, **cluster));
    auto started = otp::supervisor::start_link(node, std::move(standbys), kSupervisorFlags);
    if (!started) {
      std::cerr << "otp-node: the counter standbys did not start: " << started.error() << "\n";
      return 1;
    }
    standby_sup = *started;
    events.monitor(*standby_sup);
  }
  for (const auto& peer : options.connect) {
    if (auto r = (*cluster)->connect(peer); !r) {
      std::cerr << "otp-node: " << r.error() << "\n";
      return 2;
    }
  }
  std::unique_ptr<otp::cluster::HttpEndpoint> http;
  if (options.http) {
    auto started = otp::cluster::HttpEndpoint::start(*options.http, node, **cluster);
    if (!started) {
      std::cerr << "otp-node: " << started.error() << "\n";
      return 1;
    }
    http = std::move(started).value();
  }
  const std::string port = std::to_string((*cluster)->port());
  std::string ready = "ready " + (*cluster)->self().to_string() + " port=" + port;
  std::string gossip_port;
  if (auto g = (*cluster)->gossip_port()) {
    gossip_port = std::to_string(*g);
    ready += " gossip=" + gossip_port;
  }
  const std::string http_port = http ? std::to_string(http->port()) : "";
  if (http) ready += " http=" + http_port;
  print_event(ready, "ready",
              {{"creation", std::to_string((*cluster)->self().creation)},
               {"port", port},
               {"gossip", gossip_port},
               {"http", http_port}});

  // After the ready line: the kit sends its first command once it read that line.
  std::optional<otp::cluster::ControlCommands> commands;
  std::optional<otp::cluster::ControlChannel> channel;
  if (options.control_stdin) {
    commands.emplace(node, **cluster, faults);
    channel.emplace(*commands, print_line, [] { stop_requested = true; });
  }

  auto deadline = options.max_run ? std::chrono::steady_clock::now() + *options.max_run
                                  : std::chrono::steady_clock::time_point::max();
  while (!stop_requested && std::chrono::steady_clock::now() < deadline) {
    // Wakes for node events, and at least every 50 ms to notice a signal.
    auto m = events.receive(std::chrono::milliseconds(50));
    if (members_requested.exchange(false)) {
      print_line(otp::cluster::members_line((*cluster)->members()));
      if ((*cluster)->gossip_port()) print_line(membership_stats((*cluster)->membership_stats()));
      print_line(otp::cluster::globals_line(node));
    }
    if (!m) continue;
    if (const auto* up = m->get_if<otp::NodeUp>()) {
      print_event("nodeup " + up->node, "nodeup", {{"peer", up->node}});
    } else if (const auto* down = m->get_if<otp::NodeDown>()) {
      print_event("nodedown " + down->node + " " + down->reason, "nodedown",
                  {{"peer", down->node}, {"reason", down->reason}});
    } else if (const auto* e = m->get_if<otp::GlobalEvent>()) {
      globals.on_event(*e);
    } else if (const auto* gone = m->get_if<otp::Down>()) {
      const char* which = gone->pid == *sup                          ? "services"
                          : standby_sup && gone->pid == *standby_sup ? "standby"
                                                                     : "global";
      print_event(std::string("supervisor ") + which + " down " + gone->reason.to_string(),
                  "supervisor_down", {{"supervisor", which}, {"reason", gone->reason.to_string()}},
                  "error");
    }
  }
  channel.reset();
  log.write("info", "leaving");
  (*cluster)->stop();  // /health says 503 from its first step on
  if (http) http->stop();
  node.shutdown();
  print_event("stopped", "stopped", {});
  return 0;
}
