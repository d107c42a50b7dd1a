// otp::testkit::LocalCluster: N nodes with gossip membership inside the test process, on
// loopback ports the OS picks, for fast multi-node tests of a service of your own. Faults go
// through the cluster's fault seam (otp/cluster/faults.hpp), so no root is needed: partition any
// sets of nodes and heal, lose a fraction of the traffic between two nodes, slow a link, kill a
// node (abrupt: no leave) or stop it (a graceful leave, as on SIGTERM) and restart it (a new
// run, same name). The awaits wait on membership, node and global-name events with a deadline and
// throw AwaitError saying what they saw.
//
// clang-format off
//   otp::testkit::LocalCluster cluster({.nodes = 3, .setup = [](otp::Node& node, size_t i) {
//     if (i == 0) otp::gen_server::start<Counter>(node, otp::name(otp::global_name("counter")));
//   }});                                                      // started: 3 alive, all linked
//   cluster.await_global_name("counter", 0);
//   cluster.partition({{0}, {1, 2}});                         // n1 | n2 n3
//   cluster.await_nodedown(1, 0);
//   ... clients on every node, recording an otp::testkit::History ...
//   cluster.heal();
//   cluster.await_members(3);
//   cluster.kill(2);  cluster.await_members(2);  cluster.restart(2);  cluster.await_members(3);
//   cluster.stop(1);                                          // SIGTERM: a graceful leave
// clang-format on
//
// Nodes that must not be linked yet (each side registers a name of its own, then they meet: a
// conflict) are a partition awaited before the test acts, then heal():
//
// clang-format off
//   cluster.partition({{0}, {1}});
//   cluster.await_nodedown(0, 1);  cluster.await_nodedown(1, 0);
//   ... register "leader" on n1 and on n2 ...
//   cluster.heal();
//   size_t winner = cluster.await_global_name("leader");   // the same owner everywhere
// clang-format on
//
// Nodes are numbered from 0; node i is named "<prefix><i+1>@127.0.0.1" (n1, n2, ...). A killed
// node has no Node or Cluster until restart(i); a stopped node keeps both (detached). Faults
// are set on both nodes of a pair (see faults.hpp): the table the kit keeps is re-applied to a
// restarted node. Methods are for the test's thread; the nodes run on threads of their own.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "otp/cluster/cluster.hpp"
#include "otp/cluster/faults.hpp"
#include "otp/node.hpp"
#include "otp/testkit/await.hpp"

namespace otp::testkit {

/// How a LocalCluster starts (designated initializers).
struct LocalClusterOptions {
  size_t nodes = 3;
  std::string cookie = "testkit";
  std::string prefix = "n";  // names n1, n2, ... @127.0.0.1
  /// Called on the test's thread for every node once its Cluster runs (again after restart):
  /// start the services under test here (register remote types before the constructor).
  std::function<void(otp::Node&, size_t index)> setup = {};
  /// Scheduler threads per node.
  size_t scheduler_threads = 2;
  /// Called before each node's Cluster starts, to tune its options (timings, tags, transport
  /// limits such as transport.max_queue_bytes); the kit has set name, cookie, gossip seeds,
  /// faults and a quiet log by then. (A hidden node has no gossip: it is no LocalCluster node.)
  std::function<void(otp::cluster::ClusterOptions&, size_t index)> configure = {};
  /// The transport's and membership's log lines go to stderr (off: dropped).
  bool verbose = false;
  /// The constructor waits until every node sees all alive and linked (await_members).
  bool await_start = true;
  /// How long the constructor's wait may take.
  std::chrono::milliseconds start_timeout = kAwaitTimeout;
};

/// N in-process nodes with gossip (see above). Destroyed: every live node leaves and stops.
class LocalCluster {
 public:
  /// Starts the nodes (each joins through the ones before it) and, with await_start, waits for
  /// the whole membership. Throws AwaitError or std::runtime_error (a node that does not start).
  explicit LocalCluster(LocalClusterOptions options = {});
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  size_t size() const;
  /// Node i (0-based). Throws std::logic_error while it is killed (not after stop).
  otp::Node& node(size_t i);
  /// Node i's cluster layer (stopped after stop(i)). Throws std::logic_error while it is killed.
  otp::cluster::Cluster& cluster(size_t i);
  /// "n1@127.0.0.1" for i = 0 (also while killed).
  std::string name(size_t i) const;
  /// Whether node i is in the cluster: neither killed nor stopped.
  bool alive(size_t i) const;
  /// Node i's fault injector (the kit's faults are set through it; set your own too).
  otp::cluster::FaultInjector& faults(size_t i);

