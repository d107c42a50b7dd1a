// Distribution: this node's view of the other nodes (one RemoteNode per incarnation), pids across
// the wire, and the transport's node up / down events (a nodedown fails every call, monitor and
// link that crossed to that node). Incoming messages: distribution_incoming.cpp; payloads and
// reasons on the wire: distribution_wire.cpp. See distribution.hpp.
#include "distribution.hpp"

#include <algorithm>
#include <stdexcept>

#include "global_registry.hpp"
#include "node_core.hpp"
#include "otp/process.hpp"
#include "remote_envelopes.hpp"
#include "system_messages.hpp"

namespace otp {
namespace detail {

namespace {

/// A placeholder for a pid of this node whose process is gone: every operation sees it dead.
class DeadProcess final : public Process {
 public:
  DeadProcess(NodeCore* core, uint64_t id) : Process(core, id) { set_dead(); }
  void deliver(Envelope&&, bool) override {}
};

}  // namespace

Distribution::Distribution(NodeCore& core) : core_(core) {
  register_system_messages();
}

void Distribution::attach(protocol::NodeId self, std::shared_ptr<DistributionChannel> channel,
                          global::Resolver resolver) {
  if (attached_.load()) throw std::logic_error("distribution::attach: the node is attached");
  self_ = std::move(self);
  channel_ = std::move(channel);
  auto registry = std::make_shared<NodeGlobalRegistry>(*this, self_, std::move(resolver));
  global_.store(registry.get(), std::memory_order_release);
  {
    std::lock_guard<std::mutex> g(mx_);
    registries_.push_back(std::move(registry));
  }
  attached_.store(true, std::memory_order_release);
}

void Distribution::detach() {
  if (!attached_.exchange(false)) return;
  std::vector<protocol::NodeId> up;
  {
    std::lock_guard<std::mutex> g(mx_);
    for (auto& [name, n] : current_) up.push_back(n->id);
  }
  for (auto& id : up) node_down(id, "distribution stopped");
  channel_->detached();
}

std::optional<SendError> Distribution::send(const RemoteNode& to,
                                            const protocol::Message& message) {
  return send_to(to.id, message);
}

std::optional<SendError> Distribution::send_to(const protocol::NodeId& to,
                                               const protocol::Message& message) {
  if (!attached()) return SendError::nodedown;
  return channel_->send(to, message);
}

void Distribution::close_link(const protocol::NodeId& to, const std::string& reason) {
  if (attached()) channel_->close_link(to, reason);
}

std::optional<SendError> Distribution::send_queued_to(const protocol::NodeId& to,
                                                      const protocol::Message& message) {
  if (!attached()) return SendError::nodedown;
  return channel_->send_queued(to, message);
}

std::optional<protocol::Pid> Distribution::to_wire(const Pid& pid) const {
  if (!pid) return std::nullopt;
  if (auto* r = dynamic_cast<const RemoteProcess*>(RuntimeAccess::process(pid).get()))
    return r->wire_pid();
  NodeCore* home = RuntimeAccess::process(pid)->node();
  if (home == &core_) {
    if (!attached()) return std::nullopt;
    return protocol::Pid{self_, pid.id()};
  }
  // A process of another Node object in this OS process (tests run several).
  auto& other = home->distribution();
  if (!other.attached()) return std::nullopt;
  return protocol::Pid{other.self(), pid.id()};
}

Pid Distribution::from_wire(const protocol::Pid& pid) {
  if (attached() && pid.node == self_) {
    if (auto p = core_.find_process(pid.id)) return p->pid();
    return Pid(std::make_shared<DeadProcess>(&core_, pid.id));
  }
  return Pid(std::make_shared<RemoteProcess>(&core_, node_for(pid.node), pid.id));
}

Result<Pid> Distribution::name_proxy(const RemoteName& name, const char* operation) {
  std::shared_ptr<RemoteNode> node;
  if (attached() && name.node == self_.full_name()) {
    if (auto pid = core_.whereis(name.name); pid && RuntimeAccess::process(*pid)->alive())
      return *pid;
    return Error(ErrorCode::noproc, std::string(operation) + " {" + name.name + ", " + name.node +
                                        "}: no such process");
  }
  {
    std::lock_guard<std::mutex> g(mx_);
    auto it = current_.find(name.node);
    if (it != current_.end()) node = it->second;
  }
  if (!node || !attached())
    return Error(ErrorCode::nodedown, std::string(operation) + " {" + name.name + ", " + name.node +
                                          "}: node " + name.node + " is not connected");
  return Pid(std::make_shared<RemoteProcess>(&core_, node, 0, name.name));
}

std::shared_ptr<RemoteNode> Distribution::find_node(const protocol::NodeId& id) const {
  std::lock_guard<std::mutex> g(mx_);
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : it->second;
}

std::shared_ptr<RemoteNode> Distribution::node_for(const protocol::NodeId& id) {
  std::lock_guard<std::mutex> g(mx_);
  auto& slot = nodes_[id];
  if (!slot) {
    slot = std::make_shared<RemoteNode>(*this, id, next_node_serial());
    // Another incarnation of that name is the one we know: this one is gone (node_up corrects
    // it if this one turns out to be the newer and connects).
    auto cur = current_.find(id.full_name());
    if (cur != current_.end()) slot->superseded = true;
  }
  return slot;
}

std::shared_ptr<Process> Distribution::local_target(const protocol::Target& target) {
  if (const auto* name = std::get_if<std::string>(&target)) {
    auto pid = core_.whereis(*name);
    return pid ? RuntimeAccess::process(*pid) : nullptr;
  }
  const auto& pid = std::get<protocol::Pid>(target);
  if (!attached() || pid.node != self_) return nullptr;  // an earlier incarnation of this node
  return core_.find_process(pid.id);
}

void Distribution::node_up(const protocol::NodeId& peer, bool hidden) {
  auto node = node_for(peer);
  std::vector<std::shared_ptr<RemoteNode>> older;
  {
    std::lock_guard<std::mutex> g(mx_);
    for (auto& [id, n] : nodes_)
      if (n != node && id.full_name() == peer.full_name()) older.push_back(n);
    current_[peer.full_name()] = node;
  }
  for (auto& n : older) {
    std::lock_guard<std::mutex> g(n->mx);
    n->superseded = true;
  }
  {
    std::lock_guard<std::mutex> g(node->mx);
    node->up = true;
    node->superseded = false;
    node->hidden = hidden;
  }
  if (hidden) return;                        // a tool, not a member: no names, no nodeup
  if (auto* g = global()) g->link_up(peer);  // before any message of the peer's run
  notify_node_monitors(NodeUp{peer.full_name()});
}

void Distribution::node_down(const protocol::NodeId& peer, const std::string& reason) {
  auto node = find_node(peer);
  if (!node) return;
  std::unordered_map<uint64_t, RemoteNode::Watch> watches;
  std::set<std::pair<Pid, uint64_t>> links;
  std::unordered_map<uint64_t, RemoteNode::IncomingMonitor> incoming;
  bool hidden = false;
  {
    std::lock_guard<std::mutex> g(node->mx);
    if (!node->up) return;
    node->up = false;
    hidden = node->hidden;
    watches.swap(node->watches);
    links.swap(node->links);
    incoming.swap(node->incoming);
  }
  for (auto& [ref, w] : watches)
    w.watcher->deliver(
        down_envelope(RuntimeAccess::ref_from_value(ref), w.target, Reason::noconnection()), false);
  for (auto& [local, remote_id] : links) {
    Pid remote(std::make_shared<RemoteProcess>(&core_, node, remote_id));
    RuntimeAccess::process(local)->deliver(exit_envelope(remote, Reason::noconnection(), true),
                                           true);
  }
  for (auto& [id, m] : incoming) RuntimeAccess::process(m.target)->remove_monitor(m.ref);
  if (hidden) return;
  if (auto* g = global()) g->link_down(peer);
  notify_node_monitors(NodeDown{peer.full_name(), reason});
}

std::vector<std::string> Distribution::nodes(bool hidden) const {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> g(mx_);
  for (auto& [name, n] : current_) {
    std::lock_guard<std::mutex> gn(n->mx);
    if (n->up && n->hidden == hidden) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Distribution::monitor_nodes(const Pid& pid) {
  std::lock_guard<std::mutex> g(mx_);
  node_monitors_.push_back(pid);
}

void Distribution::notify_node_monitors(const Message& event) {
  std::vector<Pid> to;
  {
    std::lock_guard<std::mutex> g(mx_);
    std::erase_if(node_monitors_, [](const Pid& p) { return !RuntimeAccess::process(p)->alive(); });
    to = node_monitors_;
  }
  for (auto& p : to) otp::send(p, event);
}

}  // namespace detail

// -- public API ----------------------------------------------------------------------------------

namespace distribution {

void attach(Node& node, protocol::NodeId self, std::shared_ptr<DistributionChannel> channel,
            global::Resolver resolver) {
  RuntimeAccess::core(node).distribution().attach(std::move(self), std::move(channel),
                                                  std::move(resolver));
}
void detach(Node& node) {
  RuntimeAccess::core(node).distribution().detach();
}
std::optional<protocol::NodeId> self(Node& node) {
  auto& d = RuntimeAccess::core(node).distribution();
  if (!d.attached()) return std::nullopt;
  return d.self();
}
void node_up(Node& node, const protocol::NodeId& peer, bool hidden) {
  RuntimeAccess::core(node).distribution().node_up(peer, hidden);
}
void node_down(Node& node, const protocol::NodeId& peer, const std::string& reason) {
  RuntimeAccess::core(node).distribution().node_down(peer, reason);
}
void receive(Node& node, const protocol::NodeId& peer, protocol::Message&& message) {
  RuntimeAccess::core(node).distribution().receive(peer, std::move(message));
}
std::vector<std::string> nodes(Node& node) {
  return RuntimeAccess::core(node).distribution().nodes(false);
}
std::vector<std::string> hidden_nodes(Node& node) {
  return RuntimeAccess::core(node).distribution().nodes(true);
}
void monitor_nodes(Node& node, const Pid& pid) {
  RuntimeAccess::core(node).distribution().monitor_nodes(pid);
}
std::string node_of(Node& node, const Pid& pid) {
  if (auto* r = dynamic_cast<const detail::RemoteProcess*>(RuntimeAccess::process(pid).get()))
    return r->remote_node()->label;
  auto& d = RuntimeAccess::core(node).distribution();
  return d.attached() ? d.self().full_name() : node.name();
}

}  // namespace distribution

}  // namespace otp
