// A deterministic simulator of many nodes running the Membership core on a virtual network:
// per-link and global packet loss, delay with jitter (so datagrams reorder), partitions, paused
// and crashed nodes, reliable stream (push-pull) delivery unless partitioned. Virtual time, one
// event queue, no threads: the same seed gives the same run. Tests and the scale benchmark use it.
//
// clang-format off
//   Simulator sim({.seed = 7});
//   auto nodes = sim.add_nodes(10);
//   for (auto i : nodes) sim.start(i, {nodes[0]});
//   bool ok = sim.run_until([&] { return sim.converged(); }, sim.now() + 10s);
//   sim.crash(nodes[3]);
//   sim.run_for(5s);   // every survivor has a `failed` event for n3 in sim.events()
// clang-format on
//
// Node i is "n<i>@sim" with gossip address sim:(1024 + i); a restart keeps both and raises the
// creation. Cores share one name table (see Membership's constructor), so 10,000 nodes fit.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "otp/membership/membership.hpp"

namespace otp::membership {

/// A node of the simulation: 0, 1, ... in the order add_node made them.
using NodeIndex = size_t;

/// How a Simulator's network and nodes behave.
struct SimOptions {
  /// Decides every random choice (loss, delays, each core's rng): the same seed, the same run.
  uint64_t seed = 1;
  /// Every node's configuration (each node's copy may be changed before it starts).
  Options membership{.cookie = "simulated-cookie"};
  /// One-way datagram delay, uniform in [min_delay, max_delay]: reorders packets.
  Duration min_delay{1};
  /// The upper bound of that delay.
  Duration max_delay{4};
  /// One-way delay of a stream message (push-pull request or reply).
  Duration stream_delay{3};
  /// Probability that any datagram is lost (see also the per-link and per-node rates).
  double loss = 0.0;
  /// Datagrams (and stream messages) held for a paused node, like a frozen process's socket
  /// buffer; beyond that they are dropped.
  size_t paused_buffer = 256;
  /// Keep every event in events() (a large simulation may prefer on_event alone).
  bool record_events = true;
};

/// An event as it happened on a node of the simulation.
struct SimEvent {
  /// The virtual time it happened at.
  Time at{};
  /// The node that reported it.
  NodeIndex node = 0;
  /// What that node reported.
  Event event;
};

/// Per-node traffic, as the network saw it.
struct SimTraffic {
  /// Datagrams the node sent, lost ones included.
  uint64_t datagrams_sent = 0;
  /// Their bytes.
  uint64_t datagram_bytes_sent = 0;
  /// Stream (push-pull) messages the node sent.
  uint64_t streams_sent = 0;
  /// Their bytes.
  uint64_t stream_bytes_sent = 0;
  uint64_t datagrams_lost = 0;  // dropped by loss or partition on the way from this node
};

/// Many membership cores on a virtual network (see above). One thread, virtual time.
class Simulator {
 public:
  /// An empty simulation at time 0: add nodes, then start them.
  explicit Simulator(SimOptions config);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // -- nodes --------------------------------------------------------------------------------

  /// Creates a node (not started yet) and returns its index. Throws std::length_error past 64,511
  /// nodes (the simulated gossip ports run out).
  NodeIndex add_node(Metadata metadata = {});
  /// Creates n nodes without metadata (not started yet); their indexes, in order.
  std::vector<NodeIndex> add_nodes(size_t n);
  /// Starts (joins) a node with these seeds, at now().
  void start(NodeIndex node, const std::vector<NodeIndex>& seeds);
  /// Starts these nodes already knowing each other (Membership::preload): a converged cluster
  /// without simulating the join of thousands of nodes.
  void start_converged(const std::vector<NodeIndex>& nodes);
  /// Kills the process: it sends and receives nothing more.
  void crash(NodeIndex node);
  /// A new run of a crashed node: same name and address, higher creation, fresh state.
  void restart(NodeIndex node, const std::vector<NodeIndex>& seeds);
  /// Freezes the process (SIGSTOP): no ticks, incoming packets buffered (paused_buffer).
  void pause(NodeIndex node);
  /// Thaws it: buffered packets are delivered, its timers run (late).
  void resume(NodeIndex node);
  /// The node announces a graceful leave (Membership::leave); keep running so the news spreads.
  void leave(NodeIndex node);
  /// New metadata for a running node (its data address stays its simulated address).
  void update_metadata(NodeIndex node, Metadata metadata);

  // -- network ------------------------------------------------------------------------------

