// Distribution's incoming side: each protocol message from another node becomes the local
// operation it stands for (a delivery, a call with a guard that answers over the wire, a
// monitor relayed back as a wire Down, a link, an exit signal). See distribution.hpp.
#include <optional>

#include "distribution.hpp"
#include "global_registry.hpp"
#include "node_core.hpp"
#include "remote_envelopes.hpp"
#include "remote_types.hpp"
#include "system_messages.hpp"

namespace otp::detail {

namespace {

/// Answers one remote call: it is the call's reply_to and also watches the server, so the
/// caller hears of a crash without a monitor crossing the wire. One-shot.
class RemoteCallGuard final : public Endpoint {
 public:
  RemoteCallGuard(std::shared_ptr<RemoteNode> node, protocol::Pid caller, protocol::Ref ref,
                  protocol::Target target)
      : node_(std::move(node)),
        caller_(std::move(caller)),
        ref_(std::move(ref)),
        target_(std::move(target)) {}

  /// "call to <target> on <this node>", for errors only.
  std::string context() const {
    return "call to " + protocol::to_string(target_) + " on " + node_->dist.self().full_name();
  }

  void bind(std::shared_ptr<Process> server, Ref tag) {
    server_ = std::move(server);
    tag_ = tag;
  }

  void deliver(Envelope&& e, bool) override {
    if (done_.exchange(true)) return;
    if (server_) server_->end_call(tag_);
    protocol::Reply reply{.to = caller_, .ref = ref_, .result = protocol::Payload{}};
    switch (e.kind) {
      case EnvelopeKind::reply: {
        auto payload = node_->dist.encode(e.payload, [this] { return context() + ": reply"; });
        if (payload) {
          reply.result = std::move(payload).value();
        } else {
          reply.result = protocol::CallError{
              protocol::CallErrorCode::unknown_type, payload.error().to_string(), {}};
        }
        break;
      }
      case EnvelopeKind::reply_error: {
        const auto* err = e.payload.get_if<Error>();
        if (!err) {
          reply.result = protocol::CallError{protocol::CallErrorCode::bad_call,
                                             context() + ": an error reply without an Error",
                                             {}};
          break;
        }
        auto code = err->code() == ErrorCode::bad_call ? protocol::CallErrorCode::bad_call
                                                       : protocol::CallErrorCode::error;
        reply.result =
            protocol::CallError{code, err->context(), reason_to_wire(err->reason()), err->code()};
        break;
      }
      case EnvelopeKind::down:
        reply.result = protocol::CallError{e.reason().kind() == Reason::Kind::noproc
                                               ? protocol::CallErrorCode::noproc
                                               : protocol::CallErrorCode::exit,
                                           context(), reason_to_wire(e.reason())};
        break;
      default:
        return;
    }
    node_->dist.send(*node_, reply);
  }

 private:
  std::shared_ptr<RemoteNode> node_;
  protocol::Pid caller_;
  protocol::Ref ref_;
  protocol::Target target_;  // as the caller named it
  std::shared_ptr<Process> server_;
  Ref tag_;
  std::atomic<bool> done_{false};
};

/// A remote process's monitor of one of ours: turns the local Down into a wire Down.
class RemoteMonitorRelay final : public Endpoint {
 public:
  RemoteMonitorRelay(std::shared_ptr<RemoteNode> node, protocol::Pid watcher, protocol::Ref ref,
                     protocol::Target target)
      : node_(std::move(node)),
        watcher_(std::move(watcher)),
        ref_(std::move(ref)),
        target_(std::move(target)) {}

  void deliver(Envelope&& e, bool) override {
    if (e.kind != EnvelopeKind::down) return;
    {
      std::lock_guard<std::mutex> g(node_->mx);
      if (node_->incoming.erase(ref_.id) == 0) return;  // demonitored, or the node went down
    }
    node_->dist.send(*node_, protocol::Down{.watcher = watcher_,
                                            .ref = ref_,
                                            .process = target_,
                                            .reason = reason_to_wire(e.reason())});
  }

