// The dispatch loop: a worker resumes a server, which runs its mailbox one envelope at a time
// (signals first, then user messages through the stash) and applies each handler's Action.
#include <algorithm>
#include <string>
#include <typeinfo>

#include <caf/execution_unit.hpp>

#include "node_core.hpp"
#include "server_actor.hpp"

namespace otp::detail {

namespace {
thread_local ServerActor* t_current = nullptr;
thread_local const Pid* t_task = nullptr;
thread_local caf::execution_unit* t_unit = nullptr;

struct CurrentScope {
  ServerActor* prev_server;
  caf::execution_unit* prev_unit;
  CurrentScope(ServerActor* s, caf::execution_unit* u) : prev_server(t_current), prev_unit(t_unit) {
    t_current = s;
    t_unit = u;
  }
  ~CurrentScope() {
    t_current = prev_server;
    t_unit = prev_unit;
  }
};

const char* phase_name(int p) {
  static const char* names[] = {"init",        "handle_call",     "handle_cast",
                                "handle_info", "handle_continue", "shutdown"};
  return names[p];
}
}  // namespace

ServerActor* current_server() {
  return t_current;
}
const Pid* current_task() {
  return t_task;
}
void set_current_task(const Pid* pid) {
  t_task = pid;
}
caf::execution_unit* current_execution_unit() {
  return t_unit;
}

caf::resumable::resume_result ServerActor::resume(caf::execution_unit* unit, size_t) {
  unit_ = unit;
  if (!started_) {
    started_ = true;
    CurrentScope scope(this, unit);
    start();
    if (finished_) return resumable::done;
  }
  // The mailbox starts busy, so the first run also handles what was delivered before it.
  switch (run_mailbox()) {
    case Ran::idle:
      return resumable::awaiting_message;  // from here on another worker may run this actor
    case Ran::more:
      return resumable::resume_later;  // back of the queue: other actors get their turn
    case Ran::finished:
      break;
  }
  return resumable::done;
}

// -- dispatch -----------------------------------------------------------------------------------

ServerActor::Ran ServerActor::run_mailbox() {
  // Envelopes per run: enough to amortize the scheduling, few enough that other actors on this
  // worker get their turn during a long burst.
  constexpr int kBatch = 256;
  CurrentScope scope(this, unit_);
  WorkerCounters& counters = node_.worker_counters();
  for (int budget = kBatch; budget > 0 && !finished_;) {
    // Exit signals first, checked before every envelope, so that kill overtakes queued messages.
    if (proc_->urgent_pending()) {
      MailNode* u = proc_->take_urgent();
      while (u) {
        MailNode* next = u->next;
        WorkerCounters::bump(counters.messages);
        if (!finished_) on_envelope(u->env());
        u->env().~Envelope();
        delete u;  // rare: not worth recycling
        u = next;
      }
      continue;
    }
    if (!taken_) taken_ = proc_->take_normal();
    if (!taken_) {
      // Once idle, a delivery schedules this actor again, maybe on another worker at once: touch
      // nothing of it after this. So the nodes it collected go first (an idle process keeps none).
      release_recycled();
      if (proc_->try_idle()) return Ran::idle;
      continue;
    }
    MailNode* n = taken_;
    taken_ = n->next;
    WorkerCounters::bump(counters.messages);
    on_envelope(n->env());
    n->env().~Envelope();
    if (finished_) {
      delete n;  // the mailbox is closed: no one reuses nodes any more
    } else {
      recycle(n);
    }
    --budget;
  }
  return finished_ ? Ran::finished : Ran::more;
}

void ServerActor::on_envelope(Envelope& e) {
  CurrentScope scope(this, unit_);
  if (finished_) return;
  switch (e.kind) {
    case EnvelopeKind::exit:
      on_exit_signal(e);
      break;
    case EnvelopeKind::down:
      on_down(e);
      break;
    case EnvelopeKind::reply:
    case EnvelopeKind::reply_error:
      answer_await(e);  // if not awaited: a late reply to a call that timed out; dropped, as in OTP
      break;
    case EnvelopeKind::idle_timeout:
      if (idle_timer_ && e.seq == idle_seq_) {
        idle_timer_ = {};
        Envelope t;
        t.kind = EnvelopeKind::info;
        t.payload = Timeout{};
        enqueue_user(std::move(t));
      }
      break;
    case EnvelopeKind::await_check:
      on_await_check();
      break;
    case EnvelopeKind::trapped_exit:
      on_trapped_exit(e);
      break;
    default:
      enqueue_user(std::move(e));
  }
  drain();
}

void ServerActor::on_exit_signal(Envelope& e) {
  if (e.via_link() && !proc_->take_link(e.from())) return;  // unlinked meanwhile
  if (e.reason().kind() == Reason::Kind::kill) {
    finish(Reason::killed(), false);
    return;
  }
  if (!trap_exit_) {
    // exit(self(), normal) stops the caller, as erlang:exit/2 says; other normal exits are ignored.
    if (!e.reason().is_normal() || e.from() == self_) finish(e.reason(), false);
    return;
  }
  // Exit signals travel urgently so that they kill at once; a trapping process must see one
  // only after the messages its sender sent before it, so it goes to the back of the mailbox.
  if (!queued_exits_) queued_exits_ = std::make_unique<QueuedExits>();
  uint32_t seq = ++queued_exits_->seq;
  queued_exits_->by_seq.emplace(seq, e.from());
  e.kind = EnvelopeKind::trapped_exit;
  e.seq = seq;
  proc_->deliver(std::move(e), false);
}

void ServerActor::on_trapped_exit(Envelope& e) {
  if (!queued_exits_ || queued_exits_->by_seq.erase(e.seq) == 0) return;  // unlinked meanwhile
  Envelope m;
  if (parent_ && e.from() == parent_) {
    // gen_server: the parent's EXIT means "terminate"
    m = Envelope::make_signal(EnvelopeKind::stop_request, e.from(), e.reason());
  } else {
    m.kind = EnvelopeKind::info;
    m.payload = ExitSignal{e.from(), e.reason()};
  }
  enqueue_user(std::move(m));
}

void ServerActor::forget_exits_from(const Pid& pid) {
  if (queued_exits_)
    std::erase_if(queued_exits_->by_seq, [&](const auto& q) { return q.second == pid; });
  stash_.erase_if([&](const Envelope& s) {
    const auto* x = s.payload.get_if<ExitSignal>();
    return s.kind == EnvelopeKind::info && x && x->from == pid;
  });
}

bool ServerActor::answer_await(Envelope& e) {
  if (!awaiting_) return false;
  auto& spec = *awaiting_->spec;
  if (spec.group.empty()) {
    if (!(spec.tag == e.ref)) return false;
    std::optional<Envelope> answer(std::move(e));
    resolve_await(to_result(std::move(answer), "await"));
    return true;
  }
  auto it = std::find(spec.group.begin(), spec.group.end(), e.ref);
  if (it == spec.group.end()) return false;
  *it = spec.group.back();
  spec.group.pop_back();
  if (spec.group.empty()) resolve_await(Message());
  return true;
}

void ServerActor::on_down(Envelope& e) {
  if (answer_await(e)) return;
  auto it = monitors_.find(e.ref.value());
  if (it == monitors_.end()) return;  // demonitored, or the monitor of a finished call
  monitors_.erase(it);
  Envelope m;
  m.kind = EnvelopeKind::info;
  m.payload = Down{e.ref, e.from(), e.reason()};
  enqueue_user(std::move(m));
}

void ServerActor::enqueue_user(Envelope&& e) {
  touch_idle();
  if (awaiting_ || !stash_.empty()) {
    stash_.push(std::move(e));
  } else {
    handle_user(e);
  }
}

void ServerActor::drain() {
  while (!finished_ && !awaiting_ && !stash_.empty()) {
    Envelope e = stash_.pop();
    handle_user(e);
  }
}

void ServerActor::handle_user(Envelope& e) {
  switch (e.kind) {
    case EnvelopeKind::call: {
      WorkerCounters::bump(node_.worker_counters().calls);
      From from = RuntimeAccess::make_from(std::move(e.reply_to), e.ref);
      auto a = invoke([&] { return server_->handle_call(e.payload, from); });
      if (a) apply(Phase::call, from, std::move(*a));
      break;
    }
    case EnvelopeKind::cast: {
      auto a = invoke([&] { return server_->handle_cast(e.payload); });
      if (a) apply(Phase::cast, {}, std::move(*a));
      break;
    }
    case EnvelopeKind::info: {
      auto a = invoke([&] { return server_->handle_info(e.payload); });
      if (a) apply(Phase::info, {}, std::move(*a));
      break;
    }
    case EnvelopeKind::stop_request: {
      auto a = invoke([&] { return server_->shutdown_requested(e.reason()); });
      if (a) apply(Phase::stop, {}, std::move(*a));
      break;
    }
    default:
      break;
  }
}

void ServerActor::unmatched(Phase phase, const From& from, const Message& m) {
  // See otp/gen_server.hpp: calls and casts crash the server as in OTP, unless it tolerates
  // them; infos are logged and dropped as Elixir's default handle_info does.
  bool tolerate = server_->tolerate_unmatched_;
  if (phase == Phase::call) {
    std::string what = "no handle_call clause for " + m.type_name();
    Reason reason = tolerate ? Reason() : Reason::error("bad_call: " + what);
    Error err(ErrorCode::bad_call, "call to " + describe() + ": " + what, reason);
    if (tolerate) node_.log("warning", err.to_string());
    gen_server::reply(from, std::move(err));  // before the exit: the caller sees bad_call
    if (!tolerate) crash(std::move(reason));
  } else if (phase == Phase::info || (phase == Phase::cast && tolerate)) {
    node_.log("warning", describe() + " " + phase_name(static_cast<int>(phase)) +
                             ": unexpected message " + m.type_name() + " (dropped)");
  } else if (phase == Phase::cast) {
    crash(Reason::error("bad_cast: no handle_cast clause for " + m.type_name()));
  } else {
    crash(Reason::error(std::string("bad_return_value: an unmatched message from ") +
                        phase_name(static_cast<int>(phase))));
  }
}

void ServerActor::apply(Phase phase, const From& from, Action&& a) {
  auto bad_return = [&](const char* what) {
    crash(Reason::error(std::string("bad_return_value: ") + what + " from " +
                        phase_name(static_cast<int>(phase))));
  };
  for (;;) {
    if (finished_) return;
    switch (RuntimeAccess::kind(a)) {
      case Action::Kind::await:
        awaiting_ = Awaiting{RuntimeAccess::await_spec(a), phase, from};
        if (RuntimeAccess::await_spec(a)->deadline)
          arm_await_check(*RuntimeAccess::await_spec(a)->deadline);
        return;
      case Action::Kind::unmatched:
        return unmatched(phase, from, RuntimeAccess::message(a));
      case Action::Kind::ignore:
        if (phase == Phase::init) {
          init_failed(Reason::normal(), ErrorCode::ignored);
        } else {
          bad_return("ignore");
        }
        return;
      case Action::Kind::stop:
        if (phase == Phase::init) {
          init_failed(RuntimeAccess::reason(a), ErrorCode::init_failed);
          return;
        }
        if (RuntimeAccess::has_reply(a)) {
          if (phase != Phase::call) return bad_return("stop with a reply");
          gen_server::reply(from, RuntimeAccess::message(a));
        }
        finish(RuntimeAccess::reason(a), true);
        return;
      case Action::Kind::reply:
        if (phase != Phase::call) return bad_return("reply");
        gen_server::reply(from, RuntimeAccess::message(a));
        break;
      case Action::Kind::noreply:
        if (phase == Phase::init) ack_ok();
        if (phase == Phase::stop) return bad_return("noreply to a stop request");
        break;
    }
    if (RuntimeAccess::continue_arg(a)) {
      Message arg = *RuntimeAccess::continue_arg(a);
      auto next = invoke([&] { return server_->handle_continue(arg); });
      if (!next) return;
      a = std::move(*next);
      phase = Phase::cont;
      continue;
    }
    if (RuntimeAccess::idle_timeout(a)) arm_idle(*RuntimeAccess::idle_timeout(a));
    return;
  }
}

}  // namespace otp::detail
