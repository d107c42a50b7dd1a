// Cluster: the transport plugged into a Node's distribution.
#include "otp/cluster/cluster.hpp"

#include <random>

#include "otp/distribution.hpp"

namespace otp::cluster {

namespace {

uint32_t fresh_creation() {
  std::random_device rd;
  uint32_t c = 0;
  while (c == 0) c = rd();
  return c;
}

ChannelError to_channel_error(SendError e) {
  switch (e) {
    case SendError::nodedown:
      return ChannelError::nodedown;
    case SendError::stale:
      return ChannelError::stale;
    case SendError::overload:
      return ChannelError::overload;
    case SendError::too_large:
      return ChannelError::too_large;
  }
  return ChannelError::nodedown;
}

}  // namespace

/// The transport's listener and the node's channel: both directions of the plug. It owns the
/// transport, and the node's distribution holds it, so a scheduler thread that sends while the
/// Cluster is being stopped still finds a (stopped) transport that answers nodedown.
class Cluster::Bridge final : public TransportListener, public DistributionChannel {
 public:
  explicit Bridge(Node& node) : node_(node) {}

  void on_node_up(const protocol::NodeId& peer) override { distribution::node_up(node_, peer); }
  void on_node_down(const protocol::NodeId& peer, const std::string& reason) override {
    distribution::node_down(node_, peer, reason);
  }
  void on_message(const protocol::NodeId& peer, protocol::Message&& message) override {
    distribution::receive(node_, peer, std::move(message));
  }

  std::optional<ChannelError> send(const protocol::NodeId& to,
                                   const protocol::Message& message) override {
    auto err = transport_->send(to, message);
    if (!err) return std::nullopt;
    return to_channel_error(*err);
  }

  Node& node_;
  std::unique_ptr<Transport> transport_;
  bool stopped_ = false;
};

Result<std::unique_ptr<Cluster>> Cluster::start(Node& node, ClusterConfig config) {
  if (config.cookie.empty()) return Error(ErrorCode::badarg, "cluster start: a cookie is required");
  if (distribution::self(node))
    return Error(ErrorCode::already_started,
                 "cluster start: node " + node.name() + " is already distributed");
  auto bridge = std::make_shared<Bridge>(node);
  TransportConfig t = std::move(config.transport);
  t.cluster = config.cluster;
  t.cookie = config.cookie;
  t.self = protocol::NodeId{config.name, config.host, fresh_creation()};
  t.listen_host = config.listen_host.empty() ? config.host : config.listen_host;
  t.listen_port = config.port;
  std::string error;
  auto self = t.self;
  bridge->transport_ = Transport::start(std::move(t), *bridge, &error);
  if (!bridge->transport_)
    return Error(ErrorCode::badarg, "cluster start of " + self.full_name() + ": " + error);
  distribution::attach(node, self, bridge);
  return std::unique_ptr<Cluster>(new Cluster(std::move(bridge)));
}

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
  std::string error;
  if (!bridge_->transport_->connect(host_port, &error))
    return Error(ErrorCode::badarg, "connect to " + host_port + ": " + error);
  return {};
}

std::vector<std::string> Cluster::nodes() const {
  return distribution::nodes(bridge_->node_);
}

TransportStats Cluster::stats() const {
  return bridge_->transport_->stats();
}

void Cluster::stop() {
  if (bridge_->stopped_) return;
  bridge_->stopped_ = true;
  bridge_->transport_->stop();  // node_down for every link, then silence
  distribution::detach(bridge_->node_);
}

}  // namespace otp::cluster