  /// The global datagram loss probability, from now on.
  void set_loss(double probability);
  /// Loss on datagrams from -> to (on top of the global rate).
  void set_link_loss(NodeIndex from, NodeIndex to, double probability);
  /// Loss on every datagram a node receives / sends.
  void set_inbound_loss(NodeIndex node, double probability);
  /// Loss on every datagram the node sends.
  void set_outbound_loss(NodeIndex node, double probability);
  /// Nodes in different groups cannot reach each other (datagrams nor streams); nodes in no
  /// group form one more group together.
  void partition(const std::vector<std::vector<NodeIndex>>& groups);
  /// Like a firewall rule dropping on `to`'s INPUT whatever comes from `from` (one way): datagrams
  /// and stream messages from -> to are lost, those already in flight included. partition()
  /// instead fails them at the sender, as an OUTPUT rule does; the core cannot tell the two apart
  /// (the driver does not report failed sends), the driver's timing can.
  void block(NodeIndex from, NodeIndex to);
  /// Ends the partition and every block: every node reaches every other again.
  void heal();

  // -- running ------------------------------------------------------------------------------

  /// The virtual time.
  Time now() const { return now_; }
  /// Processes every event up to and including time t.
  void run_until(Time t);
  /// run_until(now() + d).
  void run_for(Duration d) { run_until(now_ + d); }
  /// Runs until pred() holds (checked every check_every of virtual time) or deadline passes.
  bool run_until(const std::function<bool()>& pred, Time deadline,
                 Duration check_every = Duration(10));

  // -- observation --------------------------------------------------------------------------

  /// Nodes added so far.
  size_t size() const { return nodes_.size(); }
  /// Node i's core (of its current run). Only once node i has started.
  Membership& node(NodeIndex i);
  /// Node i's core (of its current run). Only once node i has started.
  const Membership& node(NodeIndex i) const;
  bool running(NodeIndex i) const;  // started, not crashed (possibly paused)
  /// Frozen by pause() and not resumed yet.
  bool paused(NodeIndex i) const;
  /// Node i's current run: "n<i>@sim" and its creation.
  protocol::NodeId id(NodeIndex i) const;
  /// "n<i>@sim".
  std::string full_name(NodeIndex i) const;
  /// Node i's gossip address, sim:(1024 + i); also its data address.
  Address address(NodeIndex i) const;
  /// What node i sent so far.
  const SimTraffic& traffic(NodeIndex i) const;

  /// Every event so far, in order (with SimOptions::record_events).
  const std::vector<SimEvent>& events() const { return events_; }
  /// Forgets the recorded events.
  void clear_events() { events_.clear(); }
  /// Called for every event as it happens (in addition to events()).
  std::function<void(const SimEvent&)> on_event;
  /// Called for every packet a node sends, before the network decides its fate; `delivered`
  /// says whether it will arrive (not lost, not partitioned, a running receiver for streams).
  std::function<void(NodeIndex from, const Outgoing& packet, bool delivered)> on_send;

  /// Every running, unpaused node that has not left sees exactly the other such nodes as alive
  /// (with their current creation) and no one else as alive or suspect. O(N^2): for small runs.
  bool converged() const;

 private:
  struct Node;
  /// A packet arriving at a node, or a node's timer (bytes empty, is_tick).
  struct Delivery {
    Time at{};
    uint64_t seq = 0;  // ties broken by scheduling order: deterministic
    NodeIndex node = 0;
    bool is_tick = false;
    uint32_t generation = 0;  // a tick of a node's earlier run is ignored
    NodeIndex from = 0;
    std::vector<uint8_t> bytes;
    Channel channel = Channel::datagram;
  };
  struct Later {
    bool operator()(const Delivery& a, const Delivery& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };

  void handle(NodeIndex node, Output out);
  void route(NodeIndex from, Outgoing packet);
  void deliver(Delivery d);
  void schedule_tick(NodeIndex node);
  bool reachable(NodeIndex from, NodeIndex to) const;
  std::optional<NodeIndex> node_at(const Address& a) const;
  void make_core(NodeIndex i);

  SimOptions config_;
  std::mt19937_64 rng_;
  std::shared_ptr<detail::NameTable> names_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Delivery> queue_;  // a min-heap by (at, seq)
  std::unordered_map<uint64_t, double> link_loss_;
  std::unordered_set<uint64_t> blocked_;  // (from << 32) | to
  std::vector<SimEvent> events_;
  Time now_{};
  uint64_t sequence_ = 0;
};

}  // namespace otp::membership
