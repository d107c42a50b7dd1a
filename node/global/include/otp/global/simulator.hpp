// A deterministic simulator of nodes running the NameTable on an in-memory network: one FIFO
// queue per ordered pair of nodes (as the node links are), partitions (messages in flight across
// the cut are dropped and each side sees the other's nodedown, as the transport reports it),
// heals (links come up: both sides sync), node restarts (a new creation with an empty table and
// no processes; peers see the old run's nodedown), processes that exit, clock skew per node.
// No threads, no clock, no randomness: the test decides every step. Tests and, later, the scale
// runs beside membership use it.
//
// clang-format off
//   Simulator sim(3);
//   protocol::Pid p = sim.spawn(0);
//   sim.register_name(0, "counter", p);
//   sim.deliver_all();
//   sim.node(2).whereis("counter")->pid == p;
//   sim.partition({{0}, {1, 2}});   // n0 alone: the others drop "counter"
//   sim.heal();  sim.deliver_all(); // synced back
// clang-format on
//
// Nodes start linked to each other (empty tables: the empty syncs are not sent). Node i is
// "n<i>@sim" with creation 1, raised by each restart. Every message goes through the
// protocol's codec (encode, count the bytes, decode), so traffic() is what the wire carries.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "otp/global/name_table.hpp"

namespace otp::global {

/// A node of the simulation: 0 .. size() - 1.
using NodeIndex = size_t;

/// How a Simulator's nodes behave.
struct SimOptions {
  /// Every node's conflict rule.
  Resolver resolver = earlier_wins;
  /// Added to the simulator's clock on node i (missing: 0); skewed clocks make "earlier" a
  /// matter of the hybrid logical clock, as in production.
  std::vector<Time> clock_skew{};
  /// Exit the loser of a conflict, as the driver does (its other names go with it).
  bool exit_losers = true;
  /// Keep every event in events().
  bool record_events = true;
};

/// An event as it happened on a node.
struct SimEvent {
  /// The node that reported it.
  NodeIndex node = 0;
  /// What that node reported.
  Event event;
};

/// What a node sent, as the wire saw it.
struct SimTraffic {
  /// Messages the node sent (each encoded once per receiver).
  uint64_t messages = 0;
  /// Their encoded bytes.
  uint64_t bytes = 0;
  uint64_t dropped = 0;  // in flight on a link that went down
};

/// Name-table cores on an in-memory network (see above). One thread; the test drives every step.
class Simulator {
 public:
  /// `nodes` nodes, linked to each other, with empty tables; the clock starts at 1,000,000 ms.
  explicit Simulator(size_t nodes, SimOptions config = {});

  // -- nodes and processes --------------------------------------------------------------------

  /// Number of nodes.
  size_t size() const { return nodes_.size(); }
  /// Node i's table (of its current run).
  NameTable& node(NodeIndex i) { return nodes_[i].table; }
  /// Node i's table (of its current run).
  const NameTable& node(NodeIndex i) const { return nodes_[i].table; }
  /// Node i's current run: "n<i>@sim" and its creation.
  const protocol::NodeId& id(NodeIndex i) const { return nodes_[i].table.self(); }
  /// A new live process on node i.
  protocol::Pid spawn(NodeIndex i);
  /// Spawned and not killed (nor gone with a restart, nor exited for losing a conflict).
  bool alive(const protocol::Pid& pid) const { return live_.contains(pid); }
  /// The process exits (its node's table is told).
  void kill(protocol::Pid pid);
  /// NameTable::register_name on node i at its clock; the output is handled (queued, events
  /// recorded), so the outcome's output comes back empty.
  RegisterOutcome register_name(NodeIndex i, std::string name, const protocol::Pid& pid,
                                Metadata metadata = {});
  /// NameTable::unregister_name on node i, handled as register_name's.
  OwnerOutcome unregister_name(NodeIndex i, std::string_view name);
  /// NameTable::update_metadata on node i, handled as register_name's.
  OwnerOutcome update_metadata(NodeIndex i, std::string_view name, Metadata metadata);
  /// Node i crashes and starts again at once: new creation, empty table, no processes. Peers
  /// see the old run's nodedown, then the new run links up wherever the partition allows.
  void restart(NodeIndex i);

  // -- network --------------------------------------------------------------------------------

  /// Nodes in different groups are cut apart; nodes in no group form one more group together.
  void partition(const std::vector<std::vector<NodeIndex>>& groups);
  /// Every node reaches every other again.
  void heal();
  /// Whether a's link to b is up.
  bool linked(NodeIndex a, NodeIndex b) const { return links_[a * size() + b]; }

  // -- running --------------------------------------------------------------------------------

  /// The simulator's clock (node i reads it plus its clock_skew).
  Time now() const { return now_; }
  /// Moves the clock forward by d.
  void advance(Time d) { now_ += d; }
  /// Delivers the oldest message queued from `from` to `to`; false if there is none.
  bool deliver_one(NodeIndex from, NodeIndex to);
  /// Delivers every queued message, a message per link in turn, until none is left. Returns the
  /// number of rounds (in each, every busy link delivers one message): with one-way delay d the
  /// cluster would have settled after about rounds * d.
  size_t deliver_all();
  /// Messages queued on all links, not yet delivered.
  size_t pending() const { return pending_; }
  /// Links (from, to) with a message queued, in a fixed order.
  std::vector<std::pair<NodeIndex, NodeIndex>> busy_links() const;

  // -- observation ----------------------------------------------------------------------------

  /// Every event so far, in order (with SimOptions::record_events).
  const std::vector<SimEvent>& events() const { return events_; }
  /// Forgets the recorded events.
  void clear_events() { events_.clear(); }
  /// Called for every event as it happens (in addition to events()).
  std::function<void(const SimEvent&)> on_event;
  /// Called for every message as it is delivered (decoded), before the receiver handles it.
  std::function<void(NodeIndex from, NodeIndex to, const Message&)> on_deliver;
  /// What node i sent so far.
  const SimTraffic& traffic(NodeIndex i) const { return nodes_[i].traffic; }
  /// Every node's traffic, summed.
  SimTraffic total_traffic() const;
  /// Every node shows the same table (snapshot()).
  bool converged() const;

 private:
  struct Node {
    NameTable table;
    uint64_t next_pid = 1;
    SimTraffic traffic{};
  };

  Time clock(NodeIndex i) const;
  NodeIndex index_of(const protocol::NodeId& node) const;
  void handle(NodeIndex i, Output out);
  void enqueue(NodeIndex from, NodeIndex to, const Message& message);
  void link_down(NodeIndex a, NodeIndex b);
  void link_up(NodeIndex a, NodeIndex b);
  void relink(const std::vector<int>& groups);

  SimOptions config_;
  std::vector<Node> nodes_;
  std::vector<int> groups_;
  std::vector<bool> links_;  // links_[a * size() + b]
  /// Queued wire bytes per link (from * size() + to), created on demand (a std::deque would
  /// allocate a block per busy link: a million of them at 1,000 nodes).
  struct Queue {
    std::vector<std::vector<uint8_t>> items;
    size_t head = 0;
  };
  std::map<size_t, Queue> queues_;
  size_t pending_ = 0;
  std::unordered_set<protocol::Pid> live_;
  Time now_{1'000'000};
  std::vector<SimEvent> events_;
};

}  // namespace otp::global
