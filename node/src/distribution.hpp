// Private: Distribution, the runtime's side of being a distributed node. It turns incoming
// protocol messages into local deliveries (distribution_incoming.cpp), knows every incarnation of
// every other node (RemoteNode, remote_process.hpp) and fails every call, monitor and link that
// crosses to a node when that node goes down (distribution.cpp); payloads and reasons cross the
// wire through distribution_wire.cpp.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "envelope.hpp"
#include "otp/distribution.hpp"
#include "otp/global/name_table.hpp"
#include "otp/server_ref.hpp"
#include "process_control.hpp"
#include "remote_process.hpp"

namespace otp::detail {

class NodeGlobalRegistry;

class Distribution {
 public:
  explicit Distribution(NodeCore& core);

  void attach(protocol::NodeId self, std::shared_ptr<DistributionChannel> channel,
              global::Resolver resolver);
  void detach();
  bool attached() const { return attached_.load(std::memory_order_acquire); }
  const protocol::NodeId& self() const { return self_; }
  NodeCore& core() { return core_; }
  /// The global name registry of the current (or last) attach; null before the first. Kept
  /// after detach (it then refuses writes and holds only this node's names).
  NodeGlobalRegistry* global() const { return global_.load(std::memory_order_acquire); }

  // -- pids and refs across the wire --
  /// The wire form of any pid known here (this node's, another local Node's, a remote one).
  std::optional<protocol::Pid> to_wire(const Pid& pid) const;
  /// The pid a wire pid stands for: a local process (or a dead placeholder), or a remote proxy.
  Pid from_wire(const protocol::Pid& pid);
  /// A proxy for {name, node}; nodedown when that node is not connected.
  Result<Pid> name_proxy(const RemoteName& name, const char* operation);

  // -- transport events --
  void node_up(const protocol::NodeId& peer, bool hidden);
  void node_down(const protocol::NodeId& peer, const std::string& reason);
  void receive(const protocol::NodeId& peer, protocol::Message&& message);

  /// The connected nodes, hidden ones (true) or the others (false).
  std::vector<std::string> nodes(bool hidden) const;
  void monitor_nodes(const Pid& pid);

  /// Sends on the channel; nodedown when detached.
  std::optional<SendError> send(const RemoteNode& to, const protocol::Message& message);
  /// The same to a node run by its id (the global registry's traffic).
  std::optional<SendError> send_to(const protocol::NodeId& to, const protocol::Message& message);
  /// Closes the link to `to` so that it is made anew (DistributionChannel::close_link).
  void close_link(const protocol::NodeId& to, const std::string& reason);
  /// send_to, but only queued on this thread (DistributionChannel::send_queued).
  std::optional<SendError> send_queued_to(const protocol::NodeId& to,
                                          const protocol::Message& message);

  /// Says what a payload is for ("call to <0.5.0>"), only when an error needs it: building the
  /// text per message would cost allocations on every send and receive.
  using Context = std::function<std::string()>;
  /// User messages <-> payloads (through the registered remote types).
  Result<protocol::Payload> encode(const Message& message, const Context& context);
  Result<Message> decode(const protocol::Payload& payload, const Context& context);

 private:
  std::shared_ptr<RemoteNode> node_for(const protocol::NodeId& id);
  std::shared_ptr<RemoteNode> find_node(const protocol::NodeId& id) const;
  /// The local process a wire target names, or nullptr.
  std::shared_ptr<Process> local_target(const protocol::Target& target);
  void notify_node_monitors(const Message& event);

  void on_send(RemoteNode& from, protocol::Send&& m, EnvelopeKind kind);
  void on_call(const std::shared_ptr<RemoteNode>& from, protocol::Call&& m);
  void on_reply(RemoteNode& from, protocol::Reply&& m);
  void on_monitor(const std::shared_ptr<RemoteNode>& from, protocol::Monitor&& m);
  void on_demonitor(RemoteNode& from, const protocol::Demonitor& m);
  void on_down(RemoteNode& from, protocol::Down&& m);
  void on_link(RemoteNode& from, const protocol::Link& m);
  void on_unlink(RemoteNode& from, const protocol::Unlink& m);
  void on_exit(RemoteNode& from, const protocol::Exit& m);

  NodeCore& core_;
  protocol::NodeId self_;  // written once by attach, before attached_ is set
  std::shared_ptr<DistributionChannel> channel_;
  /// Every registry an attach made (a node attached again after a detach gets a new one, for
  /// its new identity), kept while the node lives: a reader that loaded global_ just before a
  /// re-attach still uses a live object.
  std::vector<std::shared_ptr<NodeGlobalRegistry>> registries_;
  std::atomic<NodeGlobalRegistry*> global_{nullptr};
  std::atomic<bool> attached_{false};

  mutable std::mutex mx_;
  std::unordered_map<protocol::NodeId, std::shared_ptr<RemoteNode>> nodes_;  // every incarnation
  std::unordered_map<std::string, std::shared_ptr<RemoteNode>> current_;     // by name@host
  std::vector<Pid> node_monitors_;
};

Reason reason_from_wire(const protocol::ExitReason& r);
protocol::ExitReason reason_to_wire(const Reason& r);

}  // namespace otp::detail
