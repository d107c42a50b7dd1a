// The process primitives (send, timers, monitors, links, exit signals) and otp::Inbox.
#include <condition_variable>
#include <deque>
#include <stdexcept>
#include <unordered_set>

#include "node_core.hpp"
#include "otp/gen_server.hpp"
#include "otp/process.hpp"
#include "server_actor.hpp"
#include "system_messages.hpp"

namespace otp {

namespace {
detail::ServerActor& running(const char* op) {
  auto* s = detail::current_server();
  if (!s)
    throw std::logic_error(std::string("otp::") + op +
                           " acts on the running process: call it from a handler, or use an "
                           "otp::Inbox outside the actor system");
  return *s;
}

detail::Envelope info_envelope(Message msg) {
  detail::Envelope e;
  e.kind = detail::EnvelopeKind::info;
  e.payload = std::move(msg);
  return e;
}
}  // namespace

Pid self() {
  if (auto* s = detail::current_server()) return s->self_pid();
  if (const Pid* task = detail::current_task()) return *task;
  return Pid();
}

bool alive(const Pid& pid) {
  return pid && RuntimeAccess::process(pid)->alive();
}

void send(const Pid& to, Message msg) {
  if (!to) return;
  RuntimeAccess::process(to)->deliver(info_envelope(std::move(msg)), false);
}

Result<void> send(Node& node, const ServerRef& to, Message msg) {
  auto pid = detail::resolve(RuntimeAccess::core(node), to, "send to");
  if (!pid) return pid.error();
  send(*pid, std::move(msg));
  return {};
}

Result<Pid> whereis(Node& node, const ServerRef& ref, std::chrono::milliseconds timeout) {
  auto pid = detail::resolve(RuntimeAccess::core(node), ref, "whereis");
  // {name, node} of another node resolves to a proxy that looks the name up there at each use:
  // ask that node for the pid itself (system_messages.hpp), as Erlang's rpc to erlang:whereis.
  if (!ref.remote_name() || !pid || !RuntimeAccess::process(*pid)->is_remote()) return pid;
  if (detail::current_server())
    return Error(ErrorCode::would_block,
                 "otp::whereis of " + ref.to_string() +
                     " inside a handler would block the process (and a scheduler thread) for a "
                     "round trip: use GenServer::await_call on the name itself (it is looked up "
                     "on its node), or otp::monitor(node, name)");
  auto found = detail::call(node, *pid, Message(detail::WhereisRequest{}), timeout);
  if (!found) {
    const Error& e = found.error();
    if (e.code() == ErrorCode::noproc)
      return Error(ErrorCode::noproc, "whereis " + ref.to_string() + ": no such process");
    return Error(e.code(), "whereis " + ref.to_string() + ": " + e.context(), e.reason());
  }
  if (!found->is<Pid>())
    return Error(ErrorCode::bad_reply, "whereis " + ref.to_string() + ": the node answered " +
                                           found->type_name() + ", not a pid");
  return found->get<Pid>();
}

Ref send_after(Node& node, const Pid& to, Message msg, std::chrono::milliseconds delay) {
  if (!to) return Ref::make();
  return RuntimeAccess::core(node).timers().schedule(std::chrono::steady_clock::now() + delay,
                                                     RuntimeAccess::process(to),
                                                     info_envelope(std::move(msg)));
}

std::optional<std::chrono::milliseconds> cancel_timer(Node& node, Ref timer) {
  return RuntimeAccess::core(node).timers().cancel(timer);
}

Ref monitor(const Pid& target) {
  return running("monitor").monitor(target);
}
Ref monitor(Node& node, const ServerRef& target) {
  auto pid = detail::resolve(RuntimeAccess::core(node), target, "monitor of");
  return monitor(pid ? *pid : Pid());
}

void demonitor(Ref ref) {
  running("demonitor").demonitor(ref);
}

void link(const Pid& target) {
  auto& s = running("link");
  if (!target) {
    exit(s.self_pid(), Reason::noproc());
    return;
  }
  detail::Process::link(*s.process(), *RuntimeAccess::process(target));
}

void link(Node& node, const ServerRef& target) {
  auto pid = detail::resolve(RuntimeAccess::core(node), target, "link to");
  link(pid ? *pid : Pid());
}

void unlink(const Pid& target) {
  auto& s = running("unlink");
  if (!target) return;
  detail::Process::unlink(*s.process(), *RuntimeAccess::process(target));
  s.forget_exits_from(target);
}

bool trap_exit(bool on) {
  return running("trap_exit").set_trap_exit(on);
}

void exit(const Pid& target, Reason reason) {
  if (!target) return;
  RuntimeAccess::process(target)->deliver(
      detail::Envelope::make_signal(detail::EnvelopeKind::exit, self(), std::move(reason)), true);
}

// -- Inbox ----------------------------------------------------------------------------------------

/// The process behind an Inbox: deliveries land in a queue the owning thread reads. It traps
/// exits (they become ExitSignal messages), except `kill`.
struct Inbox::State final : detail::Process {
  using detail::Process::Process;

