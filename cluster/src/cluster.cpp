// Cluster: the transport plugged into a Node's distribution, and (with a gossip section) the
// membership driver that decides which links exist.
#include "otp/cluster/cluster.hpp"

#include <atomic>
#include <cstdio>
#include <map>
#include <utility>

#include "otp/distribution.hpp"
#include "otp/process.hpp"

namespace otp::cluster {

/// The transport's listener and the node's channel: both directions of the plug. It owns the
/// transport, and the node's distribution holds it, so a scheduler thread that sends while the
/// Cluster is being stopped still finds a (stopped) transport that answers nodedown.
class Cluster::Bridge final : public TransportListener, public DistributionChannel {
 public:
  explicit Bridge(Node& node) : node_(node) {}

  void on_node_up(const protocol::NodeId& peer, bool hidden) override {
    distribution::node_up(node_, peer, hidden);
  }
  void on_node_down(const protocol::NodeId& peer, const std::string& reason) override {
    distribution::node_down(node_, peer, reason);
  }
  void on_message(const protocol::NodeId& peer, protocol::Message&& message) override {
    distribution::receive(node_, peer, std::move(message));
  }

  std::optional<SendError> send(const protocol::NodeId& to,
                                const protocol::Message& message) override {
    // The node is attached before the transport starts (so that no link comes up unseen by
    // the distribution and its global registry): until then there is nobody to send to.
    Transport* t = sending_.load(std::memory_order_acquire);
    return t ? t->send(to, message) : std::optional<SendError>(SendError::nodedown);
  }
  void close_link(const protocol::NodeId& to, const std::string& reason) override {
    if (Transport* t = sending_.load(std::memory_order_acquire)) t->close_link(to, reason);
  }
  std::optional<SendError> send_queued(const protocol::NodeId& to,
                                       const protocol::Message& message) override {
    Transport* t = sending_.load(std::memory_order_acquire);
    return t ? t->send_queued(to, message) : std::optional<SendError>(SendError::nodedown);
  }

  /// Membership drives the links (on the membership thread): an alive member gets one, a
  /// failed or left one loses it, one whose data address changed gets a new one there. A
  /// suspect keeps its link: only the verdict closes it (see "Who closes a link", cluster.hpp).
  void on_member_event(const membership::Event& e) {
    const membership::Member& m = e.member;
    const std::string name = m.id.full_name();
    if (name == self_name_) {
      // This node's own address changed (the driver reports that as `updated` about self):
      // every link went through the old address and is dead; link anew from the new one.
      if (e.kind == membership::EventKind::updated) relink_all();
      return;
    }
    switch (e.kind) {
      case membership::EventKind::joined:
      case membership::EventKind::alive:
      case membership::EventKind::updated: {
        auto [known, fresh] = data_addresses_.try_emplace(name, m.id.creation, m.meta.data);
        const bool moved =
            !fresh && known->second.first == m.id.creation && known->second.second != m.meta.data;
        known->second = {m.id.creation, m.meta.data};
        if (moved) {
          // Same run, new address: its link to the old one is dead, and the old address must
          // not be redialed. (A new run is handled by failed + joined.)
          log_("info", "member " + name + " moved to " + m.meta.data.to_string() +
                           ": its link is made anew");
          transport_->disconnect(name);
        }
        if (m.state == membership::MemberState::alive) link_to(m);
        break;
      }
      case membership::EventKind::failed:
      case membership::EventKind::left: {
        // A restarted member may already be linked under its new creation: keep that link.
        const auto linked = transport_->peer(name);
        if (!linked || linked->creation == m.id.creation) transport_->disconnect(name);
        // A dial that never reached it is known by its address only: give it up too, unless a
        // newer run of the name (maybe at that same address) came since.
        const auto known = data_addresses_.find(name);
        if (known != data_addresses_.end() && known->second.first == m.id.creation) {
          transport_->stop_dialing(known->second.second.to_string(), name);
        }
        break;
      }
      case membership::EventKind::suspect:
        break;
    }
  }

  /// Closes every link and makes the ones this node dials again (the others dial us).
  void relink_all() {
    for (const auto& peer : transport_->peers()) transport_->disconnect(peer.full_name());
    if (!membership_) return;
    for (const auto& m : membership_->members()) {
      if (m.id.full_name() != self_name_ && m.state == membership::MemberState::alive) link_to(m);
    }
  }

