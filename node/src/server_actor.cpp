// A server's lifecycle (construction, start, ack to the starter, crash, finish), its idle
// timeout and the process operations it does on itself. The mailbox, spawning, the dispatch loop
// and awaits live in server_mailbox.cpp, server_spawn.cpp, server_dispatch.cpp, server_await.cpp.
#include "server_actor.hpp"

#include <string>

#include "distribution.hpp"
#include "global_registry.hpp"
#include "node_core.hpp"

namespace otp::detail {

// -- lifecycle ----------------------------------------------------------------------------------

ServerActor::ServerActor(std::shared_ptr<ActorProcess> proc, ServerFactory factory, SpawnInfo info)
    : proc_(std::move(proc)),
      node_(*proc_->node()),
      self_(proc_->pid()),
      start_(std::make_unique<StartState>(
          StartState{std::move(factory), std::move(info), std::nullopt})) {
  proc_->bind(this);
  if (start_->info.parent) parent_ = start_->info.parent->pid();
  start_->info.parent.reset();
}

ServerActor::~ServerActor() {
  // A process's actor goes only after the process ended (its ActorProcess holds it until then),
  // so this frees what finish() left: nothing, normally.
  proc_->close();
  ActorProcess::drop_list(taken_);
  ActorProcess::free_nodes(recycled_);
}

void ServerActor::start_here(caf::execution_unit* unit) {
  // Not scheduled yet: the first run happens here instead.
  if (resume(unit, 0) == resumable::resume_later) {
    intrusive_ptr_add_ref_impl();  // the scheduler's reference, as wake() takes it
    unit->exec_later(this);
  }
}

void ServerActor::start() {
  if (start_->info.name) {
    Result<void> r;
    if (const std::string* n = start_->info.name->local_name()) {
      r = node_.register_name(*n, self_);
    } else if (const GlobalName* global = start_->info.name->global_name()) {
      auto& d = node_.distribution();
      r = d.attached()
              ? d.global()->register_name(global->name, self_)
              : Result<void>(Error(ErrorCode::noproc,
                                   "global name " + global->name +
                                       ": this node is not distributed (start a Cluster)"));
    } else if (const ViaName* via = start_->info.name->via_name()) {
      auto reg = via_registry(node_, *via);
      r = reg ? reg->register_name(via->key, self_)
              : Result<void>(Error(ErrorCode::noproc, "via name " + start_->info.name->to_string() +
                                                          ": no such registry"));
    } else {
      r = Error(ErrorCode::badarg, "a pid is not a name");
    }
    if (!r) {
      start_->error = r.error();
      init_failed(Reason::normal(), r.code());
      return;
    }
  }
  std::optional<Action> a;
  try {
    server_ = start_->factory();
    start_->factory = nullptr;  // its captured arguments are not needed any more
    server_->runtime_ = this;
    server_type_ = &typeid(*server_);
  } catch (const std::exception& ex) {
    init_failed(Reason::error("exception in constructor: " + std::string(ex.what())),
                ErrorCode::init_failed);
    return;
  } catch (...) {
    init_failed(Reason::error("unknown exception in constructor"), ErrorCode::init_failed);
    return;
  }
  a = invoke([&] { return server_->init(); });
  if (a) apply(Phase::init, {}, std::move(*a));
  drain();
}

std::string ServerActor::describe() const {
  // The server's type names it (demangled only here: a demangle per start would cost more than
  // the rest of the start); before it was built, the label its starter gave.
  std::string label = server_type_ ? type_name(*server_type_) : proc_->label;
  return self_.to_string() + (label.empty() ? "" : " (" + label + ")");
}

void ServerActor::ack_ok() {
  if (!start_) return;  // acknowledged already
  auto start = std::move(start_);
  if (auto* here = outcome_here()) {
    *here = self_;
    return;
  }
  auto& info = start->info;
  if (!info.ack_to) return;
  Envelope e;
  e.kind = EnvelopeKind::reply;
  e.ref = info.ack_tag;
  e.payload = self_;
  info.ack_to->deliver(std::move(e), false);
}

void ServerActor::ack_error(Error err) {
  if (!start_) return;  // acknowledged already
  auto start = std::move(start_);
  if (auto* here = outcome_here()) {
    *here = std::move(err);
    return;
  }
  auto& info = start->info;
  if (!info.ack_to) return;
  Envelope e;
  e.kind = EnvelopeKind::reply_error;
  e.ref = info.ack_tag;
  e.payload = std::move(err);
  info.ack_to->deliver(std::move(e), false);
}

void ServerActor::init_failed(Reason reason, ErrorCode code) {
  if (!start_->error) start_->error = Error(code, "start of " + describe(), reason);
  // As in OTP 26: a failed start reports to the starter instead of sending it an exit signal.
  if (parent_) Process::unlink(*proc_, *RuntimeAccess::process(parent_));
  finish(std::move(reason), false);
}

void ServerActor::crash(Reason reason) {
  if (start_) {  // not acknowledged yet: the start fails
    init_failed(std::move(reason), ErrorCode::init_failed);
    return;
  }
  finish(std::move(reason), true);
}

void ServerActor::finish(Reason reason, bool run_terminate) {
  if (finished_) return;
  finished_ = true;
  touch_idle();
  if (run_terminate && server_) {
    try {
      server_->terminate(reason);
    } catch (const std::exception& ex) {
      node_.log("error", describe() + " terminate threw: " + ex.what());
    } catch (...) {
      node_.log("error", describe() + " terminate threw an unknown exception");
    }
  }
  if (!reason.is_clean() && node_.config().log_crashes)
    node_.log("error", "process " + describe() + " exited: " + reason.to_string());
  for (auto& [id, m] : monitors_) RuntimeAccess::process(m.second)->remove_monitor(m.first);
  monitors_.clear();
  if (awaiting_ && awaiting_->spec->target) awaiting_->spec->target->end_call(awaiting_->spec->tag);
  awaiting_.reset();
  stash_.clear();  // their callers monitor us and get Down now
  if (server_) server_->runtime_ = nullptr;
  server_.reset();
  proc_->exit(reason);
  // Envelopes still queued are dropped, as a dead process's mailbox is; their senders that wait
  // (callers, stop) monitor us and got their Down from exit() above.
  proc_->close();
  ActorProcess::drop_list(taken_);
  taken_ = nullptr;
  release_recycled();
  // A failed start is reported only now that the process is gone (its name freed, its links
  // and monitors told), so a starter that retries at once does not find it still there.
  if (start_)
    ack_error(start_->error ? *start_->error
                            : Error(ErrorCode::init_failed, "start of " + describe(), reason));
}

// -- idle timeout -------------------------------------------------------------------------------

void ServerActor::arm_idle(std::chrono::milliseconds t) {
  touch_idle();
  Envelope e;
  e.kind = EnvelopeKind::idle_timeout;
  e.seq = idle_seq_;
  idle_timer_ = node_.timers().schedule(std::chrono::steady_clock::now() + t, proc_, std::move(e));
}

void ServerActor::touch_idle() {
  if (!idle_timer_) return;
  node_.timers().cancel(idle_timer_);
  idle_timer_ = {};
  ++idle_seq_;
}

// -- process operations on self -----------------------------------------------------------------

bool ServerActor::set_trap_exit(bool on) {
  bool old = trap_exit_;
  trap_exit_ = on;
  return old;
}

Ref ServerActor::monitor(const Pid& target) {
  Ref ref = Ref::make();
  monitors_.emplace(ref.value(), std::make_pair(ref, target));
  if (!target || !RuntimeAccess::process(target)->add_monitor(ref, proc_)) {
    Envelope e = Envelope::make_signal(EnvelopeKind::down, target, Reason::noproc());
    e.ref = ref;
    proc_->deliver(std::move(e), false);
  }
  return ref;
}

void ServerActor::demonitor(Ref ref) {
  auto it = monitors_.find(ref.value());
  if (it != monitors_.end()) {
    if (it->second.second) RuntimeAccess::process(it->second.second)->remove_monitor(ref);
    monitors_.erase(it);
  }
  stash_.erase_if([&](const Envelope& s) {  // a Down held back while awaiting a call
    const auto* d = s.payload.get_if<Down>();
    return s.kind == EnvelopeKind::info && d && d->ref == ref;
  });
}

}  // namespace otp::detail