  std::mutex mx;
  std::condition_variable cv;
  std::deque<Message> queue;
  std::unordered_map<uint64_t, Pid> monitors;  // active monitors: ref -> target

  void push(Message m) {
    {
      std::lock_guard<std::mutex> g(mx);
      queue.push_back(std::move(m));
    }
    cv.notify_all();
  }

  void deliver(detail::Envelope&& e, bool) override {
    using K = detail::EnvelopeKind;
    switch (e.kind) {
      case K::info:
      case K::cast:
        push(std::move(e.payload));
        break;
      case K::call: {
        detail::Envelope r;
        r.kind = K::reply_error;
        r.ref = e.ref;
        r.payload = Error(ErrorCode::bad_call, "call to an Inbox " + pid().to_string());
        if (e.reply_to) e.reply_to->deliver(std::move(r), false);
        break;
      }
      case K::down: {
        {
          std::lock_guard<std::mutex> g(mx);
          if (monitors.erase(e.ref.value()) == 0) return;
        }
        push(Down{e.ref, e.from(), e.reason()});
        break;
      }
      case K::exit:
        if (e.via_link() && !take_link(e.from())) return;
        if (e.reason().kind() == Reason::Kind::kill) {
          exit(Reason::killed());
          cv.notify_all();
          return;
        }
        push(ExitSignal{e.from(), e.reason()});
        break;
      case K::stop_request:
        exit(e.reason());
        cv.notify_all();
        break;
      default:
        break;
    }
  }
};

Inbox::Inbox(Node& node) {
  auto& core = RuntimeAccess::core(node);
  state_ = std::make_shared<State>(&core, core.next_process_id());
  state_->label = "Inbox";
  core.add_process(state_);
  pid_ = state_->pid();
}

Inbox::~Inbox() {
  state_->exit(Reason::normal());
}

std::optional<Message> Inbox::receive(std::chrono::milliseconds timeout) {
  return receive_if([](const Message&) { return true; }, timeout);
}

std::optional<Message> Inbox::receive_if(const std::function<bool(const Message&)>& pred,
                                         std::chrono::milliseconds timeout) {
  if (detail::current_server())
    throw std::logic_error(
        "Inbox::receive inside a process handler would block a scheduler thread");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lk(state_->mx);
  size_t scanned = 0;
  for (;;) {
    for (; scanned < state_->queue.size(); ++scanned) {
      if (pred(state_->queue[scanned])) {
        Message m = std::move(state_->queue[scanned]);
        state_->queue.erase(state_->queue.begin() + static_cast<long>(scanned));
        return m;
      }
    }
    if (state_->cv.wait_until(lk, deadline) == std::cv_status::timeout) {
      for (; scanned < state_->queue.size(); ++scanned) {
        if (pred(state_->queue[scanned])) {
          Message m = std::move(state_->queue[scanned]);
          state_->queue.erase(state_->queue.begin() + static_cast<long>(scanned));
          return m;
        }
      }
      return std::nullopt;
    }
  }
}

size_t Inbox::pending() const {
  std::lock_guard<std::mutex> g(state_->mx);
  return state_->queue.size();
}

Ref Inbox::monitor(const Pid& target) {
  Ref ref = Ref::make();
  {
    std::lock_guard<std::mutex> g(state_->mx);
    state_->monitors.emplace(ref.value(), target);
  }
  if (!target || !RuntimeAccess::process(target)->add_monitor(ref, state_)) {
    auto e = detail::Envelope::make_signal(detail::EnvelopeKind::down, target, Reason::noproc());
    e.ref = ref;
    state_->deliver(std::move(e), false);
  }
  return ref;
}

void Inbox::demonitor(Ref ref) {
  Pid target;
  {
    std::lock_guard<std::mutex> g(state_->mx);
    auto it = state_->monitors.find(ref.value());
    if (it == state_->monitors.end()) return;
    target = it->second;
    state_->monitors.erase(it);
  }
  if (target) RuntimeAccess::process(target)->remove_monitor(ref);
}

void Inbox::link(const Pid& target) {
  if (!target) {
    state_->push(ExitSignal{target, Reason::noproc()});
    return;
  }
  detail::Process::link(*state_, *RuntimeAccess::process(target));
}

Ref Inbox::monitor(const ServerRef& target) {
  auto pid = detail::resolve(*state_->node(), target, "monitor of");
  return monitor(pid ? *pid : Pid());
}

void Inbox::link(const ServerRef& target) {
  auto pid = detail::resolve(*state_->node(), target, "link to");
  link(pid ? *pid : Pid());
}

void Inbox::unlink(const Pid& target) {
  if (target) detail::Process::unlink(*state_, *RuntimeAccess::process(target));
}

}  // namespace otp
