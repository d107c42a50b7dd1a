// Private: what runs one GenServer (a job for CAF's workers). It owns the dispatch loop that gives
// OTP semantics: one handler at a time; a stash that holds messages back while the server awaits a
// reply (so a call made from a handler never blocks a scheduler thread and the
// one-message-at-a-time order holds); exit signals and monitors with Erlang's rules; idle
// timeouts; crash handling (exception -> terminate -> exit signals to links and monitors).
#pragma once

#include <algorithm>
#include <chrono>
#include <new>
#include <optional>
#include <string>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include <caf/execution_unit.hpp>
#include <caf/intrusive_ptr.hpp>
#include <caf/resumable.hpp>

#include "node_core.hpp"
#include "otp/gen_server.hpp"
#include "process_control.hpp"

namespace otp::detail {

class ServerActor;

/// One queued envelope. Nodes are recycled: the actor hands the nodes of handled envelopes back
/// in batches (ServerActor::recycle), and senders reuse them, so that in a steady stream no
/// node is allocated by one thread and freed by another (glibc's malloc makes such frees slow and
/// contended: they go to the allocating thread's arena, under its lock). A node is one cache
/// line, aligned: the sender writes it and the receiver reads it on another core, and a node
/// that shared a line with its neighbour would move that line between them twice as often.
struct alignas(64) MailNode {
  MailNode* next = nullptr;
  alignas(Envelope) unsigned char storage[sizeof(Envelope)];
  Envelope& env() { return *std::launder(reinterpret_cast<Envelope*>(storage)); }
};
static_assert(sizeof(MailNode) == 64, "a queued message is one cache line: keep Envelope small");

/// A process run by a ServerActor.
///
/// Its mailbox lives here, instead of CAF's: two intrusive lock-free stacks (urgent: exit
/// signals; normal: everything else). A sender pushes with one CAS. The actor takes a whole stack
/// with one exchange and reverses it, which gives each sender's envelopes in the order it sent
/// them. The scheduler is told only when the mailbox goes from idle to non-idle: the sender that
/// ends the idle state hands the actor to the scheduler (wake), and the actor's run then handles
/// a batch of envelopes. So a message costs no CAF mailbox element and no CAF dispatch, and a
/// burst from one sender is handled in batches.
///
/// Idle is encoded in the normal stack's head (kIdle): exactly one of "the actor runs", "the
/// actor is scheduled" and "head == kIdle" holds at any time, so no wake is ever lost and the
/// actor is never scheduled twice. A new process counts as running: its first run drains what
/// came before it, so no sender wakes an actor that is not bound yet. After the process
/// finished, both heads are kClosed and deliveries are dropped (and freed by the sender).
class ActorProcess final : public Process {
 public:
  using Process::Process;
  ~ActorProcess() override;
  void bind(ServerActor* actor) { actor_ = actor; }
  /// Holds the actor alive until the process exits (never after it did).
  void keep_alive(caf::intrusive_ptr<ServerActor> strong);
  void deliver(Envelope&& e, bool urgent) override;

  // -- the consumer side: only the process's own actor calls these --
  bool urgent_pending() const { return urgent_.load(std::memory_order_relaxed) != nullptr; }
  /// Everything queued so far (oldest first), or nullptr.
  MailNode* take_urgent() { return take(urgent_); }
  MailNode* take_normal() { return take(normal_); }
  /// Nothing left to do: marks the mailbox idle, so the next delivery wakes the actor. False when
  /// an envelope arrived meanwhile (the actor must go on draining).
  bool try_idle();
  /// The process finished: frees what is queued; later deliveries are dropped.
  void close();
  /// Frees a list of nodes whose envelopes were handled already (or never built).
  static void free_nodes(MailNode* n);
  /// Destroys the envelopes of a list of queued nodes and frees the nodes.
  static void drop_list(MailNode* n);
  /// A batch of kSpareBatch nodes whose envelopes were handled, for senders to reuse: true if
  /// taken (the previous batch was taken already), else the caller still owns it.
  bool offer_spares(MailNode* batch);

  /// Nodes per batch handed back to senders. A process keeps at most one batch for them
  /// (spare_), and a sending thread at most one batch in its cache.
  static constexpr int kSpareBatch = 32;

 protected:
  void on_dead() override;

