#include "otp/global/simulator.hpp"

#include <utility>

namespace otp::global {

namespace {
protocol::NodeId sim_node_id(NodeIndex i, uint64_t creation) {
  return protocol::NodeId{"n" + std::to_string(i), "sim", creation};
}
}  // namespace

Simulator::Simulator(size_t nodes, SimOptions config) : config_(std::move(config)) {
  nodes_.reserve(nodes);
  for (NodeIndex i = 0; i < nodes; ++i) {
    nodes_.push_back(Node{NameTable(sim_node_id(i, 1), config_.resolver)});
  }
  links_.assign(nodes * nodes, false);
  groups_.assign(nodes, 0);
  for (NodeIndex a = 0; a < nodes; ++a) {
    for (NodeIndex b = 0; b < nodes; ++b) {
      if (a == b) continue;
      links_[a * nodes + b] = true;
      (void)node(a).on_link_up(id(b));  // an empty sync: nothing to send
    }
  }
}

Time Simulator::clock(NodeIndex i) const {
  return i < config_.clock_skew.size() ? now_ + config_.clock_skew[i] : now_;
}

NodeIndex Simulator::index_of(const protocol::NodeId& node) const {
  // Names are "n<i>"; a run that is not the current one has no index.
  const NodeIndex i = std::stoul(node.name.substr(1));
  return i < size() && id(i) == node ? i : size();
}

// -- nodes and processes --------------------------------------------------------------------------

protocol::Pid Simulator::spawn(NodeIndex i) {
  protocol::Pid pid{id(i), nodes_[i].next_pid++};
  live_.insert(pid);
  return pid;
}

void Simulator::kill(protocol::Pid pid) {
  if (live_.erase(pid) == 0) return;
  const NodeIndex i = index_of(pid.node);
  if (i < size()) handle(i, node(i).process_exit(pid, clock(i)));
}

RegisterOutcome Simulator::register_name(NodeIndex i, std::string name, const protocol::Pid& pid,
                                         Metadata metadata) {
  RegisterOutcome outcome =
      node(i).register_name(std::move(name), pid, std::move(metadata), clock(i));
  handle(i, std::move(outcome.output));
  outcome.output = {};
  return outcome;
}

OwnerOutcome Simulator::unregister_name(NodeIndex i, std::string_view name) {
  OwnerOutcome outcome = node(i).unregister_name(name, clock(i));
  handle(i, std::move(outcome.output));
  outcome.output = {};
  return outcome;
}

OwnerOutcome Simulator::update_metadata(NodeIndex i, std::string_view name, Metadata metadata) {
  OwnerOutcome outcome = node(i).update_metadata(name, std::move(metadata), clock(i));
  handle(i, std::move(outcome.output));
  outcome.output = {};
  return outcome;
}

void Simulator::restart(NodeIndex i) {
  for (NodeIndex j = 0; j < size(); ++j) {
    if (linked(i, j)) link_down(i, j);
  }
  std::erase_if(live_, [&](const protocol::Pid& p) { return p.node == id(i); });
  const uint64_t creation = id(i).creation + 1;
  nodes_[i].table = NameTable(sim_node_id(i, creation), config_.resolver);
  nodes_[i].next_pid = 1;
  for (NodeIndex j = 0; j < size(); ++j) {
    if (j != i && groups_[i] == groups_[j]) link_up(i, j);
  }
}

// -- network --------------------------------------------------------------------------------------

void Simulator::partition(const std::vector<std::vector<NodeIndex>>& groups) {
  std::vector<int> assignment(size(), 0);
  for (size_t g = 0; g < groups.size(); ++g) {
    for (NodeIndex i : groups[g]) assignment[i] = static_cast<int>(g) + 1;
  }
  relink(assignment);
}

void Simulator::heal() {
  relink(std::vector<int>(size(), 0));
}

void Simulator::relink(const std::vector<int>& groups) {
  groups_ = groups;
  // Every cut first, then every new link: a node never syncs with a peer it is about to lose.
  for (NodeIndex a = 0; a < size(); ++a) {
    for (NodeIndex b = a + 1; b < size(); ++b) {
      if (linked(a, b) && groups_[a] != groups_[b]) link_down(a, b);
    }
  }
  for (NodeIndex a = 0; a < size(); ++a) {
    for (NodeIndex b = a + 1; b < size(); ++b) {
      if (!linked(a, b) && groups_[a] == groups_[b]) link_up(a, b);
    }
  }
}

void Simulator::link_down(NodeIndex a, NodeIndex b) {
  links_[a * size() + b] = links_[b * size() + a] = false;
  for (const auto& [from, to] : {std::pair{a, b}, std::pair{b, a}}) {
    const auto q = queues_.find(from * size() + to);
    if (q == queues_.end()) continue;
    const size_t queued = q->second.items.size() - q->second.head;
    nodes_[from].traffic.dropped += queued;
    pending_ -= queued;
    queues_.erase(q);
  }
  const protocol::NodeId id_a = id(a);
  const protocol::NodeId id_b = id(b);
  handle(a, node(a).on_nodedown(id_b));
  handle(b, node(b).on_nodedown(id_a));
}

void Simulator::link_up(NodeIndex a, NodeIndex b) {
  links_[a * size() + b] = links_[b * size() + a] = true;
  handle(a, node(a).on_link_up(id(b)));
  handle(b, node(b).on_link_up(id(a)));
}

// -- running --------------------------------------------------------------------------------------

void Simulator::enqueue(NodeIndex from, NodeIndex to, const Message& message) {
  std::vector<uint8_t> wire = encode(message);
  nodes_[from].traffic.messages += 1;
  nodes_[from].traffic.bytes += wire.size();
  queues_[from * size() + to].items.push_back(std::move(wire));
  ++pending_;
}

void Simulator::handle(NodeIndex i, Output out) {
  for (Outgoing& m : out.messages) {
    if (m.to) {
      const NodeIndex to = index_of(*m.to);
      if (to < size() && linked(i, to)) enqueue(i, to, m.message);
      continue;
    }
    for (NodeIndex to = 0; to < size(); ++to) {
      if (linked(i, to)) enqueue(i, to, m.message);
    }
  }
  std::vector<protocol::Pid> losers;
  for (Event& e : out.events) {
    if (e.kind == EventKind::conflict && e.local_loser && config_.exit_losers) {
      losers.push_back(e.owner);
    }
    SimEvent recorded{i, std::move(e)};
    if (on_event) on_event(recorded);
    if (config_.record_events) events_.push_back(std::move(recorded));
  }
  for (const protocol::Pid& loser : losers) kill(loser);
}

bool Simulator::deliver_one(NodeIndex from, NodeIndex to) {
  const auto q = queues_.find(from * size() + to);
  if (q == queues_.end()) return false;
  std::vector<uint8_t> wire = std::move(q->second.items[q->second.head++]);
  if (q->second.head == q->second.items.size()) queues_.erase(q);
  --pending_;
  std::optional<Message> message = decode(wire, id(from));
  if (!message) return true;  // the draft codec failed: tests check traffic against this
  if (on_deliver) on_deliver(from, to, *message);
  handle(to, node(to).on_message(id(from), *message, clock(to)));
  return true;
}

size_t Simulator::deliver_all() {
  size_t rounds = 0;
  for (; pending_ > 0; ++rounds) {
    for (const auto& [from, to] : busy_links()) deliver_one(from, to);
  }
  return rounds;
}

std::vector<std::pair<NodeIndex, NodeIndex>> Simulator::busy_links() const {
  std::vector<std::pair<NodeIndex, NodeIndex>> busy;
  busy.reserve(queues_.size());
  for (const auto& [key, queue] : queues_) busy.emplace_back(key / size(), key % size());
  return busy;
}

// -- observation ----------------------------------------------------------------------------------

SimTraffic Simulator::total_traffic() const {
  SimTraffic total;
  for (const Node& n : nodes_) {
    total.messages += n.traffic.messages;
    total.bytes += n.traffic.bytes;
    total.dropped += n.traffic.dropped;
  }
  return total;
}

bool Simulator::converged() const {
  const std::vector<Claim> first = node(0).snapshot();
  for (NodeIndex i = 1; i < size(); ++i) {
    if (node(i).snapshot() != first) return false;
  }
  return true;
}

}  // namespace otp::global
