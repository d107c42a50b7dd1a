// RemoteProcess: local operations on a pid of another node become protocol messages on the
// distribution channel. See remote_process.hpp.
#include "remote_process.hpp"

#include "distribution.hpp"
#include "node_core.hpp"
#include "otp/process.hpp"
#include "remote_envelopes.hpp"
#include "system_messages.hpp"

namespace otp::detail {

RemoteProcess::RemoteProcess(NodeCore* core, std::shared_ptr<RemoteNode> node, uint64_t id,
                             std::string name)
    : Process(core, id, node->serial), node_(std::move(node)), name_(std::move(name)) {
  label = name_.empty() ? "<" + node_->label + "." + std::to_string(id) + ".0>"
                        : "{" + name_ + ", " + node_->label + "}";
}

protocol::Target RemoteProcess::target() const {
  if (!name_.empty()) return name_;
  return wire_pid();
}

bool RemoteProcess::reachable() const {
  std::lock_guard<std::mutex> g(node_->mx);
  return node_->up && !node_->superseded;
}

void RemoteProcess::unreachable(Endpoint& watcher, Ref ref, bool superseded) {
  watcher.deliver(down_envelope(ref, pid(), superseded ? Reason::noproc() : Reason::noconnection()),
                  false);
}

void RemoteProcess::deliver(Envelope&& e, bool) {
  auto& dist = node_->dist;
  switch (e.kind) {
    case EnvelopeKind::info:
    case EnvelopeKind::cast: {
      auto payload = dist.encode(e.payload, [this] { return "send to " + label; });
      if (!payload) {
        dist.core().log("error", payload.error().to_string() + " (message dropped)");
        return;
      }
      auto from = dist.to_wire(otp::self()).value_or(protocol::Pid{dist.self(), 0});
      if (e.kind == EnvelopeKind::cast) {
        dist.send(*node_, protocol::Cast{.from = std::move(from),
                                         .to = target(),
                                         .request = std::move(payload).value()});
      } else {
        dist.send(*node_, protocol::Send{.from = std::move(from),
                                         .to = target(),
                                         .message = std::move(payload).value()});
      }
      return;
    }
    case EnvelopeKind::exit: {
      if (!name_.empty()) return;
      // exit(pid, reason) from outside any process has no sender: pid 0 of this node.
      auto from = dist.to_wire(e.from()).value_or(protocol::Pid{dist.self(), 0});
      if (e.via_link()) {
        std::lock_guard<std::mutex> g(node_->mx);
        node_->links.erase({e.from(), id()});
      }
      dist.send(*node_, protocol::Exit{.from = std::move(from),
                                       .to = wire_pid(),
                                       .reason = reason_to_wire(e.reason()),
                                       .link = e.via_link()});
      return;
    }
    case EnvelopeKind::stop_request: {
      // gen_server::stop: a Send the other node turns back into a stop request.
      auto payload =
          dist.encode(Message(StopRequest{e.reason()}), [this] { return "stop of " + label; });
      if (!payload) {
        dist.core().log("error", payload.error().to_string() + " (stop request dropped)");
        return;
      }
      auto from = dist.to_wire(otp::self()).value_or(protocol::Pid{dist.self(), 0});
      dist.send(*node_, protocol::Send{.from = std::move(from),
                                       .to = target(),
                                       .message = std::move(payload).value()});
      return;
    }
    default:
      dist.core().log("warning", "dropping a " + std::to_string(static_cast<int>(e.kind)) +
                                     " envelope addressed to the remote process " + label);
  }
}

bool RemoteProcess::add_monitor(Ref ref, std::shared_ptr<Endpoint> watcher) {
  auto& dist = node_->dist;
  bool reachable = false;
  bool superseded = false;
  {
    std::lock_guard<std::mutex> g(node_->mx);
    superseded = node_->superseded;
    reachable = node_->up && !superseded;
    if (reachable) node_->watches.emplace(ref.value(), RemoteNode::Watch{watcher, pid()});
  }
  // Not reachable: the watcher hears it as a Down (noconnection), as in Erlang.
  if (!reachable) {
    unreachable(*watcher, ref, superseded);
    return true;
  }
  auto from = dist.to_wire(endpoint_pid(watcher)).value_or(protocol::Pid{dist.self(), 0});
  auto err = dist.send(*node_, protocol::Monitor{.watcher = std::move(from),
                                                 .target = target(),
                                                 .ref = protocol::Ref{dist.self(), ref.value()}});
  if (!err) return true;
  {
    std::lock_guard<std::mutex> g(node_->mx);
    if (node_->watches.erase(ref.value()) == 0) return true;  // node_down delivered it already
    superseded = node_->superseded || *err == SendError::stale;
  }
  unreachable(*watcher, ref, superseded);
  return true;
}

void RemoteProcess::remove_monitor(Ref ref) {
  bool had = false;
  {
    std::lock_guard<std::mutex> g(node_->mx);
    had = node_->watches.erase(ref.value()) > 0;
  }
  if (!had) return;
  auto& dist = node_->dist;
  dist.send(*node_, protocol::Demonitor{.watcher = protocol::Pid{dist.self(), 0},
                                        .target = target(),
                                        .ref = protocol::Ref{dist.self(), ref.value()}});
}

bool RemoteProcess::begin_call(Envelope&& call) {
  auto& dist = node_->dist;
  Ref tag = call.ref;
  auto reply_to = call.reply_to;
  auto context = [this] { return "call to " + label; };
  auto request = dist.encode(call.payload, context);
  if (!request) {
    reply_to->deliver(error_envelope(tag, request.error()), false);
    return true;
  }
  bool superseded = false;
  bool watching = false;
  {
    std::lock_guard<std::mutex> g(node_->mx);
    superseded = node_->superseded;
    if (node_->up && !superseded) {
      node_->watches.emplace(tag.value(), RemoteNode::Watch{reply_to, pid()});
      watching = true;
    }
  }
  if (!watching) {
    unreachable(*reply_to, tag, superseded);
    return true;
  }
  auto from = dist.to_wire(otp::self()).value_or(protocol::Pid{dist.self(), 0});
  auto err = dist.send(*node_, protocol::Call{.from = std::move(from),
                                              .to = target(),
                                              .ref = protocol::Ref{dist.self(), tag.value()},
                                              .request = std::move(request).value()});
  if (!err) return true;
  {
    std::lock_guard<std::mutex> g(node_->mx);
    if (node_->watches.erase(tag.value()) == 0) return true;  // node_down answered it
    superseded = node_->superseded;
  }
  if (*err == SendError::overload || *err == SendError::too_large) {
    reply_to->deliver(
        error_envelope(tag,
                       Error(*err == SendError::overload ? ErrorCode::overload : ErrorCode::badarg,
                             context() + (*err == SendError::overload
                                              ? ": the link to the node is saturated"
                                              : ": the request is larger than a frame"))),
        false);
  } else {
    unreachable(*reply_to, tag, superseded || *err == SendError::stale);
  }
  return true;
}

void RemoteProcess::end_call(Ref tag) {
  std::lock_guard<std::mutex> g(node_->mx);
  node_->watches.erase(tag.value());
}

void RemoteProcess::link_remote(Process& local) {
  auto& dist = node_->dist;
  Pid me = pid();
  Pid them = local.pid();
  bool up = false;
  {
    std::lock_guard<std::mutex> g(node_->mx);
    up = node_->up && !node_->superseded && name_.empty();
    if (up) node_->links.emplace(them, id());
  }
  if (!up) {
    local.deliver(
        exit_envelope(me, node_->superseded ? Reason::noproc() : Reason::noconnection(), false),
        true);
    return;
  }
  if (!local.accept_link(me)) {
    std::lock_guard<std::mutex> g(node_->mx);
    node_->links.erase({them, id()});
    return;
  }
  auto from = dist.to_wire(them);
  if (from) dist.send(*node_, protocol::Link{.from = std::move(*from), .to = wire_pid()});
}

void RemoteProcess::unlink_remote(Process& local) {
  Pid them = local.pid();
  local.take_link(pid());
  {
    std::lock_guard<std::mutex> g(node_->mx);
    node_->links.erase({them, id()});
  }
  auto& dist = node_->dist;
  auto from = dist.to_wire(them);
  if (from) dist.send(*node_, protocol::Unlink{.from = std::move(*from), .to = wire_pid()});
}

}  // namespace otp::detail