 private:
  static MailNode* idle_tag() { return reinterpret_cast<MailNode*>(uintptr_t{1}); }
  static MailNode* closed_tag() { return reinterpret_cast<MailNode*>(uintptr_t{2}); }
  static bool is_tag(MailNode* n) { return n == idle_tag() || n == closed_tag(); }
  /// Pushes n; returns false (n not queued) when the mailbox is closed. *was_idle: it was idle.
  bool push(std::atomic<MailNode*>& head, MailNode* n, bool* was_idle);
  MailNode* take(std::atomic<MailNode*>& head);
  void wake();
  /// A node for deliver(): this thread's cache, refilled from this process's spares.
  MailNode* alloc_node();
  std::atomic<MailNode*> urgent_{nullptr};
  // Busy (not idle) until the actor's first run drains it: a delivery before that must not try
  // to wake an actor that may not be bound yet (actor_ is set in its constructor).
  std::atomic<MailNode*> normal_{nullptr};
  std::atomic<MailNode*> spare_{nullptr};  // a batch of nodes for senders to reuse
  // The process's actor, for wake(): alive whenever a wake can happen (the mailbox can only be
  // found idle while the process lives, and then strong_ or its spawner holds the actor).
  ServerActor* actor_ = nullptr;
  std::mutex strong_mx_;
  caf::intrusive_ptr<ServerActor> strong_;
};

/// Messages held back while a server awaits a reply, in arrival order. Empty (and without any
/// allocation) for a server that never awaited: a std::deque would allocate ~600 bytes per
/// process up front.
class Stash {
 public:
  bool empty() const { return head_ == items_.size(); }
  void push(Envelope&& e) { items_.push_back(std::move(e)); }
  Envelope pop() {
    Envelope e = std::move(items_[head_++]);
    if (empty()) clear();
    return e;
  }
  template <class Pred>
  void erase_if(Pred pred) {
    items_.erase(std::remove_if(items_.begin() + static_cast<long>(head_), items_.end(), pred),
                 items_.end());
    if (empty()) clear();
  }
  void clear() {
    items_.clear();
    head_ = 0;
  }