  void link_to(const membership::Member& m) {
    // One dialer per pair: the smaller name dials, the other end accepts.
    if (!(self_name_ < m.id.full_name()) || m.meta.data.port == 0) return;
    if (auto dialing = transport_->connect(m.meta.data.to_string()); !dialing) {
      log_("warning", "member " + m.id.full_name() + " has a data address we can not dial (" +
                          m.meta.data.to_string() + "): " + dialing.error().to_string());
    }
  }

  Node& node_;
  std::unique_ptr<Transport> transport_;
  std::atomic<Transport*> sending_{nullptr};  // transport_, once started
  std::unique_ptr<MembershipDriver> membership_;
  std::string self_name_;
  std::function<void(std::string_view, std::string_view)> log_;
  /// Each member's run (creation) and data address as last seen (membership thread only).
  std::map<std::string, std::pair<uint64_t, membership::Address>> data_addresses_;
  /// Stops membership and the transport, once; true for the caller that did it.
  bool shut() {
    if (stopped_.exchange(true)) return false;
    // Leave first (bounded), so the others report `left` and drop their links on their own.
    if (membership_) membership_->stop();
    if (transport_) transport_->stop();  // node_down for every link, then silence
    return true;
  }
  /// The node is shutting down (or was detached): stop using it.
  void detached() override { shut(); }

