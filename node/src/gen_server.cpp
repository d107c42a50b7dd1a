// GenServer default callbacks and the gen_server client API (start, call, cast, reply, stop).
#include "otp/gen_server.hpp"

#include "node_core.hpp"
#include "server_actor.hpp"

namespace otp {

namespace {
constexpr auto kForever = std::chrono::hours(24 * 365);

// A blocking function called inside a handler: the message names the non-blocking one to use.
Error would_block(const char* what, const char* instead) {
  return Error(ErrorCode::would_block, std::string(what) +
                                           " inside a handler would block the process (and a "
                                           "scheduler thread): use " +
                                           instead);
}

detail::ServerActor& runtime_of(detail::ServerActor* r) {
  if (!r) throw std::logic_error("GenServer: process operations are only valid while it runs");
  return *r;
}
}  // namespace

// -- default callbacks (Elixir's `use GenServer` defaults: see otp/gen_server.hpp) --

Action GenServer::handle_call(const Message& request, const From&) {
  return Unmatched{request};
}
Action GenServer::handle_cast(const Message& request) {
  return Unmatched{request};
}
Action GenServer::handle_info(const Message& info) {
  // Exits of linked processes and Downs nobody handles are expected noise, not errors.
  if (info.is<ExitSignal>() || info.is<Down>() || info.is<Timeout>()) return noreply();
  return Unmatched{info};
}
Action GenServer::handle_continue(const Message& arg) {
  throw std::logic_error(
      "no handle_continue clause was provided, but a handler asked to continue with " +
      arg.type_name());
}
void GenServer::terminate(const Reason&) {}

const Pid& GenServer::self() const {
  return runtime_of(runtime_).self_pid();
}
HandlerNode GenServer::node() const {
  return HandlerNode(runtime_of(runtime_).node_core().owner());
}
bool GenServer::trap_exit(bool on) {
  return runtime_of(runtime_).set_trap_exit(on);
}

Action GenServer::await_call(const ServerRef& target, Message request,
                             std::function<Action(Result<Message>)> then,
                             std::chrono::milliseconds timeout) {
  return runtime_of(runtime_).await_call(target, std::move(request), std::move(then), timeout);
}

Action GenServer::await_tag(Ref tag, std::optional<std::chrono::milliseconds> timeout,
                            std::function<Action(Result<Message>)> then) {
  return runtime_of(runtime_).await_tag(tag, timeout, std::move(then));
}

Action GenServer::await_all(std::vector<Ref> tags, std::optional<std::chrono::milliseconds> timeout,
                            std::function<Action(Result<Message>)> then) {
  if (tags.empty()) return then(Message());
  auto a = runtime_of(runtime_).await_tag(Ref(), timeout, std::move(then));
  RuntimeAccess::await_spec(a)->group = std::move(tags);
  return a;
}

namespace detail {

Result<Pid> start_server(Node& node, ServerFactory factory, StartOptions options) {
  auto& core = RuntimeAccess::core(node);
  if (core.shutting_down()) return Error(ErrorCode::shutting_down, "start: node is stopping");
  if (current_server())
    return would_block(
        "a blocking start (gen_server::start_link / start, supervisor::start_link, "
        "agent::start_link, ...)",
        "GenServer::await_call(sup, supervisor::StartChild{spec} or "
        "dynamic_supervisor::StartChild{spec}, continuation), which starts it as a "
        "supervisor's child");
  auto slot = ReplySlot::take();
  SpawnInfo info{std::move(options.name), nullptr, slot, Ref::make(), {}};
  spawn_server(core, std::move(factory), std::move(info));
  auto r = to_result(slot->wait_until(std::chrono::steady_clock::now() + kForever), "start");
  ReplySlot::give_back(std::move(slot));
  if (!r) return r.error();
  return r->get<Pid>();
}

Result<Message> call(Node& node, const ServerRef& target, Message request,
                     std::chrono::milliseconds timeout) {
  if (current_server())
    return would_block("gen_server::call (or a blocking call built on it: agent, supervisor, ...)",
                       "GenServer::await_call(target, request, continuation, timeout)");
  auto pid = resolve(RuntimeAccess::core(node), target, "call to");
  if (!pid) return pid.error();
  auto slot = ReplySlot::take();
  Ref tag = Ref::make();
  Process& callee = *RuntimeAccess::process(*pid);
  Envelope e;
  e.kind = EnvelopeKind::call;
  e.ref = tag;
  e.payload = std::move(request);
  e.reply_to = slot;
  if (!callee.begin_call(std::move(e)))
    return Error(ErrorCode::noproc, "call to " + target.to_string() + ": no such process");
  auto answer = slot->wait_until(std::chrono::steady_clock::now() + timeout);
  callee.end_call(tag);
  ReplySlot::give_back(std::move(slot));
  if (answer && answer->kind == EnvelopeKind::reply) return std::move(answer->payload);
  return to_result(std::move(answer), "call to " + target.to_string());
}

}  // namespace detail

namespace gen_server {

void cast(Node& node, const ServerRef& target, Message request) {
  if (const Pid* pid = target.pid()) return cast(node, *pid, std::move(request));
  auto pid = detail::resolve(RuntimeAccess::core(node), target, "cast to");
  if (!pid) return;
  cast(node, *pid, std::move(request));
}

void cast(Node&, const Pid& target, Message request) {
  // As resolve() does for a pid; a process that dies after this check drops the cast itself.
  if (!target || !RuntimeAccess::process(target)->alive()) return;
  detail::Envelope e;
  e.kind = detail::EnvelopeKind::cast;
  e.payload = std::move(request);
  RuntimeAccess::process(target)->deliver(std::move(e), false);
}

void reply(const From& from, Message value) {
  if (!from.valid()) return;
  detail::Envelope e;
  e.kind = value.is<Error>() ? detail::EnvelopeKind::reply_error : detail::EnvelopeKind::reply;
  e.ref = from.tag();
  e.payload = std::move(value);
  RuntimeAccess::endpoint(from)->deliver(std::move(e), false);
}

Result<void> stop(Node& node, const ServerRef& target, Reason reason,
                  std::chrono::milliseconds timeout) {
  if (detail::current_server())
    return would_block("gen_server::stop",
                       "otp::monitor(pid) and otp::exit(pid, reason); the Down comes to "
                       "handle_info once it has exited");
  auto pid = detail::resolve(RuntimeAccess::core(node), target, "stop of");
  if (!pid) return pid.error();
  // As Erlang's: monitor, ask, wait for the Down. On another node the monitor and the request
  // cross the link in that order (system_messages.hpp), and the Down comes back over it.
  auto slot = std::make_shared<detail::ReplySlot>();
  Ref tag = Ref::make();
  detail::Process& proc = *RuntimeAccess::process(*pid);
  if (!proc.add_monitor(tag, slot))
    return Error(ErrorCode::noproc, "stop of " + target.to_string() + ": no such process");
  proc.deliver(
      detail::Envelope::make_signal(detail::EnvelopeKind::stop_request, Pid(), std::move(reason)),
      false);
  auto answer = slot->wait_until(std::chrono::steady_clock::now() + timeout);
  proc.remove_monitor(tag);
  if (!answer)
    return Error(ErrorCode::timeout, "stop of " + target.to_string() + ": still running");
  // A remote process's Down may say it was never there, or that its node went away first (a
  // local one's is its exit reason: add_monitor already said whether it was there).
  if (proc.is_remote() && answer->kind == detail::EnvelopeKind::down) {
    if (answer->reason().kind() == Reason::Kind::noproc)
      return Error(ErrorCode::noproc, "stop of " + target.to_string() + ": no such process");
    if (answer->reason().kind() == Reason::Kind::noconnection)
      return Error(ErrorCode::nodedown, "stop of " + target.to_string() + ": node down",
                   answer->reason());
  }
  return {};
}

}  // namespace gen_server
}  // namespace otp
