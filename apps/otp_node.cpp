// otp-node: one distributed node running the cluster services (counter, echo, relay) under a
// supervisor. It prints one line when it is ready to be talked to, logs node events, and stops
// cleanly on SIGTERM / SIGINT.
//
//   otp-node --name a --listen 127.0.0.1:7001 --cookie secret
//   otp-node --name b --listen 127.0.0.1:7002 --cookie secret --connect 127.0.0.1:7001
//
// stdout: "ready a@127.0.0.1#<creation> port=<port>", then "nodeup <node>" / "nodedown <node>
// <reason>" lines. Logs (rejected links and why) go to stderr.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "otp/cluster/cluster.hpp"
#include "otp/otp.hpp"
#include "services/cluster_services.hpp"

namespace {

std::atomic<bool> stop_requested{false};

void on_signal(int) {
  stop_requested = true;
}

struct Options {
  otp::cluster::ClusterConfig cluster;
  std::vector<std::string> connect;
  std::optional<std::chrono::seconds> max_run;
  size_t threads = 0;
};

const char* kUsage =
    "usage: otp-node --name NAME [--host HOST] [--listen [HOST:]PORT] --cookie SECRET\n"
    "                [--cluster NAME] [--connect HOST:PORT]... [--threads N]\n"
    "                [--heartbeat-ms N] [--dead-link-ms N] [--handshake-timeout-ms N]\n"
    "                [--max-frame-bytes N] [--max-seconds N]\n"
    "  --cookie defaults to $OTP_COOKIE. --max-seconds bounds the run (tests).\n";

[[noreturn]] void usage_error(const std::string& why) {
  std::cerr << "otp-node: " << why << "\n" << kUsage;
  std::exit(2);
}

long number(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    long n = std::stol(v, &used);
    if (used != v.size() || n < 0) throw std::invalid_argument(v);
    return n;
  } catch (const std::exception&) {
    usage_error(flag + " needs a non-negative number, got '" + v + "'");
  }
}

Options parse(int argc, char** argv) {
  Options o;
  o.cluster.name.clear();
  if (const char* c = std::getenv("OTP_COOKIE")) o.cluster.cookie = c;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (i + 1 >= argc) usage_error(flag + " needs a value");
    std::string v = argv[++i];
    auto& t = o.cluster.transport;
    if (flag == "--name") {
      o.cluster.name = v;
    } else if (flag == "--host") {
      o.cluster.host = v;
    } else if (flag == "--listen") {
      auto colon = v.rfind(':');
      if (colon != std::string::npos) o.cluster.listen_host = v.substr(0, colon);
      o.cluster.port =
          static_cast<uint16_t>(number(flag, colon == std::string::npos ? v : v.substr(colon + 1)));
    } else if (flag == "--cookie") {
      o.cluster.cookie = v;
    } else if (flag == "--cluster") {
      o.cluster.cluster = v;
    } else if (flag == "--connect") {
      o.connect.push_back(v);
    } else if (flag == "--threads") {
      o.threads = static_cast<size_t>(number(flag, v));
    } else if (flag == "--heartbeat-ms") {
      t.heartbeat_interval = std::chrono::milliseconds(number(flag, v));
    } else if (flag == "--dead-link-ms") {
      t.dead_link_timeout = std::chrono::milliseconds(number(flag, v));
    } else if (flag == "--handshake-timeout-ms") {
      t.handshake_timeout = std::chrono::milliseconds(number(flag, v));
    } else if (flag == "--max-frame-bytes") {
      t.max_frame_size = static_cast<uint32_t>(number(flag, v));
    } else if (flag == "--max-seconds") {
      o.max_run = std::chrono::seconds(number(flag, v));
    } else {
      usage_error("unknown option " + flag);
    }
  }
  if (o.cluster.name.empty()) usage_error("--name is required");
  if (o.cluster.cookie.empty()) usage_error("--cookie (or $OTP_COOKIE) is required");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  std::cout << std::unitbuf;
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  services::register_types();
  otp::Node node({.name = options.cluster.name, .scheduler_threads = options.threads});
  auto sup = otp::supervisor::start_link(node, services::child_specs(),
                                         {.strategy = otp::Strategy::one_for_one,
                                          .max_restarts = 100,
                                          .max_time = std::chrono::seconds(10)});
  if (!sup) {
    std::cerr << "otp-node: services did not start: " << sup.error() << "\n";
    return 1;
  }
  auto cluster = otp::cluster::Cluster::start(node, options.cluster);
  if (!cluster) {
    std::cerr << "otp-node: " << cluster.error() << "\n";
    return 1;
  }
  otp::Inbox events(node);
  otp::distribution::monitor_nodes(node, events.pid());
  for (const auto& peer : options.connect) {
    if (auto r = (*cluster)->connect(peer); !r) {
      std::cerr << "otp-node: " << r.error() << "\n";
      return 2;
    }
  }
  std::cout << "ready " << (*cluster)->self().to_string() << " port=" << (*cluster)->port() << "\n";

  auto deadline = options.max_run ? std::chrono::steady_clock::now() + *options.max_run
                                  : std::chrono::steady_clock::time_point::max();
  while (!stop_requested && std::chrono::steady_clock::now() < deadline) {
    // Wakes for node events, and at least every 100 ms to notice a signal.
    auto m = events.receive(std::chrono::milliseconds(100));
    if (!m) continue;
    if (const auto* up = m->get_if<otp::NodeUp>()) {
      std::cout << "nodeup " << up->node << "\n";
    } else if (const auto* down = m->get_if<otp::NodeDown>()) {
      std::cout << "nodedown " << down->node << " " << down->reason << "\n";
    }
  }
  (*cluster)->stop();
  node.shutdown();
  std::cout << "stopped\n";
  return 0;
}