 private:
  std::shared_ptr<RemoteNode> node_;
  protocol::Pid watcher_;
  protocol::Ref ref_;
  protocol::Target target_;
};

}  // namespace

void Distribution::receive(const protocol::NodeId& peer, protocol::Message&& message) {
  auto node = find_node(peer);
  if (!node) return;  // only after node_up
  std::visit(
      [&](auto&& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, protocol::Send>) {
          on_send(*node, std::move(m), EnvelopeKind::info);
        } else if constexpr (std::is_same_v<M, protocol::Cast>) {
          on_send(*node, protocol::Send{std::move(m.from), std::move(m.to), std::move(m.request)},
                  EnvelopeKind::cast);
        } else if constexpr (std::is_same_v<M, protocol::Call>) {
          on_call(node, std::move(m));
        } else if constexpr (std::is_same_v<M, protocol::Reply>) {
          on_reply(*node, std::move(m));
        } else if constexpr (std::is_same_v<M, protocol::Monitor>) {
          on_monitor(node, std::move(m));
        } else if constexpr (std::is_same_v<M, protocol::Demonitor>) {
          on_demonitor(*node, m);
        } else if constexpr (std::is_same_v<M, protocol::Down>) {
          on_down(*node, std::move(m));
        } else if constexpr (std::is_same_v<M, protocol::Link>) {
          on_link(*node, m);
        } else if constexpr (std::is_same_v<M, protocol::Unlink>) {
          on_unlink(*node, m);
        } else if constexpr (std::is_same_v<M, protocol::Exit>) {
          on_exit(*node, m);
        } else if constexpr (std::is_same_v<M, protocol::NameUpdate> ||
                             std::is_same_v<M, protocol::NameSync>) {
          bool hidden = false;
          {
            std::lock_guard<std::mutex> g(node->mx);
            hidden = node->hidden;
          }
          if (hidden) {
            core_.log("warning", "dropped a " + std::string(protocol::to_string(M::kType)) +
                                     " from hidden node " + node->label +
                                     ": hidden nodes hold no global names");
          } else if (auto* g = global()) {
            g->receive(peer, std::move(m));
          }
        }
        // Handshake messages and heartbeats are the transport's.
      },
      std::move(message));
}

void Distribution::on_send(RemoteNode& from, protocol::Send&& m, EnvelopeKind kind) {
  auto target = local_target(m.to);
  if (!target) return;  // sending to a dead process drops the message, as in Erlang
  auto msg = decode(
      m.message, [&] { return "message from " + from.label + " to " + protocol::to_string(m.to); });
  if (!msg) {
    core_.log("warning", msg.error().to_string() + " (message dropped)");
    return;
  }
  if (const auto* stop = msg->get_if<StopRequest>()) {
    // gen_server::stop from another node: the stop request a local one makes.
    target->deliver(Envelope::make_signal(EnvelopeKind::stop_request, Pid(), stop->reason), false);
    return;
  }
  Envelope e;
  e.kind = kind;
  e.payload = std::move(msg).value();
  target->deliver(std::move(e), false);
}

void Distribution::on_call(const std::shared_ptr<RemoteNode>& from, protocol::Call&& m) {
  auto context = [&] {
    return "call to " + protocol::to_string(m.to) + " on " + self_.full_name();
  };
  auto answer_error = [&](protocol::CallErrorCode code, std::string detail) {
    send(*from, protocol::Reply{.to = m.from,
                                .ref = m.ref,
                                .result = protocol::CallError{code, std::move(detail), {}}});
  };
  if (core_.shutting_down())
    return answer_error(protocol::CallErrorCode::shutting_down, context() + ": node is stopping");
  auto target = local_target(m.to);
  if (!target || !target->alive())
    return answer_error(protocol::CallErrorCode::noproc, context() + ": no such process");
  if (m.request.type == kWhereisRequestType) {
    // otp::whereis of {name, node} on another node: the answer is the pid, not the server's.
    auto pid = encode(Message(target->pid()), context);
    if (!pid) return answer_error(protocol::CallErrorCode::noproc, pid.error().to_string());
    send(*from, protocol::Reply{.to = m.from, .ref = m.ref, .result = std::move(pid).value()});
    return;
  }
  auto request = decode(m.request, context);
  if (!request) {
    core_.log("warning", request.error().to_string() + " (call refused)");
    return answer_error(remote_codec(m.request.type) ? protocol::CallErrorCode::bad_payload
                                                     : protocol::CallErrorCode::unknown_type,
                        request.error().context());
  }
  auto guard = std::make_shared<RemoteCallGuard>(from, m.from, m.ref, m.to);
  Ref tag = Ref::make();
  guard->bind(target, tag);
  Envelope e;
  e.kind = EnvelopeKind::call;
  e.ref = tag;
  e.payload = std::move(request).value();
  e.reply_to = guard;
  if (!target->begin_call(std::move(e)))
    answer_error(protocol::CallErrorCode::noproc, context() + ": no such process");
}

