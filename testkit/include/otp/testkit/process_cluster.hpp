// N nodes of a test as real processes: otp-node, or your own node program built on
// otp::testkit::node_main (otp/testkit/node_main.hpp). Node 1 starts first, the others join
// through it (gossip membership); the constructor returns once every node printed its ready line
// (not yet once they see each other: await_members). Every process runs in a session of its own,
// bounded by --max-seconds, and is killed by PID (its whole group) when the ProcessCluster is
// destroyed, also when the test fails or throws; a node whose test process dies stops when its
// stdin (the control channel) ends.
//
//   otp::testkit::ProcessCluster c({.nodes = 3, .program = OTP_NODE_BIN});
//   c.await_members(3);                      // every node sees 3 alive members
//   c.partition({{0}, {1, 2}});              // through each node's fault-injection seam
//   c.await_members(2, {1, 2});  c.heal();   c.await_members(3);
//   c.kill(2);  c.restart(2);                // SIGKILL; a new run (new creation), same name
//   c.pause(1); c.resume(1);                 // SIGSTOP / SIGCONT
//   c.stop(0);                               // SIGTERM: a graceful leave
//   size_t m = c.add_node({.name = "m", .seeds = {1, 2}});   // one more node, mid-test
//
// Faults: partition / heal / drop / slow go through the control channel to each node's seam
// (otp/cluster/faults.hpp; no root needed); the kit keeps them and sets them again on a node it
// restarts or resumes, and a fault set while a node is paused takes effect (acknowledged) when
// resume() returns. With `netns` (root only: NetnsLab::unavailable() says why not) every node runs
// on a host of its own in a network namespace lab, listening on every interface as in a container,
// and partition / heal are iptables drops there: the kernel's path; change_address() moves a
// node's host to a new IP under its running node. Awaits wait on what the nodes answer, with a
// deadline, and throw AwaitError saying what was seen.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "otp/cluster/faults.hpp"
#include "otp/testkit/await.hpp"
#include "otp/testkit/child_process.hpp"
#include "otp/testkit/netns_lab.hpp"

namespace otp::testkit {

struct ProcessClusterOptions {
  size_t nodes = 3;
  /// The node program: otp-node, or a program whose main calls node_main. Required.
  std::string program = {};
  std::string cookie = "testkit";
  std::string prefix = "n";  // names n1, n2, ... (@127.0.0.1, or @10.231.0.<i> with netns)
  /// Flags every node gets after the kit's own (e.g. otp-node's --global-counter gc).
  std::vector<std::string> args = {};
  /// Flags of node i (0-based) after `args`; may be empty.
  std::function<std::vector<std::string>(size_t index)> node_args = {};
  /// Nodes 2.. join through node 1 at start. false: every node starts alone, a cluster of its
  /// own (merge them later with add_node's seeds).
  bool join = true;
  /// false: the nodes run no membership (no --gossip; `join` and seeds do not apply), only their
  /// transport: link them with otp-node's --connect or from a Cluster of the test's own. For
  /// tests of links themselves; the awaits on members do not apply.
  bool gossip = true;
  /// Hard bound on every node process's life (--max-seconds).
  int max_seconds = 300;
  /// Root only: each node on a host of a NetnsLab; partition / heal by iptables.
  bool netns = false;
  /// With netns: node i advertises the host name otp-h<i+1> (each lab host's /etc/hosts maps
  /// every name to its IP) instead of the IP, as nodes named by DNS in a container network do.
  bool host_names = false;
  /// How long a node process may take to print its ready line (busy machine, sanitizers).
  std::chrono::milliseconds start_timeout{30000};
};

/// A node added mid-test (ProcessCluster::add_node).
struct AddedNode {
  /// Its name ("" -> <prefix><index+1>).
  std::string name = {};
  /// The nodes it joins through (none: it starts alone).
  std::vector<size_t> seeds = {};
  /// With netns: it runs on the lab host of this node (beside it, on ports of its own), so a
  /// partition of that host cuts it too. Required with netns, ignored without.
  std::optional<size_t> beside = std::nullopt;
  /// Its flags after the cluster's `args` (node_args is not applied to added nodes).
  std::vector<std::string> args = {};
};

class ProcessCluster {
 public:
  /// Default deadline of awaits and questions (await.hpp's): generous, for sanitizers and a
  /// loaded machine.
  static constexpr std::chrono::milliseconds kAwait = kAwaitTimeout;

  /// Starts the nodes and waits for their ready lines; throws std::runtime_error with the
  /// node's output when one does not start.
  explicit ProcessCluster(ProcessClusterOptions options);
  ~ProcessCluster();
  ProcessCluster(const ProcessCluster&) = delete;
  ProcessCluster& operator=(const ProcessCluster&) = delete;

