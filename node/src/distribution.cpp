// Remote processes: RemoteProcess (local operations on a remote pid -> protocol messages) and
// Distribution (protocol messages -> local deliveries; nodedown cleanup). See distribution.hpp.
#include "distribution.hpp"

#include <algorithm>
#include <stdexcept>

#include "node_core.hpp"
#include "otp/process.hpp"
#include "remote_types.hpp"
#include "server_actor.hpp"

namespace otp {
namespace detail {

namespace {

/// The distribution encoding or decoding a payload on this thread: Pids inside user messages
/// need it (to_json / from_json below).
thread_local Distribution* codec_context = nullptr;

struct CodecScope {
  explicit CodecScope(Distribution* d) : saved(codec_context) { codec_context = d; }
  ~CodecScope() { codec_context = saved; }
  Distribution* saved;
};

/// A placeholder for a pid of this node whose process is gone: every operation sees it dead.
class DeadProcess final : public Process {
 public:
  DeadProcess(NodeCore* core, uint64_t id) : Process(core, id) { set_dead(); }
  void deliver(Envelope&&, bool) override {}
};

Envelope down_envelope(Ref ref, Pid from, Reason reason) {
  Envelope e = Envelope::make_signal(EnvelopeKind::down, std::move(from), std::move(reason));
  e.ref = ref;
  return e;
}

Envelope exit_envelope(Pid from, Reason reason, bool via_link) {
  return Envelope::make_signal(EnvelopeKind::exit, std::move(from), std::move(reason), via_link);
}

Envelope error_envelope(Ref ref, Error error) {
  Envelope e;
  e.kind = EnvelopeKind::reply_error;
  e.ref = ref;
  e.payload = std::move(error);
  return e;
}

/// The pid of the process an endpoint belongs to (a watcher, a caller), if it is one.
Pid endpoint_pid(const std::shared_ptr<Endpoint>& endpoint) {
  if (auto* p = dynamic_cast<Process*>(endpoint.get())) return p->pid();
  return Pid();
}

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
          reply.result = protocol::CallError{
              protocol::CallErrorCode::bad_call, context() + ": an error reply without an Error", {}};
          break;
        }
        auto code = err->code() == ErrorCode::bad_call ? protocol::CallErrorCode::bad_call
                                                       : protocol::CallErrorCode::error;
        reply.result = protocol::CallError{code, err->context(), reason_to_wire(err->reason()),
                                           err->code()};
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

// -- reasons -------------------------------------------------------------------------------------

Reason reason_from_wire(const protocol::ExitReason& r) {
  using K = protocol::ReasonKind;
  switch (r.kind) {
    case K::normal:
      return Reason::normal();
    case K::shutdown:
      return Reason::shutdown(r.detail);
    case K::kill:
      return Reason::kill();
    case K::killed:
      return Reason::killed();
    case K::noproc:
      return Reason::noproc();
    case K::noconnection:
      return Reason::noconnection();
    case K::error:
      break;
  }
  return Reason::error(r.detail);
}

protocol::ExitReason reason_to_wire(const Reason& r) {
  using K = protocol::ReasonKind;
  switch (r.kind()) {
    case Reason::Kind::normal:
      return {K::normal, {}};
    case Reason::Kind::shutdown:
      return {K::shutdown, r.detail()};
    case Reason::Kind::kill:
      return {K::kill, {}};
    case Reason::Kind::killed:
      return {K::killed, {}};
    case Reason::Kind::noproc:
      return {K::noproc, {}};
    case Reason::Kind::noconnection:
      return {K::noconnection, {}};
    case Reason::Kind::error:
      break;
  }
  return {K::error, r.detail()};
}

// -- RemoteProcess -------------------------------------------------------------------------------

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
        error_envelope(
            tag, Error(*err == SendError::overload ? ErrorCode::overload : ErrorCode::badarg,
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

// -- Distribution --------------------------------------------------------------------------------

Distribution::Distribution(NodeCore& core) : core_(core) {}

void Distribution::attach(protocol::NodeId self, std::shared_ptr<DistributionChannel> channel) {
  if (attached_.load()) throw std::logic_error("distribution::attach: the node is attached");
  self_ = std::move(self);
  channel_ = std::move(channel);
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
  if (!attached()) return SendError::nodedown;
  return channel_->send(to.id, message);
}

std::optional<protocol::Pid> Distribution::to_wire(const Pid& pid) const {
  if (!pid) return std::nullopt;
  if (auto* r = dynamic_cast<const RemoteProcess*>(pid.process().get())) return r->wire_pid();
  NodeCore* home = pid.process()->node();
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
    if (auto pid = core_.whereis(name.name); pid && pid->process()->alive()) return *pid;
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
    return pid ? pid->process() : nullptr;
  }
  const auto& pid = std::get<protocol::Pid>(target);
  if (!attached() || pid.node != self_) return nullptr;  // an earlier incarnation of this node
  return core_.find_process(pid.id);
}

void Distribution::node_up(const protocol::NodeId& peer) {
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
  }
  notify_node_monitors(NodeUp{peer.full_name()});
}

void Distribution::node_down(const protocol::NodeId& peer, const std::string& reason) {
  auto node = find_node(peer);
  if (!node) return;
  std::unordered_map<uint64_t, RemoteNode::Watch> watches;
  std::set<std::pair<Pid, uint64_t>> links;
  std::unordered_map<uint64_t, RemoteNode::IncomingMonitor> incoming;
  {
    std::lock_guard<std::mutex> g(node->mx);
    if (!node->up) return;
    node->up = false;
    watches.swap(node->watches);
    links.swap(node->links);
    incoming.swap(node->incoming);
  }
  for (auto& [ref, w] : watches)
    w.watcher->deliver(down_envelope(Ref::from_value(ref), w.target, Reason::noconnection()),
                       false);
  for (auto& [local, remote_id] : links) {
    Pid remote(std::make_shared<RemoteProcess>(&core_, node, remote_id));
    local.process()->deliver(exit_envelope(remote, Reason::noconnection(), true), true);
  }
  for (auto& [id, m] : incoming) m.target.process()->remove_monitor(m.ref);
  notify_node_monitors(NodeDown{peer.full_name(), reason});
}

std::vector<std::string> Distribution::nodes() const {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> g(mx_);
  for (auto& [name, n] : current_) {
    std::lock_guard<std::mutex> gn(n->mx);
    if (n->up) out.push_back(name);
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
    std::erase_if(node_monitors_, [](const Pid& p) { return !p.process()->alive(); });
    to = node_monitors_;
  }
  for (auto& p : to) otp::send(p, event);
}

Result<protocol::Payload> Distribution::encode(const Message& message, const Context& context) {
  if (message.empty()) return protocol::Payload{"", nullptr};
  auto codec = remote_codec(message.type());
  if (!codec)
    return Error(ErrorCode::badarg, context() + ": message type " + message.type_name() +
                                        " has no remote name (otp::register_remote_type)");
  CodecScope scope(this);
  try {
    return protocol::Payload{codec->name, codec->encode(message)};
  } catch (const std::exception& e) {
    return Error(ErrorCode::badarg,
                 context() + ": to_json of " + message.type_name() + " failed: " + e.what());
  }
}

Result<Message> Distribution::decode(const protocol::Payload& payload, const Context& context) {
  if (payload.type.empty()) return Message();
  auto codec = remote_codec(payload.type);
  if (!codec)
    return Error(ErrorCode::bad_call, context() + ": message type '" + payload.type +
                                          "' is not registered on node " + self_.full_name());
  CodecScope scope(this);
  try {
    return codec->decode(payload.value);
  } catch (const std::exception& e) {
    return Error(ErrorCode::bad_call, context() + ": the value of a '" + payload.type +
                                          "' does not decode on node " + self_.full_name() + ": " +
                                          e.what());
  }
}

// -- incoming messages ---------------------------------------------------------------------------

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
  Ref tag = Ref::from_value(m.ref.id);
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
  w.watcher->deliver(
      error_envelope(tag, Error(ErrorCode::bad_call, err.detail.empty() ? context() : err.detail)),
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
  mon->target.process()->remove_monitor(mon->ref);
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
  w.watcher->deliver(down_envelope(Ref::from_value(m.ref.id), w.target, reason_from_wire(m.reason)),
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

}  // namespace detail

// -- public API ----------------------------------------------------------------------------------

namespace distribution {

void attach(Node& node, protocol::NodeId self, std::shared_ptr<DistributionChannel> channel) {
  node.core().distribution().attach(std::move(self), std::move(channel));
}
void detach(Node& node) {
  node.core().distribution().detach();
}
std::optional<protocol::NodeId> self(Node& node) {
  auto& d = node.core().distribution();
  if (!d.attached()) return std::nullopt;
  return d.self();
}
void node_up(Node& node, const protocol::NodeId& peer) {
  node.core().distribution().node_up(peer);
}
void node_down(Node& node, const protocol::NodeId& peer, const std::string& reason) {
  node.core().distribution().node_down(peer, reason);
}
void receive(Node& node, const protocol::NodeId& peer, protocol::Message&& message) {
  node.core().distribution().receive(peer, std::move(message));
}
std::vector<std::string> nodes(Node& node) {
  return node.core().distribution().nodes();
}
void monitor_nodes(Node& node, const Pid& pid) {
  node.core().distribution().monitor_nodes(pid);
}
std::string node_of(Node& node, const Pid& pid) {
  if (auto* r = dynamic_cast<const detail::RemoteProcess*>(pid.process().get()))
    return r->remote_node()->label;
  auto& d = node.core().distribution();
  return d.attached() ? d.self().full_name() : node.name();
}

}  // namespace distribution

// -- Pids inside messages ------------------------------------------------------------------------

void to_json(nlohmann::json& j, const Pid& pid) {
  auto* d = detail::codec_context;
  if (!d)
    throw nlohmann::json::other_error::create(599, "a Pid is only encoded when it crosses nodes",
                                              nullptr);
  auto w = d->to_wire(pid);
  if (!w) {
    j = nullptr;  // an invalid pid, or one of a node that is not distributed
    return;
  }
  j = nlohmann::json{
      {"node", {{"name", w->node.name}, {"host", w->node.host}, {"creation", w->node.creation}}},
      {"id", w->id}};
}

void from_json(const nlohmann::json& j, Pid& pid) {
  auto* d = detail::codec_context;
  if (!d)
    throw nlohmann::json::other_error::create(599, "a Pid is only decoded when it crosses nodes",
                                              nullptr);
  if (j.is_null()) {
    pid = Pid();
    return;
  }
  protocol::Pid w;
  const auto& n = j.at("node");
  w.node.name = n.at("name").get<std::string>();
  w.node.host = n.at("host").get<std::string>();
  w.node.creation = n.at("creation").get<uint32_t>();
  w.id = j.at("id").get<uint64_t>();
  pid = d->from_wire(w);
}

}  // namespace otp
