// kv-node: a node program of the example's own. It joins a cluster by gossip and, with --owner,
// runs the kv store (kv_store.hpp); every node can call it. Three on one machine:
//
//   kv-node a --port 7001 --gossip 7101 --owner &
//   kv-node b --port 7002 --gossip 7102 --seed 127.0.0.1:7101 &
//   kv-node c --port 7003 --gossip 7103 --seed 127.0.0.1:7101 &
//
// It prints `ready <name@host> port=<port> gossip=<port>` once it listens, and runs until
// SIGINT or SIGTERM, when it leaves the cluster.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include <otp/cluster/cluster.hpp>

#include "kv_store.hpp"

namespace {

int usage() {
  std::cerr << "usage: kv-node NAME [--port P] [--gossip P] [--seed HOST:PORT] [--owner]"
               " [--cookie C]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return usage();
  otp::cluster::ClusterOptions options{.name = argv[1], .cookie = "kv-example"};
  otp::cluster::GossipOptions gossip;
  bool owner = false;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--owner") {
      owner = true;
      continue;
    }
    if (i + 1 == argc) return usage();
    std::string value = argv[++i];
    if (flag == "--port") {
      options.port = static_cast<uint16_t>(std::stoi(value));
    } else if (flag == "--gossip") {
      gossip.port = static_cast<uint16_t>(std::stoi(value));
    } else if (flag == "--seed") {
      gossip.seeds.push_back(value);
    } else if (flag == "--cookie") {
      options.cookie = value;
    } else {
      return usage();
    }
  }
  options.gossip = gossip;

  // The signals are taken by sigwait below, on this thread: blocked before any thread starts.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  kv::register_types();
  otp::Node node({.name = options.name});
  auto cluster = otp::cluster::Cluster::start(node, options);
  if (!cluster) {
    std::cerr << "kv-node: " << cluster.error().to_string() << "\n";
    return 1;
  }
  if (owner) {
    if (auto store = kv::start(node); !store) {
      std::cerr << "kv-node: kv store: " << store.error().to_string() << "\n";
      return 1;
    }
  }
  std::cout << "ready " << (*cluster)->self().full_name() << " port=" << (*cluster)->port()
            << " gossip=" << (*cluster)->gossip_port().value_or(0) << std::endl;

  int signal = 0;
  sigwait(&stop_signals, &signal);
  (*cluster)->stop();  // leaves gracefully: the others see `left`, not `failed`
  return 0;
}