void Distribution::on_reply(RemoteNode& from, protocol::Reply&& m) {
  if (m.ref.node != self_) return;
  RemoteNode::Watch w;
  {
    std::lock_guard<std::mutex> g(from.mx);
    auto it = from.watches.find(m.ref.id);
    if (it == from.watches.end()) return;  // the caller gave up (timeout) meanwhile
    w = std::move(it->second);
    from.watches.erase(it);
  }
  Ref tag = RuntimeAccess::ref_from_value(m.ref.id);
  auto context = [&] { return "call to " + w.target.to_string(); };
  if (auto* payload = std::get_if<protocol::Payload>(&m.result)) {
    auto value = decode(*payload, [&] { return context() + ": reply"; });
    if (!value) {
      w.watcher->deliver(error_envelope(tag, Error(ErrorCode::bad_reply, value.error().context())),
                         false);
      return;
    }
    Envelope e;
    e.kind = EnvelopeKind::reply;
    e.ref = tag;
    e.payload = std::move(value).value();
    w.watcher->deliver(std::move(e), false);
    return;
  }
  const auto& err = std::get<protocol::CallError>(m.result);
  using C = protocol::CallErrorCode;
  switch (err.code) {
    case C::noproc:
      w.watcher->deliver(down_envelope(tag, w.target, Reason::noproc()), false);
      return;
    case C::exit:
      w.watcher->deliver(down_envelope(tag, w.target, reason_from_wire(err.reason)), false);
      return;
    case C::shutting_down:
      w.watcher->deliver(error_envelope(tag, Error(ErrorCode::shutting_down, err.detail)), false);
      return;
    case C::error:
      // The server's Error value: its code crossed the wire as its id.
      w.watcher->deliver(
          error_envelope(tag, Error(err.error_code, err.detail, reason_from_wire(err.reason))),
          false);
      return;
    case C::bad_call:
    case C::unknown_type:
    case C::bad_payload:
      break;
  }
  // A bad_call carries the server's exit reason when the unmatched call crashed it.
  w.watcher->deliver(
      error_envelope(tag, Error(ErrorCode::bad_call, err.detail.empty() ? context() : err.detail,
                                reason_from_wire(err.reason))),
      false);
}

void Distribution::on_monitor(const std::shared_ptr<RemoteNode>& from, protocol::Monitor&& m) {
  auto target = local_target(m.target);
  auto relay = std::make_shared<RemoteMonitorRelay>(
      from, m.watcher, m.ref,
      target ? protocol::Target(protocol::Pid{self_, target->id()}) : m.target);
  Ref local = Ref::make();
  if (target) {
    std::lock_guard<std::mutex> g(from->mx);
    from->incoming.emplace(m.ref.id, RemoteNode::IncomingMonitor{target->pid(), local});
  }
  if (!target || !target->add_monitor(local, relay)) {
    {
      std::lock_guard<std::mutex> g(from->mx);
      from->incoming.erase(m.ref.id);
    }
    send(*from, protocol::Down{.watcher = m.watcher,
                               .ref = m.ref,
                               .process = m.target,
                               .reason = {protocol::ReasonKind::noproc, {}}});
  }
}

void Distribution::on_demonitor(RemoteNode& from, const protocol::Demonitor& m) {
  std::optional<RemoteNode::IncomingMonitor> mon;
  {
    std::lock_guard<std::mutex> g(from.mx);
    auto it = from.incoming.find(m.ref.id);
    if (it == from.incoming.end()) return;
    mon = std::move(it->second);
    from.incoming.erase(it);
  }
  RuntimeAccess::process(mon->target)->remove_monitor(mon->ref);
}

void Distribution::on_down(RemoteNode& from, protocol::Down&& m) {
  if (m.ref.node != self_) return;
  RemoteNode::Watch w;
  {
    std::lock_guard<std::mutex> g(from.mx);
    auto it = from.watches.find(m.ref.id);
    if (it == from.watches.end()) return;  // demonitored meanwhile
    w = std::move(it->second);
    from.watches.erase(it);
  }
  w.watcher->deliver(
      down_envelope(RuntimeAccess::ref_from_value(m.ref.id), w.target, reason_from_wire(m.reason)),
      false);
}

void Distribution::on_link(RemoteNode& from, const protocol::Link& m) {
  Pid remote = from_wire(m.from);
  auto local = local_target(m.to);
  if (local && local->accept_link(remote)) {
    std::lock_guard<std::mutex> g(from.mx);
    from.links.emplace(local->pid(), m.from.id);
    return;
  }
  send(
      from,
      protocol::Exit{
          .from = m.to, .to = m.from, .reason = {protocol::ReasonKind::noproc, {}}, .link = false});
}

void Distribution::on_unlink(RemoteNode& from, const protocol::Unlink& m) {
  auto local = local_target(m.to);
  if (!local) return;
  local->take_link(from_wire(m.from));
  std::lock_guard<std::mutex> g(from.mx);
  from.links.erase({local->pid(), m.from.id});
}

void Distribution::on_exit(RemoteNode& from, const protocol::Exit& m) {
  auto local = local_target(m.to);
  if (!local) return;
  if (m.link) {
    std::lock_guard<std::mutex> g(from.mx);
    from.links.erase({local->pid(), m.from.id});
  }
  local->deliver(exit_envelope(from_wire(m.from), reason_from_wire(m.reason), m.link), true);
}

}  // namespace otp::detail
