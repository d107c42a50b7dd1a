// Private: processes of other nodes, as this node sees them. A Pid of another node points at a
// RemoteProcess, a Process whose every operation (deliver, monitor, link, call) becomes a
// protocol message on the DistributionChannel; so the runtime (gen_server, supervisors, links)
// works on remote pids without knowing it. Distribution does the other direction: it turns
// incoming protocol messages into local deliveries, and fails every call, monitor and link that
// crosses to a node when that node goes down.
//
// Bookkeeping per remote node incarnation (RemoteNode), so that a nodedown can be total:
//   watches   local watchers (monitors, pending calls) of its processes -> Down(noconnection)
//   links     (local pid, its process) pairs -> exit signals with reason noconnection
//   incoming  its processes' monitors of ours -> removed, so nothing leaks
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
#include "otp/server_ref.hpp"
#include "process_control.hpp"

namespace otp::detail {

class Distribution;

/// One incarnation (name@host#creation) of another node.
struct RemoteNode {
  RemoteNode(Distribution& dist, protocol::NodeId id, uint32_t serial)
      : dist(dist), id(std::move(id)), serial(serial), label(this->id.full_name()) {}

  struct Watch {
    std::shared_ptr<Endpoint> watcher;
    Pid target;
  };
  struct IncomingMonitor {
    Pid target;  // ours
    Ref ref;     // the local monitor placed on it
  };

  Distribution& dist;
  const protocol::NodeId id;
  const uint32_t serial;
  const std::string label;  // "name@host"

  std::mutex mx;
  bool up = false;          // a link to this incarnation is established
  bool superseded = false;  // a newer incarnation of this name came up: it is gone for good
  std::unordered_map<uint64_t, Watch> watches;             // our ref -> watcher
  std::set<std::pair<Pid, uint64_t>> links;                // (our pid, its process id)
  std::unordered_map<uint64_t, IncomingMonitor> incoming;  // its ref id -> our monitor
};

/// A process on another node (or, with a name, `{Name, Node}`).
class RemoteProcess final : public Process {
 public:
  RemoteProcess(NodeCore* core, std::shared_ptr<RemoteNode> node, uint64_t id,
                std::string name = {});

  bool is_remote() const override { return true; }
  bool reachable() const override;
  void deliver(Envelope&& e, bool urgent) override;
  bool add_monitor(Ref ref, std::shared_ptr<Endpoint> watcher) override;
  void remove_monitor(Ref ref) override;
  bool begin_call(Envelope&& call) override;
  void end_call(Ref tag) override;

  const std::shared_ptr<RemoteNode>& remote_node() const { return node_; }
  protocol::Pid wire_pid() const { return {node_->id, id()}; }

 protected:
  void link_remote(Process& local) override;
  void unlink_remote(Process& local) override;

 private:
  protocol::Target target() const;
  /// Tells watcher (at once, asynchronously) that this process can not be reached.
  void unreachable(Endpoint& watcher, Ref ref, bool superseded);

  std::shared_ptr<RemoteNode> node_;
  std::string name_;
};

class Distribution {
 public:
  explicit Distribution(NodeCore& core);

  void attach(protocol::NodeId self, std::shared_ptr<DistributionChannel> channel);
  void detach();
  bool attached() const { return attached_.load(std::memory_order_acquire); }
  const protocol::NodeId& self() const { return self_; }
  NodeCore& core() { return core_; }

  // -- pids and refs across the wire --
  /// The wire form of any pid known here (this node's, another local Node's, a remote one).
  std::optional<protocol::Pid> to_wire(const Pid& pid) const;
  /// The pid a wire pid stands for: a local process (or a dead placeholder), or a remote proxy.
  Pid from_wire(const protocol::Pid& pid);
  /// A proxy for {name, node}; nodedown when that node is not connected.
  Result<Pid> name_proxy(const RemoteName& name, const char* operation);

  // -- transport events --
  void node_up(const protocol::NodeId& peer);
  void node_down(const protocol::NodeId& peer, const std::string& reason);
  void receive(const protocol::NodeId& peer, protocol::Message&& message);

  std::vector<std::string> nodes() const;
  void monitor_nodes(const Pid& pid);

  /// Sends on the channel; nodedown when detached.
  std::optional<SendError> send(const RemoteNode& to, const protocol::Message& message);

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
  std::atomic<bool> attached_{false};

  mutable std::mutex mx_;
  std::unordered_map<protocol::NodeId, std::shared_ptr<RemoteNode>> nodes_;  // every incarnation
  std::unordered_map<std::string, std::shared_ptr<RemoteNode>> current_;     // by name@host
  std::vector<Pid> node_monitors_;
};

Reason reason_from_wire(const protocol::ExitReason& r);
protocol::ExitReason reason_to_wire(const Reason& r);

}  // namespace otp::detail
