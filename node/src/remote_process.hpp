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

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "envelope.hpp"
#include "otp/protocol/envelope.hpp"
#include "otp/protocol/node_id.hpp"
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
  bool hidden = false;      // linked as a hidden node (distribution.hpp): no node events
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

}  // namespace otp::detail
