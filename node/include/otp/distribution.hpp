// The seam between a Node and the transport that links it to other nodes (cluster/'s TCP
// transport implements it; node/ itself knows no network). Once attached, a Pid of another node
// works everywhere a local one does: send, gen_server::call/cast, monitor, link, exit, and
// {Name, Node} addressing (otp::remote_name). Users normally go through otp::cluster::Cluster,
// which does the wiring below:
//
// clang-format off
//   class Channel : public otp::DistributionChannel { ... transport->send(...) ... };
//   otp::distribution::attach(node, self_id, channel);
//   // from the transport's thread:
//   otp::distribution::node_up(node, peer, hidden);
//   otp::distribution::receive(node, peer, std::move(message));
//   otp::distribution::node_down(node, peer, "heartbeat timeout");
// clang-format on
//
// Semantics, as in distributed Erlang: messages between two processes arrive in order; a call
// to a node that is not connected fails at once with nodedown, and calls in flight fail at once
// when the node goes down; monitors of its processes fire with reason noconnection, links get
// exit signals with reason noconnection. A pid of an earlier incarnation of a node (it was
// restarted: new creation) is never delivered to the new one: calls fail with noproc, monitors
// fire with noproc.
//
// A hidden peer (a tool such as otp-ctl; the transport's link says so) is linked for messages
// only: calls, casts, sends, monitors and links to and from it work as above, but it is not in
// nodes() (hidden_nodes() lists it), node monitors get no NodeUp / NodeDown for it, and the
// global name registry neither syncs names with it nor takes its name messages.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "otp/error.hpp"
#include "otp/global/name_table.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/protocol/message.hpp"
#include "otp/protocol/node_id.hpp"

namespace otp {

/// Carries protocol messages to other nodes. Called from scheduler threads: must not block.
class DistributionChannel {
 public:
  virtual ~DistributionChannel() = default;
  /// Queues message for the node `to`; nullopt when taken, otherwise why not (otp::SendError:
  /// the runtime then fails the call or drops the message, as Erlang does for a lost connection).
  virtual std::optional<SendError> send(const protocol::NodeId& to,
                                        const protocol::Message& message) = 0;
  /// send(), but the calling thread only queues it (no write on this thread even when the link
  /// is idle): for a fan-out to every node, whose caller should not pay a write per node.
  virtual std::optional<SendError> send_queued(const protocol::NodeId& to,
                                               const protocol::Message& message) {
    return send(to, message);
  }
  /// Closes the link to `to` with reason (its node_down follows) so that it is made anew: the
  /// global registry does this when an update was refused (overload), and the next link up
  /// resyncs the names. A channel that never refuses a message may keep the default, which
  /// does nothing.
  virtual void close_link(const protocol::NodeId& /*to*/, const std::string& /*reason*/) {}
  /// Called once when the node stops being distributed (distribution::detach, or the node
  /// shutting down with the channel still attached): stop the transport and never touch the
  /// node again.
  virtual void detached() {}
};

/// Sent to processes that asked for node events (distribution::monitor_nodes), like Erlang's
/// {nodeup, Node} / {nodedown, Node}.
struct NodeUp {
  std::string node;  // "name@host"
};
/// A connected node went away (see NodeUp).
struct NodeDown {
  std::string node;
  std::string reason;  // "connection closed", "heartbeat timeout", ...
};

namespace distribution {

/// Makes node a distributed node called `self` (name, host, creation), with its global name
/// registry (otp/global.hpp) resolving conflicts by `resolver` (empty: global::earlier_wins; it
/// must be the same on every node). Once per node.
void attach(Node& node, protocol::NodeId self, std::shared_ptr<DistributionChannel> channel,
            global::Resolver resolver = {});
/// Detaches (transport stop; Node::shutdown does it too): every remote call, monitor and link is
/// failed as if every node went down, then the channel is told (DistributionChannel::detached).
void detach(Node& node);

/// This node's identity; nullopt before attach.
std::optional<protocol::NodeId> self(Node& node);

/// Transport events, from any thread. node_up: a link to peer is ready (NodeUp goes out, and the
/// global registry syncs its names with peer, unless the link is hidden: see above).
void node_up(Node& node, const protocol::NodeId& peer, bool hidden = false);
/// The link to peer is gone: calls in flight fail with nodedown, monitors and links fire with
/// noconnection, NodeDown goes out with reason (not for a hidden peer).
void node_down(Node& node, const protocol::NodeId& peer, const std::string& reason);
/// A message arrived from peer (in order per peer); a malformed one is logged and dropped.
void receive(Node& node, const protocol::NodeId& peer, protocol::Message&& message);

/// The connected nodes ("name@host"), hidden ones left out.
std::vector<std::string> nodes(Node& node);
/// The connected hidden nodes ("name@host"), like Erlang's nodes(hidden).
std::vector<std::string> hidden_nodes(Node& node);
/// Sends NodeUp / NodeDown messages to pid until it exits (net_kernel:monitor_nodes).
void monitor_nodes(Node& node, const Pid& pid);

/// The node a pid lives on ("name@host"); this node's name for local pids.
std::string node_of(Node& node, const Pid& pid);

}  // namespace distribution
}  // namespace otp
