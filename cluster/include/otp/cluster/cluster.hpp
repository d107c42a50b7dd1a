// otp::cluster::Cluster: makes a Node a distributed node. It starts the TCP transport
// (transport.hpp) and plugs it into the node's distribution (otp/distribution.hpp), so that
// pids of other nodes, {name, node} addressing, remote monitors and links work.
//
//   otp::Node node({.name = "a"});
//   auto cluster = otp::cluster::Cluster::start(node, {.name = "a", .host = "127.0.0.1",
//                                                      .port = 7001, .cookie = "secret"});
//   if (!cluster) fail(cluster.error());
//   (*cluster)->connect("127.0.0.1:7002");        // redialed with backoff while it is down
//   otp::gen_server::call<int>(node, otp::remote_name("counter", "b@127.0.0.1"), Get{});
//   ...
//   cluster->reset();                             // before the Node goes away
//
// The node is known as name@host; host is also where it listens unless listen_host says
// otherwise. A creation number drawn at start tells this run from earlier ones.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "otp/cluster/transport.hpp"
#include "otp/error.hpp"
#include "otp/node.hpp"
#include "otp/protocol/node_id.hpp"

namespace otp::cluster {

struct ClusterConfig {
  std::string name = "node";       // the node is name@host
  std::string host = "127.0.0.1";  // advertised host, and the listen address by default
  uint16_t port = 0;               // 0: any free port (see Cluster::port())
  std::string listen_host = {};    // empty: host. "0.0.0.0" to listen on every interface
  std::string cookie;              // the shared secret; required
  std::string cluster = "otp";     // nodes of other clusters are refused
  /// Timings, limits and the log hook; its identity and address fields are filled in from the
  /// fields above.
  TransportConfig transport = {};
};

class Cluster {
 public:
  /// Starts listening and attaches the node. Fails (badarg) with the reason when the cookie is
  /// empty or the address can not be bound.
  static Result<std::unique_ptr<Cluster>> start(Node& node, ClusterConfig config);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  const protocol::NodeId& self() const;
  uint16_t port() const;

  /// Links to the node at host:port (and keeps it linked: redials with backoff).
  Result<void> connect(const std::string& host_port);
  /// Connected nodes, "name@host".
  std::vector<std::string> nodes() const;
  TransportStats stats() const;

  /// Closes every link (remote monitors and links fire with noconnection) and detaches the
  /// node. Idempotent; the destructor calls it.
  void stop();

  class Bridge;

 private:
  explicit Cluster(std::shared_ptr<Bridge> bridge);
  std::shared_ptr<Bridge> bridge_;
};

}  // namespace otp::cluster
