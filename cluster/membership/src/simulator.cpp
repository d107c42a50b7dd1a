// The simulated network: one heap of deliveries (packets and timer ticks) in virtual time.
#include "otp/membership/simulator.hpp"

#include <algorithm>
#include <stdexcept>

#include "name_table.hpp"

namespace otp::membership {
namespace {

constexpr uint16_t kBasePort = 1024;
constexpr const char* kHost = "sim";

}  // namespace

struct Simulator::Node {
  std::unique_ptr<Membership> core;
  Metadata metadata;
  uint64_t creation = 0;
  uint32_t generation = 0;
  bool running = false;
  bool paused = false;
  std::optional<Time> tick_at;  // the pending tick delivery, if any
  std::deque<Delivery> held;    // arrived while paused
  double inbound_loss = 0;
  double outbound_loss = 0;
  int group = 0;
  SimTraffic traffic;
};

Simulator::Simulator(SimOptions config)
    : config_(std::move(config)),
      rng_(config_.seed),
      names_(std::make_shared<detail::NameTable>()) {}

Simulator::~Simulator() = default;

// -- nodes ----------------------------------------------------------------------------------------

NodeIndex Simulator::add_node(Metadata metadata) {
  if (nodes_.size() >= 65535 - kBasePort) throw std::length_error("too many simulated nodes");
  auto n = std::make_unique<Node>();
  n->metadata = std::move(metadata);
  nodes_.push_back(std::move(n));
  return nodes_.size() - 1;
}

std::vector<NodeIndex> Simulator::add_nodes(size_t n) {
  std::vector<NodeIndex> added;
  added.reserve(n);
  for (size_t i = 0; i < n; ++i) added.push_back(add_node());
  return added;
}

protocol::NodeId Simulator::id(NodeIndex i) const {
  return protocol::NodeId{"n" + std::to_string(i), kHost, nodes_.at(i)->creation};
}

std::string Simulator::full_name(NodeIndex i) const {
  return "n" + std::to_string(i) + "@" + kHost;
}

Address Simulator::address(NodeIndex i) const {
  return Address{kHost, static_cast<uint16_t>(kBasePort + i)};
}

std::optional<NodeIndex> Simulator::node_at(const Address& a) const {
  if (a.port < kBasePort || a.host != kHost) return std::nullopt;
  const size_t i = a.port - kBasePort;
  if (i >= nodes_.size()) return std::nullopt;
  return i;
}

void Simulator::make_core(NodeIndex i) {
  Node& n = *nodes_.at(i);
  ++n.creation;
  ++n.generation;
  n.running = true;
  n.paused = false;
  n.tick_at.reset();
  n.held.clear();
  Metadata meta = n.metadata;
  meta.data = Address{kHost, static_cast<uint16_t>(kBasePort + i)};
  const uint64_t seed = config_.seed * 1000003ULL + i * 7919ULL + n.creation;
  n.core = std::make_unique<Membership>(config_.membership, id(i), address(i), std::move(meta),
                                        seed, names_);
}

void Simulator::start(NodeIndex node, const std::vector<NodeIndex>& seeds) {
  make_core(node);
  std::vector<Address> addresses;
  for (NodeIndex s : seeds) addresses.push_back(address(s));
  handle(node, nodes_[node]->core->join(std::move(addresses), now_));
}

void Simulator::start_converged(const std::vector<NodeIndex>& nodes) {
  for (NodeIndex i : nodes) make_core(i);
  std::vector<Member> all;
  all.reserve(nodes.size());
  for (NodeIndex i : nodes) {
    const Membership& core = *nodes_[i]->core;
    all.push_back(core.member(full_name(i)).value());
    (void)core;
  }
  for (NodeIndex i : nodes) {
    nodes_[i]->core->preload(all, now_);
    handle(i, nodes_[i]->core->join({}, now_));
  }
}

void Simulator::crash(NodeIndex node) {
  Node& n = *nodes_.at(node);
  n.running = false;
  n.paused = false;
  n.held.clear();
  n.tick_at.reset();
  ++n.generation;
}

void Simulator::restart(NodeIndex node, const std::vector<NodeIndex>& seeds) {
  crash(node);
  start(node, seeds);
}

void Simulator::pause(NodeIndex node) {
  nodes_.at(node)->paused = true;
}

void Simulator::resume(NodeIndex node) {
  Node& n = *nodes_.at(node);
  if (!n.running || !n.paused) return;
  n.paused = false;
  std::deque<Delivery> held = std::move(n.held);
  n.held.clear();
  for (Delivery& d : held) {
    d.at = now_;
    deliver(std::move(d));
  }
  n.tick_at.reset();
  schedule_tick(node);
}

void Simulator::leave(NodeIndex node) {
  handle(node, nodes_.at(node)->core->leave(now_));
}

void Simulator::update_metadata(NodeIndex node, Metadata metadata) {
  Node& n = *nodes_.at(node);
  n.metadata = metadata;
  metadata.data = Address{kHost, static_cast<uint16_t>(kBasePort + node)};
  handle(node, n.core->update_metadata(std::move(metadata), now_));
}

// -- network --------------------------------------------------------------------------------------

void Simulator::set_loss(double probability) {
  config_.loss = probability;
}

void Simulator::set_link_loss(NodeIndex from, NodeIndex to, double probability) {
  link_loss_[(static_cast<uint64_t>(from) << 32) | to] = probability;
}

void Simulator::set_inbound_loss(NodeIndex node, double probability) {
  nodes_.at(node)->inbound_loss = probability;
}

void Simulator::set_outbound_loss(NodeIndex node, double probability) {
  nodes_.at(node)->outbound_loss = probability;
}

void Simulator::partition(const std::vector<std::vector<NodeIndex>>& groups) {
  for (auto& n : nodes_) n->group = 0;
  int g = 0;
  for (const auto& group : groups) {
    ++g;
    for (NodeIndex i : group) nodes_.at(i)->group = g;
  }
}

void Simulator::block(NodeIndex from, NodeIndex to) {
  blocked_.insert((static_cast<uint64_t>(from) << 32) | to);
}

void Simulator::heal() {
  for (auto& n : nodes_) n->group = 0;
  blocked_.clear();
}

bool Simulator::reachable(NodeIndex from, NodeIndex to) const {
  if (!blocked_.empty() && blocked_.contains((static_cast<uint64_t>(from) << 32) | to)) {
    return false;
  }
  return nodes_[from]->group == nodes_[to]->group;
}

// -- running --------------------------------------------------------------------------------------

void Simulator::handle(NodeIndex node, Output out) {
  for (Event& e : out.events) {
    SimEvent se{now_, node, std::move(e)};
    if (on_event) on_event(se);
    if (config_.record_events) events_.push_back(std::move(se));
  }
  for (Outgoing& p : out.packets) route(node, std::move(p));
  schedule_tick(node);
}

void Simulator::route(NodeIndex from, Outgoing packet) {
  Node& sender = *nodes_[from];
  const auto to = node_at(packet.to);
  Delivery d;
  d.from = from;
  d.channel = packet.channel;
  if (packet.channel == Channel::stream) {
    ++sender.traffic.streams_sent;
    sender.traffic.stream_bytes_sent += packet.bytes.size();
    // A connection to nobody, to a dead process or across a partition fails: nothing arrives.
    const bool delivered = to && nodes_[*to]->running && reachable(from, *to);
    if (on_send) on_send(from, packet, delivered);
    if (!delivered) return;
    d.at = now_ + config_.stream_delay;
  } else {
    ++sender.traffic.datagrams_sent;
    sender.traffic.datagram_bytes_sent += packet.bytes.size();
    if (!to || !reachable(from, *to)) {
      ++sender.traffic.datagrams_lost;
      if (on_send) on_send(from, packet, false);
      return;
    }
    std::uniform_real_distribution<double> coin(0.0, 1.0);
    double loss = config_.loss;
    if (!link_loss_.empty()) {
      auto it = link_loss_.find((static_cast<uint64_t>(from) << 32) | *to);
      if (it != link_loss_.end()) loss = 1.0 - (1.0 - loss) * (1.0 - it->second);
    }
    loss = 1.0 - (1.0 - loss) * (1.0 - sender.outbound_loss) * (1.0 - nodes_[*to]->inbound_loss);
    const bool lost = loss > 0 && coin(rng_) < loss;
    if (on_send) on_send(from, packet, !lost);
    if (lost) {
      ++sender.traffic.datagrams_lost;
      return;
    }
    d.at = now_ + Duration(std::uniform_int_distribution<int64_t>(config_.min_delay.count(),
                                                                  config_.max_delay.count())(rng_));
  }
  d.node = *to;
  d.bytes = std::move(packet.bytes);
  d.seq = ++sequence_;
  queue_.push_back(std::move(d));
  std::push_heap(queue_.begin(), queue_.end(), Later{});
}

void Simulator::schedule_tick(NodeIndex node) {
  Node& n = *nodes_[node];
  if (!n.running || n.paused) return;
  const Time t = std::max(n.core->next_deadline(), now_);
  if (t == Time::max() || (n.tick_at && *n.tick_at <= t)) return;
  n.tick_at = t;
  Delivery d;
  d.at = t;
  d.seq = ++sequence_;
  d.node = node;
  d.is_tick = true;
  d.generation = n.generation;
  queue_.push_back(std::move(d));
  std::push_heap(queue_.begin(), queue_.end(), Later{});
}

void Simulator::deliver(Delivery d) {
  Node& n = *nodes_[d.node];
  if (d.is_tick) {
    if (d.generation != n.generation || !n.tick_at || *n.tick_at != d.at) return;  // stale
    n.tick_at.reset();
    if (!n.running || n.paused) return;
    Output out = n.core->tick(now_);
    // The core moves every timer it handled past now; this guards against a core that would
    // not, which would otherwise spin the simulation at one instant.
    handle(d.node, std::move(out));
    if (n.tick_at && *n.tick_at <= now_) {
      n.tick_at = now_ + Duration(1);
      d.at = *n.tick_at;
      d.seq = ++sequence_;
      queue_.push_back(std::move(d));
      std::push_heap(queue_.begin(), queue_.end(), Later{});
    }
    return;
  }
  if (!n.running) return;
  // Dropped on arrival by a block made while it was in flight (INPUT rules drop those too).
  if (!blocked_.empty() && blocked_.contains((static_cast<uint64_t>(d.from) << 32) | d.node)) {
    return;
  }
  if (n.paused) {
    if (n.held.size() < config_.paused_buffer) n.held.push_back(std::move(d));
    return;
  }
  handle(d.node, n.core->on_packet(address(d.from), d.bytes, d.channel, now_));
}

void Simulator::run_until(Time t) {
  while (!queue_.empty() && queue_.front().at <= t) {
    std::pop_heap(queue_.begin(), queue_.end(), Later{});
    Delivery d = std::move(queue_.back());
    queue_.pop_back();
    now_ = std::max(now_, d.at);
    deliver(std::move(d));
  }
  now_ = std::max(now_, t);
}

bool Simulator::run_until(const std::function<bool()>& pred, Time deadline, Duration check_every) {
  while (!pred()) {
    if (now_ >= deadline) return false;
    run_until(std::min(deadline, now_ + check_every));
  }
  return true;
}

// -- observation ----------------------------------------------------------------------------------

Membership& Simulator::node(NodeIndex i) {
  return *nodes_.at(i)->core;
}
const Membership& Simulator::node(NodeIndex i) const {
  return *nodes_.at(i)->core;
}
bool Simulator::running(NodeIndex i) const {
  return nodes_.at(i)->running;
}
bool Simulator::paused(NodeIndex i) const {
  return nodes_.at(i)->paused;
}
const SimTraffic& Simulator::traffic(NodeIndex i) const {
  return nodes_.at(i)->traffic;
}

bool Simulator::converged() const {
  std::vector<NodeIndex> live;
  for (NodeIndex i = 0; i < nodes_.size(); ++i) {
    const Node& n = *nodes_[i];
    if (n.running && !n.paused && n.core->member(full_name(i))->state != MemberState::left) {
      live.push_back(i);
    }
  }
  // Counts first: cheap, and during convergence they almost always differ already.
  for (NodeIndex i : live) {
    if (nodes_[i]->core->live_peers() != live.size() - 1) return false;
  }
  for (NodeIndex i : live) {
    const Membership& core = *nodes_[i]->core;
    for (NodeIndex j : live) {
      const auto m = core.member(full_name(j));
      if (!m || m->state != MemberState::alive || m->id != id(j)) return false;
    }
  }
  return true;
}

}  // namespace otp::membership