  size_t size() const { return nodes_.size(); }
  /// "n1@127.0.0.1" for node 0.
  std::string name(size_t i) const;
  std::string host(size_t i) const;
  /// HOST:PORT of node i's gossip (a seed) and of its transport (what --connect and otp-ctl take).
  std::string gossip_address(size_t i) const;
  std::string data_address(size_t i) const;
  /// The port of node i's transport (data_address's).
  uint16_t port(size_t i) const;
  /// Node i's current process (its stdout lines, stderr, pid).
  ChildProcess& process(size_t i);
  pid_t pid(size_t i) const;
  /// Not killed (paused nodes are running).
  bool running(size_t i) const;
  /// The lab of a netns cluster (nullptr otherwise).
  const NetnsLab* lab() const { return lab_.get(); }

  // -- faults
  // --------------------------------------------------------------------------------------

  /// SIGKILL to node i's process group: abrupt, no leave.
  void kill(size_t i);
  /// SIGSTOP / SIGCONT to node i's process group; pause returns once the process is stopped.
  void pause(size_t i);
  void resume(size_t i);
  /// Starts node i again (after kill() or stop(), or killing it first): a new run, new creation,
  /// same name and ports, joining through the other running nodes, with the faults the kit set on
  /// it set again. Waits for its ready line.
  void restart(size_t i);
  /// SIGTERM: node i leaves the cluster and exits. Returns once it exited (true), or after
  /// `timeout` kills it (false). Its output stays readable.
  bool stop(size_t i, std::chrono::milliseconds timeout = kAwait);
  /// Starts one more node and waits for its ready line; its index (size() - 1).
  size_t add_node(AddedNode node);
  /// Netns only: node i's lab host loses its address and gets `new_ip` (/24 of the lab, e.g.
  /// 10.231.0.102), its processes running on, as a container reconnected to its network. With
  /// host_names every host's /etc/hosts then maps node i's host name to new_ip.
  void change_address(size_t i, const std::string& new_ip);

  /// Cuts every node of a side off from every node of the other sides, both ways. Nodes in no
  /// side are not touched. Through the seam, or iptables with netns.
  void partition(const std::vector<std::vector<size_t>>& sides);
  /// Clears every fault partition / drop / slow set (on running nodes).
  void heal();
  /// Drops this fraction of the traffic between a and b, both ways (seam).
  void drop(size_t a, size_t b, double fraction);
  /// Adds this latency to the traffic between a and b, both ways (seam).
  void slow(size_t a, size_t b, std::chrono::milliseconds delay);

  // -- asking a node
  // -------------------------------------------------------------------------------

  /// Sends a control-channel command to node i and returns its answer's lines (the last one
  /// "control ok ..."); throws AwaitError when no answer comes by the deadline or it is an error.
  std::vector<std::string> ask(size_t i, const std::string& command,
                               std::chrono::milliseconds timeout = kAwait);
  /// Node i's member list: name@host -> alive | suspect | failed | left (self included).
  std::map<std::string, std::string> members(size_t i, std::chrono::milliseconds timeout = kAwait);
  /// Node i's replica of the global names: name -> owner pid (<name@host.N.0>).
  std::map<std::string, std::string> globals(size_t i, std::chrono::milliseconds timeout = kAwait);
  /// The nodes node i is linked to.
  std::vector<std::string> linked_nodes(size_t i, std::chrono::milliseconds timeout = kAwait);
  /// The faults node i's seam holds now, by peer (name@host).
  std::map<std::string, otp::cluster::LinkFault> faults(size_t i,
                                                        std::chrono::milliseconds timeout = kAwait);

  // -- awaits
  // ----------------------------------------------------------------------------------------

  /// Every running, not paused node (or each of `on`) sees exactly `alive` alive members (self
  /// included).
  void await_members(size_t alive, std::chrono::milliseconds timeout = kAwait);
  void await_members(size_t alive, const std::vector<size_t>& on,
                     std::chrono::milliseconds timeout = kAwait);
  /// Every running, not paused node holds `name` as owned by a process of node `owner`.
  void await_global_name(const std::string& name, size_t owner,
                         std::chrono::milliseconds timeout = kAwait);
  /// Node `observer` has no link to node `target` (any more).
  void await_nodedown(size_t observer, size_t target, std::chrono::milliseconds timeout = kAwait);
  /// Node i printed a line starting with prefix (index >= from of its current run's lines).
  void await_line(size_t i, const std::string& prefix, std::chrono::milliseconds timeout = kAwait,
                  size_t from = 0);

  /// Node i's output so far (stdout lines of each run, stderr): for a failed assertion.
  std::string log(size_t i) const;
  /// Every node's log.
  std::string logs() const;

 private:
  struct Node;
  void start(size_t i, const std::vector<std::string>& seeds);
  std::vector<std::string> running_seeds(size_t except) const;
  std::string fault_command(size_t peer, const otp::cluster::LinkFault& f) const;
  void set_fault(size_t on, size_t peer,
                 const std::function<void(otp::cluster::LinkFault&)>& change);
  void send_faults(size_t i);
  void iptables_cut(size_t on, const std::vector<size_t>& others);
  void write_hosts_files();

  ProcessClusterOptions options_;
  std::unique_ptr<NetnsLab> lab_;  // before nodes_: destroyed after the processes in it
  std::vector<std::unique_ptr<Node>> nodes_;
};

}  // namespace otp::testkit