  std::atomic<bool> stopped_{false};
};

namespace {

Result<std::unique_ptr<MembershipDriver>> start_membership(
    ClusterOptions& config, const protocol::NodeId& self, uint16_t port,
    const std::function<void(std::string_view, std::string_view)>& log, Cluster::Bridge& bridge);

}  // namespace

Result<std::unique_ptr<Cluster>> Cluster::start(Node& node, ClusterOptions config) {
  if (config.cookie.empty()) return Error(ErrorCode::badarg, "cluster start: a cookie is required");
  if (config.transport.hidden && config.gossip)
    return Error(ErrorCode::badarg, "cluster start: a hidden node joins no membership (no gossip)");
  if (distribution::self(node))
    return Error(ErrorCode::already_started,
                 "cluster start: node " + node.name() + " is already distributed");
  auto bridge = std::make_shared<Bridge>(node);
  TransportOptions t = std::move(config.transport);
  const auto user_log = t.log;  // also the membership driver's, when set
  t.cluster = config.cluster;
  t.cookie = config.cookie;
  t.self = protocol::NodeId{config.name, config.host, protocol::new_creation()};
  t.listen_host = config.listen_host.empty() ? config.host : config.listen_host;
  t.listen_port = config.port;
  t.faults = config.faults;
  if (config.gossip) {
    // Membership's verdict closes links; the transport's timeout is only the backstop.
    if (config.gossip_dead_link_timeout <= t.heartbeat_interval)
      return Error(ErrorCode::badarg,
                   "cluster start: gossip_dead_link_timeout must exceed the heartbeat interval");
    t.dead_link_timeout = config.gossip_dead_link_timeout;
  }
  auto self = t.self;
  // The parts' errors keep their code (badarg, bad_address, unresolved, listen_failed); the
  // context says which node's start failed.
  auto failed = [&self](const Error& e) {
    return Error(e.code(), "cluster start of " + self.full_name() + ": " + e.context());
  };
  distribution::attach(node, self, bridge, std::move(config.global_resolver));
  auto transport = Transport::start(std::move(t), *bridge);
  if (!transport) {
    distribution::detach(node);
    return failed(transport.error());
  }
  bridge->transport_ = std::move(transport).value();
  bridge->sending_.store(bridge->transport_.get(), std::memory_order_release);
  bridge->self_name_ = self.full_name();
  bridge->log_ = user_log
                     ? user_log
                     : [who = self.full_name()](std::string_view level, std::string_view text) {
                         if (level != "debug") {
                           std::fprintf(stderr, "otp-cluster %s: %.*s: %.*s\n", who.c_str(),
                                        static_cast<int>(level.size()), level.data(),
                                        static_cast<int>(text.size()), text.data());
                         }
                       };
  if (config.gossip) {
    auto membership = start_membership(config, self, bridge->transport_->port(), user_log, *bridge);
    if (!membership) {
      bridge->shut();
      distribution::detach(node);
      return failed(membership.error());
    }
    bridge->membership_ = std::move(membership).value();
  }
  return std::unique_ptr<Cluster>(new Cluster(std::move(bridge)));
}

namespace {

Result<std::unique_ptr<MembershipDriver>> start_membership(
    ClusterOptions& config, const protocol::NodeId& self, uint16_t port,
    const std::function<void(std::string_view, std::string_view)>& log, Cluster::Bridge& bridge) {
  MembershipDriverOptions m;
  m.self = self;
  m.gossip = std::move(*config.gossip);
  if (m.gossip.listen_host.empty() && m.gossip.host.empty()) {
    m.gossip.listen_host = config.listen_host.empty() ? config.host : config.listen_host;
  }
  m.gossip.membership.cluster = config.cluster;
  m.gossip.membership.cookie = config.cookie;
  m.metadata.data = membership::Address{config.host, port};
  m.on_event = [&bridge, user = std::move(config.on_member_event)](const membership::Event& e) {
    if (user) user(e);  // first: a nodedown this event causes comes after the user saw it
    bridge.on_member_event(e);
  };
  m.log = log;  // empty: the driver's own default (stderr)
  m.faults = config.faults;
  return MembershipDriver::start(std::move(m));
}

}  // namespace

Cluster::Cluster(std::shared_ptr<Bridge> bridge) : bridge_(std::move(bridge)) {}

Cluster::~Cluster() {
  stop();
}

const protocol::NodeId& Cluster::self() const {
  return bridge_->transport_->self();
}

uint16_t Cluster::port() const {
  return bridge_->transport_->port();
}

Result<void> Cluster::connect(const std::string& host_port) {
  auto dialing = bridge_->transport_->connect(host_port);
  if (!dialing)
    return Error(dialing.error().code(),
                 "connect to " + host_port + ": " + dialing.error().context());
  return {};
}

std::vector<std::string> Cluster::nodes() const {
  return distribution::nodes(bridge_->node_);
}

std::vector<std::string> Cluster::hidden_nodes() const {
  return distribution::hidden_nodes(bridge_->node_);
}

TransportStats Cluster::stats() const {
  return bridge_->transport_->stats();
}

std::vector<membership::Member> Cluster::members() const {
  if (!bridge_->membership_) return {};
  return bridge_->membership_->members();
}

std::optional<uint16_t> Cluster::gossip_port() const {
  if (!bridge_->membership_) return std::nullopt;
  return bridge_->membership_->port();
}

membership::Stats Cluster::membership_stats() const {
  return bridge_->membership_ ? bridge_->membership_->stats() : membership::Stats{};
}

DriverStats Cluster::membership_driver_stats() const {
  return bridge_->membership_ ? bridge_->membership_->driver_stats() : DriverStats{};
}

Cluster::SubscriptionId Cluster::subscribe(std::function<void(const membership::Event&)> callback) {
  if (!bridge_->membership_) return 0;
  return bridge_->membership_->subscribe(std::move(callback));
}

Cluster::SubscriptionId Cluster::subscribe(const Pid& pid) {
  if (!bridge_->membership_) return 0;
  // The subscription removes itself once pid is gone (checked at each event).
  auto id = std::make_shared<std::atomic<SubscriptionId>>(0);
  MembershipDriver* driver = bridge_->membership_.get();
  const SubscriptionId sid = driver->subscribe([pid, id, driver](const membership::Event& e) {
    if (!alive(pid)) {
      if (const SubscriptionId mine = id->load()) driver->unsubscribe(mine);
      return;
    }
    send(pid, Message(e));
  });
  id->store(sid);
  return sid;
}

void Cluster::unsubscribe(SubscriptionId id) {
  if (bridge_->membership_ && id != 0) bridge_->membership_->unsubscribe(id);
}

bool Cluster::leaving() const {
  return bridge_->stopped_.load(std::memory_order_acquire);
}

void Cluster::stop() {
  // When the node shut down first, it detached and stopped us already: it may be gone now.
  if (bridge_->shut()) distribution::detach(bridge_->node_);
}

}  // namespace otp::cluster