 private:
  std::vector<Envelope> items_;
  size_t head_ = 0;
};

struct SpawnInfo {
  std::optional<ServerRef> name;
  std::shared_ptr<Process> parent;  // linked before the server starts
  std::shared_ptr<Endpoint> ack_to;
  Ref ack_tag;
  std::string label;  // for logs until the server object exists (a supervisor's child id)
  /// The starter runs a handler on this thread and can take the outcome at once: when the start
  /// completes within spawn_server, spawn_server returns it and nothing is sent to ack_to.
  bool outcome_here = false;
};

struct Spawned {
  Pid pid;
  /// The start's outcome (the pid, or why it failed) when it completed within spawn_server and
  /// info.outcome_here was set; otherwise it goes to info.ack_to.
  std::optional<Result<Pid>> outcome;
};

/// Starts a server process. Init reports to info.ack_to (reply with the pid, or reply_error)
/// tagged info.ack_tag. From outside the actor system init runs on a scheduler thread; from
/// inside a handler it runs before spawn_server returns, on this thread (so its outcome is
/// usually known by then, unless init awaits something).
Spawned spawn_server(NodeCore& node, ServerFactory factory, SpawnInfo info);

/// The registry a via name goes through (nullptr if a named one does not exist).
std::shared_ptr<ViaRegistry> via_registry(NodeCore& node, const ViaName& via);
/// Resolves a ServerRef to a live pid, or a noproc error naming it.
Result<Pid> resolve(NodeCore& node, const ServerRef& ref, const char* operation);

/// What runs one GenServer: a job for the node's CAF workers (a caf::resumable), not a CAF
/// actor. CAF's actors bring a mailbox, behaviors, streams and a registry entry (960 bytes and
/// their bookkeeping per process), and a server uses none of them: its mailbox is its
/// ActorProcess, and a delivery to an idle one hands this object to the scheduler. It is
/// reference counted: its ActorProcess holds it while the process lives, the scheduler while it
/// is queued, its spawner while it starts.
class ServerActor final : public caf::resumable {
 public:
  ServerActor(std::shared_ptr<ActorProcess> proc, ServerFactory factory, SpawnInfo info);
  ~ServerActor() override;
  /// Runs the start (name, constructor, init) on this thread, inside the handler of the process
  /// that spawns this server, then leaves the actor to the scheduler.
  void start_here(caf::execution_unit* unit);
  /// A run on a worker: the start on the first one, then a batch of envelopes. Tells the worker
  /// whether the mailbox went idle (awaiting_message), has more (resume_later) or the process
  /// ended (done).
  resume_result resume(caf::execution_unit* unit, size_t max_throughput) override;
  void intrusive_ptr_add_ref_impl() override { refs_.fetch_add(1, std::memory_order_relaxed); }
  void intrusive_ptr_release_impl() override {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // -- used by GenServer and the process API while this server runs a handler --
  const Pid& self_pid() const { return self_; }
  const Pid& parent() const { return parent_; }
  NodeCore& node_core() { return node_; }
  const std::shared_ptr<ActorProcess>& process() const { return proc_; }
  bool set_trap_exit(bool on);
  Ref monitor(const Pid& target);
  void demonitor(Ref ref);
  /// After unlink: no exit signal from pid that is still queued here is delivered.
  void forget_exits_from(const Pid& pid);
  Action await_call(const ServerRef& target, Message request,
                    std::function<Action(Result<Message>)> then, std::chrono::milliseconds timeout);
  Action await_tag(Ref tag, std::optional<std::chrono::milliseconds> timeout,
                   std::function<Action(Result<Message>)> then);

 private:
  enum class Phase { init, call, cast, info, cont, stop };
  std::atomic<size_t> refs_{1};
  caf::execution_unit* unit_ = nullptr;  // the worker of the current run
  bool started_ = false;
  struct Awaiting {
    std::shared_ptr<AwaitSpec> spec;
    Phase phase;
    From from;
  };

  void start();
  enum class Ran { idle, more, finished };
  /// Handles up to kBatch envelopes, urgent ones first; says how the mailbox was left.
  Ran run_mailbox();
  void on_envelope(Envelope& e);
  void on_exit_signal(Envelope& e);
  void on_down(Envelope& e);
  void on_await_check();
  void on_trapped_exit(Envelope& e);
  /// An answer (reply or Down) tagged ref arrived: true if the current await consumed it.
  bool answer_await(Envelope& e);
  void enqueue_user(Envelope&& e);
  void handle_user(Envelope& e);
  void drain();

  template <class F>
  std::optional<Action> invoke(F&& f);
  void apply(Phase phase, const From& from, Action&& a);
  /// A handler's match took no clause for m: crash or carry on (see otp/gen_server.hpp).
  void unmatched(Phase phase, const From& from, const Message& m);
  void resolve_await(Result<Message> r);
  /// An empty spec for an await: the one the last await left, or a new one.
  std::shared_ptr<AwaitSpec> new_await_spec();
  void arm_await_check(std::chrono::steady_clock::time_point at);
  void arm_idle(std::chrono::milliseconds t);
  void touch_idle();

  /// A node whose envelope was handled (and destroyed): kept for senders to reuse.
  void recycle(MailNode* n);
  /// Going idle or finishing: this thread's cache takes the collected nodes if they fit (it
  /// holds at most one batch), else they are freed.
  void release_recycled();

  void ack_ok();
  void ack_error(Error e);
  /// Where the outcome of this server's start goes when its starter takes it on this thread
  /// (SpawnInfo::outcome_here), or nullptr: then it is sent.
  std::optional<Result<Pid>>* outcome_here() const;
  /// What a failed start reports, once the process has fully exited.
  void init_failed(Reason reason, ErrorCode code);
  void crash(Reason reason);
  void finish(Reason reason, bool run_terminate);
  std::string describe() const;

  std::shared_ptr<ActorProcess> proc_;
  NodeCore& node_;
  Pid self_;
  /// What only the start needs (~250 bytes); freed once the start is acknowledged, so a running
  /// server keeps a null pointer instead.
  struct StartState {
    ServerFactory factory;
    SpawnInfo info;
    std::optional<Error> error;
  };
  std::unique_ptr<StartState> start_;
  std::unique_ptr<GenServer> server_;
  const std::type_info* server_type_ = nullptr;  // names the server in describe()
  Pid parent_;
  bool trap_exit_ = false;
  bool finished_ = false;
  uint32_t idle_seq_ = 0;  // wraps: only an equal one in flight matters
  Ref idle_timer_;
  std::optional<Awaiting> awaiting_;
  /// A resolved await's spec, reused by the next await: a server that awaits in a loop (a
  /// supervisor starting children, a client calling) then allocates no spec per await.
  std::shared_ptr<AwaitSpec> spare_spec_;
  std::optional<std::chrono::steady_clock::time_point> check_armed_;
  Stash stash_;
  std::unordered_map<uint64_t, std::pair<Ref, Pid>> monitors_;
  /// Trapped exit signals re-queued behind earlier messages, by seq. Only trapping processes that
  /// got exit signals need it: allocated on the first one.
  struct QueuedExits {
    uint32_t seq = 0;
    std::unordered_map<uint32_t, Pid> by_seq;
  };
  std::unique_ptr<QueuedExits> queued_exits_;
  MailNode* taken_ = nullptr;  // normal envelopes taken from the mailbox, not yet handled
  // Nodes of handled envelopes, collected into a batch for senders to reuse (recycle()). They
  // are the actor's own and live here, not next to the mailbox heads in ActorProcess: written
  // per message, in the cache line that senders write per message too, they cost a transfer of
  // that line between cores per message in both directions.
  MailNode* recycled_ = nullptr;
  MailNode* recycled_last_ = nullptr;  // valid while recycled_ is not null
  int recycled_count_ = 0;
};

template <class F>
inline std::optional<Action> ServerActor::invoke(F&& f) {
  try {
    return f();
  } catch (const std::exception& ex) {
    crash(Reason::error("exception " + type_name(typeid(ex)) + ": " + ex.what()));
  } catch (...) {
    crash(Reason::error("unknown exception"));
  }
  return std::nullopt;
}

// For caf::intrusive_ptr<ServerActor> (found by argument-dependent lookup).
inline void intrusive_ptr_add_ref(ServerActor* p) {
  p->intrusive_ptr_add_ref_impl();
}
inline void intrusive_ptr_release(ServerActor* p) {
  p->intrusive_ptr_release_impl();
}

/// The server whose handler runs on this thread, or nullptr (outside any process).
ServerActor* current_server();
/// The task process whose function runs on this thread (set by the blocking pool), or nullptr.
const Pid* current_task();
void set_current_task(const Pid* pid);
/// The CAF execution unit of the running handler, so sends from it are scheduled locally.
caf::execution_unit* current_execution_unit();

}  // namespace otp::detail
