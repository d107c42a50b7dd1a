#include "otp/testkit/node_main.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "otp/cluster/control_channel.hpp"
#include "otp/cluster/faults.hpp"
#include "otp/cluster/host_port.hpp"
#include "otp/distributed.hpp"

namespace otp::testkit {

namespace {

std::atomic<bool> stop_requested{false};

void on_signal(int) {
  stop_requested = true;
}

/// stdout lines come from the main thread, the membership thread and the control channel's: one
/// lock, whole lines, flushed at once (the kit reads them as they come).
std::mutex out_mx;
void print_line(const std::string& line) {
  std::lock_guard<std::mutex> g(out_mx);
  std::cout << line << "\n" << std::flush;
}

struct Flags {
  otp::cluster::ClusterOptions cluster;
  std::optional<std::chrono::seconds> max_run;
  size_t threads = 1;
  bool control = false;
};

/// otp::cluster::parse_host_port; throws std::invalid_argument naming the flag.
otp::cluster::HostPort host_port(const std::string& flag, const std::string& v) {
  auto parsed = otp::cluster::parse_host_port(v);
  if (!parsed) throw std::invalid_argument(flag + " " + parsed.error().context());
  return std::move(parsed).value();
}

long whole_number(const std::string& flag, const std::string& v) {
  size_t used = 0;
  long n = -1;
  try {
    n = std::stol(v, &used);
  } catch (const std::exception&) {
  }
  if (v.empty() || used != v.size() || n < 0) {
    throw std::invalid_argument(flag + " needs a whole number >= 0, got '" + v + "'");
  }
  return n;
}

/// The kit's flags; others are left to the program (it reads argv itself).
Flags parse(int argc, char** argv) {
  Flags f;
  f.cluster.gossip.emplace();
  bool host_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--control-stdin") {
      f.control = true;
      continue;
    }
    static const std::vector<std::string> kWithValue = {"--name",        "--host",   "--listen",
                                                        "--gossip",      "--seeds",  "--cookie",
                                                        "--max-seconds", "--threads"};
    if (std::find(kWithValue.begin(), kWithValue.end(), flag) == kWithValue.end()) continue;
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
    const std::string v = argv[++i];
    if (flag == "--name") {
      f.cluster.name = v;
    } else if (flag == "--host") {
      f.cluster.host = v;
      host_given = true;
    } else if (flag == "--listen") {
      auto [host, port] = host_port(flag, v);
      if (!host.empty()) f.cluster.listen_host = host;
      f.cluster.port = port;
    } else if (flag == "--gossip") {
      auto [host, port] = host_port(flag, v);
      if (!host.empty()) f.cluster.gossip->listen_host = host;
      f.cluster.gossip->port = port;
    } else if (flag == "--seeds") {
      std::string rest = v;
      for (size_t comma; !rest.empty();
           rest.erase(0, comma == std::string::npos ? rest.size() : comma + 1)) {
        comma = rest.find(',');
        const std::string seed = rest.substr(0, comma);
        if (!seed.empty()) f.cluster.gossip->seeds.push_back(seed);
      }
    } else if (flag == "--cookie") {
      f.cluster.cookie = v;
    } else if (flag == "--max-seconds") {
      f.max_run = std::chrono::seconds(whole_number(flag, v));
    } else if (flag == "--threads") {
      f.threads = static_cast<size_t>(whole_number(flag, v));
    }
  }
  if (!host_given && !f.cluster.listen_host.empty()) f.cluster.host = f.cluster.listen_host;
  if (f.cluster.cookie.empty()) throw std::invalid_argument("--cookie is required");
  return f;
}

}  // namespace

int node_main(int argc, char** argv,
              std::function<void(otp::Node&, otp::cluster::Cluster&)> setup) {
  const std::string program = argc > 0 ? argv[0] : "node";
  Flags flags;
  try {
    flags = parse(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  auto faults = std::make_shared<otp::cluster::FaultInjector>();
  flags.cluster.faults = faults;
  flags.cluster.on_member_event = [](const otp::membership::Event& e) {
    print_line(otp::cluster::member_event_line(e));
  };
  otp::Node node({.name = flags.cluster.name, .scheduler_threads = flags.threads});
  otp::Inbox events(node);
  otp::distribution::monitor_nodes(node, events.pid());
  auto cluster = otp::cluster::Cluster::start(node, flags.cluster);
  if (!cluster) {
    std::cerr << program << ": " << cluster.error() << "\n";
    return 1;
  }
  try {
    if (setup) setup(node, **cluster);
  } catch (const std::exception& e) {
    std::cerr << program << ": setup failed: " << e.what() << "\n";
    return 1;
  }
  std::string ready =
      "ready " + (*cluster)->self().to_string() + " port=" + std::to_string((*cluster)->port());
  if (auto g = (*cluster)->gossip_port()) ready += " gossip=" + std::to_string(*g);
  print_line(ready);

  otp::cluster::ControlCommands commands(node, **cluster, faults);
  std::optional<otp::cluster::ControlChannel> channel;
  if (flags.control) channel.emplace(commands, print_line, [] { stop_requested = true; });

  const auto deadline = flags.max_run ? std::chrono::steady_clock::now() + *flags.max_run
                                      : std::chrono::steady_clock::time_point::max();
  while (!stop_requested && std::chrono::steady_clock::now() < deadline) {
    // Wakes for node events, and at least every 50 ms to notice a signal.
    auto m = events.receive(std::chrono::milliseconds(50));
    if (!m) continue;
    if (const auto* up = m->get_if<otp::NodeUp>()) {
      print_line("nodeup " + up->node);
    } else if (const auto* down = m->get_if<otp::NodeDown>()) {
      print_line("nodedown " + down->node + " " + down->reason);
    }
  }
  channel.reset();
  (*cluster)->stop();
  node.shutdown();
  print_line("stopped");
  return 0;
}

}  // namespace otp::testkit
