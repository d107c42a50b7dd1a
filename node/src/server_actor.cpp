#include "server_actor.hpp"

#include <algorithm>
#include <typeinfo>

#include "distribution.hpp"
#include "otp/registry.hpp"

namespace otp::detail {

namespace {
thread_local ServerActor* t_current = nullptr;
thread_local const Pid* t_task = nullptr;
thread_local caf::execution_unit* t_unit = nullptr;
/// Children whose init runs nested in their starter's handler on this thread (see spawn_server):
/// beyond this depth (a tree of supervisors nested deeper still) a child is scheduled instead, so
/// the stack stays bounded.
thread_local int t_inline_starts = 0;
constexpr int kMaxInlineStarts = 16;

/// Where the start of the server being spawned on this thread reports its outcome instead of
/// sending it (SpawnInfo::outcome_here). Only this thread's spawn_server reads it, so a start
/// that completes later, on another worker, reports as usual.
struct OutcomeHere {
  const ServerActor* server;
  std::optional<Result<Pid>> outcome;
};
thread_local OutcomeHere* t_outcome_here = nullptr;

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

// -- ActorProcess -------------------------------------------------------------------------------

void ActorProcess::keep_alive(caf::intrusive_ptr<ServerActor> strong) {
  std::lock_guard<std::mutex> g(strong_mx_);
  if (alive()) strong_ = std::move(strong);
}

void ActorProcess::on_dead() {
  caf::intrusive_ptr<ServerActor> dropped;
  std::lock_guard<std::mutex> g(strong_mx_);
  dropped.swap(strong_);
}

ActorProcess::~ActorProcess() {
  close();
}

bool ActorProcess::push(std::atomic<MailNode*>& head, MailNode* n, bool* was_idle) {
  MailNode* old = head.load(std::memory_order_relaxed);
  do {
    if (old == closed_tag()) return false;
    n->next = old == idle_tag() ? nullptr : old;
    // seq_cst: orders the push before the wake check that follows an urgent push (see try_idle).
  } while (
      !head.compare_exchange_weak(old, n, std::memory_order_seq_cst, std::memory_order_relaxed));
  *was_idle = old == idle_tag();
  return true;
}

namespace {
/// A sending thread's spare nodes (at most one batch; see ActorProcess::alloc_node).
struct NodeCache {
  MailNode* head = nullptr;
  int count = 0;
  ~NodeCache() { ActorProcess::free_nodes(head); }
};
thread_local NodeCache t_nodes;
}  // namespace

MailNode* ActorProcess::alloc_node() {
  MailNode* n = t_nodes.head;
  // Refill only when empty, so the cache never holds more than one batch.
  if (!n && spare_.load(std::memory_order_relaxed)) {
    n = spare_.exchange(nullptr, std::memory_order_acquire);
    if (n) t_nodes.count = kSpareBatch;  // a handed-over batch is always a full one
  }
  if (!n) return new MailNode;
  t_nodes.head = n->next;
  --t_nodes.count;
  n->next = nullptr;  // a node on its own: a refused delivery drops only this one (drop_list)
  return n;
}

bool ActorProcess::offer_spares(MailNode* batch) {
  MailNode* expected = nullptr;
  // Only when the senders took the previous batch: a process never keeps more than one.
  return !spare_.load(std::memory_order_relaxed) &&
         spare_.compare_exchange_strong(expected, batch, std::memory_order_release,
                                        std::memory_order_relaxed);
}

void ActorProcess::deliver(Envelope&& e, bool urgent) {
  MailNode* n = alloc_node();
  new (n->storage) Envelope(std::move(e));
  bool was_idle = false;
  if (!push(urgent ? urgent_ : normal_, n, &was_idle)) {
    drop_list(n);  // the process finished
    return;
  }
  if (urgent) {
    // The urgent stack has no idle state of its own: end the normal stack's idle state.
    MailNode* expected = idle_tag();
    was_idle = normal_.compare_exchange_strong(expected, nullptr, std::memory_order_seq_cst);
  }
  if (was_idle) wake();
}

void ActorProcess::wake() {
  // The actor itself goes to the scheduler (see ServerActor::resume), with a reference of the
  // scheduler's own, which the worker drops after the run.
  ServerActor* job = actor_;
  job->intrusive_ptr_add_ref_impl();
  if (t_unit) {
    t_unit->exec_later(job);  // from a handler: this worker runs it next
  } else {
    node()->system().scheduler().enqueue(job);
  }
}

MailNode* ActorProcess::take(std::atomic<MailNode*>& head) {
  // Only the draining actor takes, so the head is never kIdle (only try_idle sets it, and the
  // actor then stops draining) nor kClosed (set once the process finished) here.
  MailNode* n = head.exchange(nullptr, std::memory_order_acquire);
  // The stack holds the newest first: reverse it into arrival order.
  MailNode* fifo = nullptr;
  while (n) {
    MailNode* next = n->next;
    n->next = fifo;
    fifo = n;
    n = next;
  }
  return fifo;
}

bool ActorProcess::try_idle() {
  MailNode* expected = nullptr;
  if (!normal_.compare_exchange_strong(expected, idle_tag(), std::memory_order_seq_cst))
    return false;  // a normal envelope arrived
  // An urgent push that saw the normal stack not yet idle did not wake us: look once more. Both
  // sides use seq_cst, so either that sender sees kIdle (and wakes us) or we see its envelope.
  if (urgent_.load(std::memory_order_seq_cst) == nullptr) return true;
  expected = idle_tag();
  // If this fails, a sender ended the idle state meanwhile and a wake is on its way.
  return !normal_.compare_exchange_strong(expected, nullptr, std::memory_order_seq_cst);
}

void ActorProcess::close() {
  for (auto* head : {&urgent_, &normal_}) {
    MailNode* n = head->exchange(closed_tag(), std::memory_order_acq_rel);
    if (!is_tag(n)) drop_list(n);
  }
  free_nodes(spare_.exchange(nullptr, std::memory_order_acquire));
}

void ActorProcess::free_nodes(MailNode* n) {
  while (n) {
    MailNode* next = n->next;
    delete n;
    n = next;
  }
}

void ActorProcess::drop_list(MailNode* n) {
  while (n) {
    MailNode* next = n->next;
    n->env().~Envelope();
    delete n;
    n = next;
  }
}

// -- spawning and resolving -----------------------------------------------------------------------

Spawned spawn_server(NodeCore& node, ServerFactory factory, SpawnInfo info) {
  auto proc = std::make_shared<ActorProcess>(&node, node.next_process_id());
  proc->label = std::move(info.label);  // before the actor runs: it reads the label
  if (info.parent) {
    proc->has_parent = true;
    Process::link_new_child(*info.parent, *proc);
  }
  node.add_process(proc);
  Pid pid = proc->pid();
  const bool outcome_here = info.outcome_here;
  caf::intrusive_ptr<ServerActor> actor{new ServerActor(proc, std::move(factory), std::move(info)),
                                        false};
  std::optional<Result<Pid>> outcome;
  caf::execution_unit* unit = current_execution_unit();
  if (unit && t_inline_starts < kMaxInlineStarts) {
    // Inside a handler (a supervisor starting a child): the child's init runs right here, as
    // OTP's supervisor runs it before it does anything else. The starter awaits the child's
    // acknowledgement anyway, so running the child elsewhere would only add two schedulings (the
    // child's first run, the starter's wake-up for the ack) to every start.
    ServerActor* server = actor.get();
    OutcomeHere here{server, std::nullopt};
    OutcomeHere* outer = t_outcome_here;
    if (outcome_here) t_outcome_here = &here;
    ++t_inline_starts;
    server->start_here(unit);
    --t_inline_starts;
    t_outcome_here = outer;
    outcome = std::move(here.outcome);
  } else {
    actor->intrusive_ptr_add_ref_impl();  // the scheduler's, until the first run ends
    node.system().scheduler().enqueue(actor.get());
  }
  proc->keep_alive(std::move(actor));
  return {pid, std::move(outcome)};
}

std::shared_ptr<ViaRegistry> via_registry(NodeCore& node, const ViaName& via) {
  if (via.registry) return via.registry;
  return Registry::find(node.owner(), via.registry_name);
}

Result<Pid> resolve(NodeCore& node, const ServerRef& ref, const char* operation) {
  auto noproc = [&] {
    return Error(ErrorCode::noproc,
                 std::string(operation) + " " + ref.to_string() + ": no such process");
  };
  if (const Pid* pid = ref.pid()) {
    if (!*pid || !pid->process()->alive()) return noproc();
    return *pid;
  }
  std::optional<Pid> found;
  if (const RemoteName* remote = ref.remote_name()) {
    return node.distribution().name_proxy(*remote, operation);
  } else if (const std::string* name = ref.local_name()) {
    found = node.whereis(*name);
  } else if (const ViaName* via = ref.via_name()) {
    if (auto reg = via_registry(node, *via)) found = reg->whereis_name(via->key);
  }
  if (!found || !found->process()->alive()) return noproc();
  return *found;
}

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

void ServerActor::start() {
  if (start_->info.name) {
    Result<void> r;
    if (const std::string* n = start_->info.name->local_name()) {
      r = node_.register_name(*n, self_);
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

std::optional<Result<Pid>>* ServerActor::outcome_here() const {
  return t_outcome_here && t_outcome_here->server == this ? &t_outcome_here->outcome : nullptr;
}

void ServerActor::init_failed(Reason reason, ErrorCode code) {
  if (!start_->error) start_->error = Error(code, "start of " + describe(), reason);
  // As in OTP 26: a failed start reports to the starter instead of sending it an exit signal.
  if (parent_) Process::unlink(*proc_, *parent_.process());
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
  for (auto& [id, m] : monitors_) m.second.process()->remove_monitor(m.first);
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

// -- dispatch -----------------------------------------------------------------------------------

ServerActor::Ran ServerActor::run_mailbox() {
  // Envelopes per run: enough to amortize the scheduling, few enough that other actors on this
  // worker get their turn during a long burst.
  constexpr int kBatch = 256;
  CurrentScope scope(this, unit_);
  for (int budget = kBatch; budget > 0 && !finished_;) {
    // Exit signals first, checked before every envelope, so that kill overtakes queued messages.
    if (proc_->urgent_pending()) {
      MailNode* u = proc_->take_urgent();
      while (u) {
        MailNode* next = u->next;
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

void ServerActor::recycle(MailNode* n) {
  n->next = recycled_;
  if (!recycled_) recycled_last_ = n;
  recycled_ = n;
  if (++recycled_count_ < ActorProcess::kSpareBatch) return;
  if (!proc_->offer_spares(recycled_)) ActorProcess::free_nodes(recycled_);
  recycled_ = nullptr;
  recycled_count_ = 0;
}

void ServerActor::release_recycled() {
  // In a ping-pong between processes on one worker (calls, starts), the next message sent from
  // this thread reuses them.
  if (recycled_ && t_nodes.count + recycled_count_ <= ActorProcess::kSpareBatch) {
    recycled_last_->next = t_nodes.head;
    t_nodes.head = recycled_;
    t_nodes.count += recycled_count_;
  } else {
    ActorProcess::free_nodes(recycled_);
  }
  recycled_ = nullptr;
  recycled_count_ = 0;
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
      From from(std::move(e.reply_to), e.ref);
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

template <class F>
std::optional<Action> ServerActor::invoke(F&& f) {
  try {
    return f();
  } catch (const std::exception& ex) {
    crash(Reason::error("exception " + type_name(typeid(ex)) + ": " + ex.what()));
  } catch (...) {
    crash(Reason::error("unknown exception"));
  }
  return std::nullopt;
}

void ServerActor::apply(Phase phase, const From& from, Action&& a) {
  auto bad_return = [&](const char* what) {
    crash(Reason::error(std::string("bad_return_value: ") + what + " from " +
                        phase_name(static_cast<int>(phase))));
  };
  for (;;) {
    if (finished_) return;
    switch (a.kind()) {
      case Action::Kind::await:
        awaiting_ = Awaiting{a.await_spec(), phase, from};
        if (a.await_spec()->deadline) arm_await_check(*a.await_spec()->deadline);
        return;
      case Action::Kind::unmatched:
        if (phase == Phase::call) {
          Error err(ErrorCode::bad_call, "call to " + describe() + ": no handle_call clause for " +
                                             a.message().type_name());
          node_.log("warning", err.to_string());
          Envelope r;
          r.kind = EnvelopeKind::reply_error;
          r.ref = from.tag();
          r.payload = std::move(err);
          if (from.valid()) from.endpoint()->deliver(std::move(r), false);
        } else if (phase == Phase::cast || phase == Phase::info) {
          node_.log("warning", describe() + " " + phase_name(static_cast<int>(phase)) +
                                   ": unexpected message " + a.message().type_name() +
                                   " (dropped)");
        } else {
          bad_return("an unmatched message");
        }
        return;
      case Action::Kind::ignore:
        if (phase == Phase::init) {
          init_failed(Reason::normal(), ErrorCode::ignored);
        } else {
          bad_return("ignore");
        }
        return;
      case Action::Kind::stop:
        if (phase == Phase::init) {
          init_failed(a.reason(), ErrorCode::init_failed);
          return;
        }
        if (a.has_reply()) {
          if (phase != Phase::call) return bad_return("stop with a reply");
          gen_server::reply(from, a.message());
        }
        finish(a.reason(), true);
        return;
      case Action::Kind::reply:
        if (phase != Phase::call) return bad_return("reply");
        gen_server::reply(from, a.message());
        break;
      case Action::Kind::noreply:
        if (phase == Phase::init) ack_ok();
        if (phase == Phase::stop) return bad_return("noreply to a stop request");
        break;
    }
    if (a.continue_arg()) {
      Message arg = *a.continue_arg();
      auto next = invoke([&] { return server_->handle_continue(arg); });
      if (!next) return;
      a = std::move(*next);
      phase = Phase::cont;
      continue;
    }
    if (a.idle_timeout()) arm_idle(*a.idle_timeout());
    return;
  }
}

// -- awaiting replies without blocking -----------------------------------------------------------

Action ServerActor::await_call(const ServerRef& target, Message request,
                               std::function<Action(Result<Message>)> then,
                               std::chrono::milliseconds timeout) {
  auto pid = resolve(node_, target, "call to");
  if (!pid) return then(pid.error());
  if (*pid == self_)
    return then(Error(ErrorCode::calling_self, "call to " + target.to_string() + " from itself"));
  Ref tag = Ref::make();
  const auto& callee = pid->process();
  Envelope e;
  e.kind = EnvelopeKind::call;
  e.ref = tag;
  e.payload = std::move(request);
  e.reply_to = proc_;
  if (!callee->begin_call(std::move(e)))
    return then(Error(ErrorCode::noproc, "call to " + target.to_string() + ": no such process"));
  auto spec = new_await_spec();
  spec->tag = tag;
  spec->target = callee;
  spec->deadline = std::chrono::steady_clock::now() + timeout;
  spec->then = std::move(then);
  return Action::make_await(std::move(spec));
}

Action ServerActor::await_tag(Ref tag, std::optional<std::chrono::milliseconds> timeout,
                              std::function<Action(Result<Message>)> then) {
  auto spec = new_await_spec();
  spec->tag = tag;
  if (timeout) spec->deadline = std::chrono::steady_clock::now() + *timeout;
  spec->then = std::move(then);
  return Action::make_await(std::move(spec));
}

void ServerActor::resolve_await(Result<Message> r) {
  Awaiting w = std::move(*awaiting_);
  awaiting_.reset();
  if (w.spec->target) w.spec->target->end_call(w.spec->tag);
  auto a = invoke([&] { return w.spec->then(std::move(r)); });
  if (a) apply(w.phase, w.from, std::move(*a));
  // Keep the spent spec for the next await, unless a copy of its Action is still around.
  if (!finished_ && w.spec.use_count() == 1) {
    *w.spec = AwaitSpec{};
    spare_spec_ = std::move(w.spec);
  }
}

std::shared_ptr<AwaitSpec> ServerActor::new_await_spec() {
  if (spare_spec_) return std::move(spare_spec_);
  return std::make_shared<AwaitSpec>();
}

// Call deadlines are checked lazily: one timer is armed for the earliest deadline and re-armed
// when it fires early, instead of one timer per call (sequential calls then cost no timer work).
void ServerActor::arm_await_check(std::chrono::steady_clock::time_point at) {
  if (check_armed_ && *check_armed_ <= at) return;
  check_armed_ = at;
  Envelope e;
  e.kind = EnvelopeKind::await_check;
  node_.timers().schedule(at, proc_, std::move(e));
}

void ServerActor::on_await_check() {
  check_armed_.reset();
  if (!awaiting_ || !awaiting_->spec->deadline) return;
  auto deadline = *awaiting_->spec->deadline;
  if (deadline <= std::chrono::steady_clock::now()) {
    resolve_await(Error(ErrorCode::timeout, "await in " + describe() + ": no reply in time"));
  } else {
    arm_await_check(deadline);
  }
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
  if (!target || !target.process()->add_monitor(ref, proc_)) {
    Envelope e = Envelope::make_signal(EnvelopeKind::down, target, Reason::noproc());
    e.ref = ref;
    proc_->deliver(std::move(e), false);
  }
  return ref;
}

void ServerActor::demonitor(Ref ref) {
  auto it = monitors_.find(ref.value());
  if (it != monitors_.end()) {
    if (it->second.second) it->second.second.process()->remove_monitor(ref);
    monitors_.erase(it);
  }
  stash_.erase_if([&](const Envelope& s) {  // a Down held back while awaiting a call
    const auto* d = s.payload.get_if<Down>();
    return s.kind == EnvelopeKind::info && d && d->ref == ref;
  });
}

}  // namespace otp::detail