  // -- faults --

  /// Cuts every node of each side off from every node of the other sides, both ways (on top of
  /// the faults set before). Nodes in no side are not touched.
  void partition(std::vector<std::vector<size_t>> sides);
  /// Clears every fault the kit set (partitions, drops, slow links).
  void heal();
  /// Loses `fraction` (0..1) of the traffic between a and b, both directions: gossip datagrams
  /// are lost, TCP links stall as under retransmission (faults.hpp).
  void drop(size_t a, size_t b, double fraction);
  /// Adds `delay` to the traffic between a and b, each direction.
  void slow(size_t a, size_t b, std::chrono::milliseconds delay);
  /// Stops node i abruptly: no leave is announced (the others see it failed, as after kill -9),
  /// its links close, its Node and Cluster are destroyed. Does nothing to a killed node.
  void kill(size_t i);
  /// Node i leaves gracefully, as a node does on SIGTERM: Cluster::stop() announces the leave
  /// (the others see it left, not failed) and closes its links, then returns. Its Node runs on,
  /// detached, so the test can still look at what its processes did meanwhile (node(i)); the
  /// awaits leave it out, as a killed node. Does nothing to a killed or stopped node.
  void stop(size_t i);
  /// Starts node i again after kill or stop: a new run (new creation) of the same name, joining
  /// through the live nodes, with the kit's faults for it re-applied. Does not wait
  /// (await_members).
  void restart(size_t i);

  // -- awaits: deadline-bound, woken by events; throw AwaitError saying what was seen --

  /// Every live node sees exactly `alive` alive members (itself included) and is linked to each
  /// of them.
  void await_members(size_t alive, std::chrono::milliseconds timeout = kAwaitTimeout);
  /// The same on the given nodes only (e.g. each side of a partition: {0} sees 1, {1, 2} see 2).
  void await_members_on(const std::vector<size_t>& nodes, size_t alive,
                        std::chrono::milliseconds timeout = kAwaitTimeout);
  /// Every live node's replica has `global_name` owned by a process of node `owner`, or, with no
  /// owner given, of one and the same node (after a conflict: whichever won). Returns the owner.
  size_t await_global_name(const std::string& global_name,
                           std::optional<size_t> owner = std::nullopt,
                           std::chrono::milliseconds timeout = kAwaitTimeout);
  /// No live node's replica has an owner for `global_name` (it was unregistered, its owner
  /// exited or its owner's node went away).
  void await_global_name_free(const std::string& global_name,
                              std::chrono::milliseconds timeout = kAwaitTimeout);
  /// Node `observer` is not linked to node `target` (its nodedown came; at once if never linked).
  void await_nodedown(size_t observer, size_t target,
                      std::chrono::milliseconds timeout = kAwaitTimeout);
  /// Notified on every membership event, node up / down and global name change of any node, and
  /// on the kit's own kills and restarts: wait on conditions of your own with it.
  Signal& changes();

  /// One line per live node: its alive members, links and a summary of the faults set (what the
  /// awaits' errors show).
  std::string describe() const;

 private:
  struct Slot;
  void start_node(size_t i);
  void discard(Slot& slot);
  /// Node i's owner of global_name as its replica shows it ("" for none).
  std::string owner_at(size_t i, const std::string& global_name) const;
  std::string describe_owners(const std::string& global_name) const;
  void apply_faults(size_t i);
  void set_pair(size_t a, size_t b, const std::function<void(otp::cluster::LinkFault&)>& change);
  Slot& live(size_t i);
  const Slot& live(size_t i) const;
  std::string describe_members(size_t i) const;

  LocalClusterOptions options_;
  std::shared_ptr<Signal> changes_;
  std::vector<std::unique_ptr<Slot>> slots_;
  /// faults_[a][b]: what the kit set on node a for peer b.
  std::vector<std::vector<otp::cluster::LinkFault>> faults_;
};

}  // namespace otp::testkit
