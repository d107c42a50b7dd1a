// otp::task: Elixir's Task — run a function concurrently and collect its result; and
// otp::task_supervisor, Task.Supervisor. The seed's DataFetcher:
//
// clang-format off
//   auto users    = otp::task::async(node, [] { return fetch_users(); });
//   auto posts    = otp::task::async(node, [] { return fetch_posts(); });
//   auto comments = otp::task::async(node, [] { return fetch_comments(); });
//   auto u = otp::task::await(users, 5s);      // Result<std::vector<std::string>>
// clang-format on
//
// A task is a process (it has a pid; it can be linked, monitored, killed) whose function runs on
// a thread of the node's blocking pool, not on a scheduler thread: task functions may block
// (sleep, file or network I/O), and tasks run in parallel however many there are.
//
// Semantics: async links the task to the calling process (when called from a process), so a
// crash in the task reaches its caller; await with a timeout returns a timeout error (never
// hangs) and kills the task, as the caller's exit would in Elixir; await_many does so for a list;
// yield waits without killing; shutdown stops a task and returns its result if it had finished.
// A killed task is dead at once for everyone (links, monitors, awaits); its function, which can
// not be interrupted, finishes in the background and its result is discarded.
//
// Killing a task the caller gave up on (then's timeout, shutdown) first unlinks the calling
// process from it, as Elixir's Task.shutdown does: the caller gets the timeout error (or
// shutdown's nullopt) and keeps running; the kill never comes back to it through the link.
// shutdown is always a brutal kill (Task.shutdown(task, :brutal_kill)): a task's function can
// not be interrupted, so a graceful shutdown with a timeout would only delay the same kill.
//
// Inside a GenServer handler nothing may block: await/await_many return would_block there; use
// otp::task::then(task, continuation) (an await Action, like GenServer::await_call).
//
// A linked task (task::async or task_supervisor::async from a process) that dies (a throw, an
// exit signal) while still linked to its caller tells the caller by the link only, as in
// Elixir, where a caller linked to a crashed task never continues: the exit signal is sent
// before the task's state records the error, and then's continuation never runs for that
// outcome. A caller that does not trap exits dies of the signal; one that traps exits gets the
// EXIT message (ExitSignal in handle_info) and the pending then ends without running its
// continuation (in a handle_call, answer the caller from handle_info with a saved From, or let
// it time out). async_nolink tasks, and tasks the caller unlinked, keep delivering their error
// to the continuation (and to await).
//
// async_stream(node, inputs, fn, {.max_concurrency = n}) runs fn over inputs with at most n
// tasks at once and yields results in input order; it starts a new task only when the consumer
// takes a result, so a slow consumer holds producers back and memory stays bounded.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "otp/child_spec.hpp"
#include "otp/detail/runtime_access.hpp"
#include "otp/detail/task.hpp"
#include "otp/gen_server.hpp"

namespace otp {

/// A running (or finished) task whose function returns R.
template <class R>
class Task {
 public:
  /// The task's process (link, monitor, exit it like any other).
  const Pid& pid() const { return pid_; }
  /// Tags the task's reply (Elixir's task.ref).
  const Ref& ref() const { return state_->ref(); }

 private:
  // Made by task::async and task_supervisor's functions; its state (where the result lands) is
  // read by await, yield, shutdown and then, all through RuntimeAccess.
  friend struct detail::RuntimeAccess;
  Task(Pid pid, std::shared_ptr<detail::TaskState> state)
      : pid_(std::move(pid)), state_(std::move(state)) {}

  Pid pid_;
  std::shared_ptr<detail::TaskState> state_;
};

namespace task {

/// Runs fn() on the node's blocking pool as a new process; from a process, linked to it. Never
/// fails; a throw in fn crashes the task, and await returns an error for it.
template <class F>
Task<detail::task_result_t<F>> async(Node& node, F fn) {
  auto owner = detail::current_process();
  auto state = detail::make_task_state(owner);
  Pid pid = detail::spawn_task(node, detail::wrap_body(std::move(fn)), {owner, nullptr}, state);
  return otp::detail::RuntimeAccess::make_task<detail::task_result_t<F>>(std::move(pid),
                                                                         std::move(state));
}

/// The task's result; timeout -> timeout error and the task is killed.
template <class R>
Result<R> await(const Task<R>& t, std::chrono::milliseconds timeout = default_call_timeout) {
  if (detail::current_process()) return detail::would_block_error("task::await");
  auto r = otp::detail::RuntimeAccess::task_state(t)->wait_until(std::chrono::steady_clock::now() +
                                                                 timeout);
  if (!r) {
    detail::kill_task(t.pid());
    return Error(ErrorCode::timeout, "await of task " + t.pid().to_string());
  }
  return detail::unpack_task<R>(std::move(*r));
}

/// Every task's result, in order, within one overall timeout; on timeout every unfinished task
/// is killed and the error says how many were missing.
template <class R>
Result<std::vector<R>> await_many(const std::vector<Task<R>>& tasks,
                                  std::chrono::milliseconds timeout = default_call_timeout) {
  if (detail::current_process()) return detail::would_block_error("task::await_many");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<R> out;
  size_t missing = 0;
  std::optional<Error> first_error;
  for (auto& t : tasks) {
    auto r = otp::detail::RuntimeAccess::task_state(t)->wait_until(deadline);
    if (!r) {
      ++missing;
      detail::kill_task(t.pid());
      continue;
    }
    auto v = detail::unpack_task<R>(std::move(*r));
    if (!v) {
      if (!first_error) first_error = v.error();
      continue;
    }
    if (!missing && !first_error) out.push_back(std::move(v).value());
  }
  if (missing)
    return Error(ErrorCode::timeout, "await_many: " + std::to_string(missing) + " of " +
                                         std::to_string(tasks.size()) + " tasks unfinished");
  if (first_error) return *first_error;
  return out;
}

/// Waits up to timeout; nullopt if the task is still running (it keeps running).
template <class R>
std::optional<Result<R>> yield(const Task<R>& t, std::chrono::milliseconds timeout) {
  std::optional<Result<Message>> r;
  if (timeout.count() == 0) {
    r = otp::detail::RuntimeAccess::task_state(t)->peek();
  } else {
    if (detail::current_process())
      return Result<R>(detail::would_block_error("task::yield with a timeout"));
    r = otp::detail::RuntimeAccess::task_state(t)->wait_until(std::chrono::steady_clock::now() +
                                                              timeout);
  }
  if (!r) return std::nullopt;
  return detail::unpack_task<R>(std::move(*r));
}

/// Stops the task (a brutal kill, after unlinking the calling process from it, so the caller
/// survives); returns its result if it had finished, nullopt otherwise.
template <class R>
std::optional<Result<R>> shutdown(const Task<R>& t) {
  auto r = otp::detail::RuntimeAccess::task_state(t)->peek();
  if (r) return detail::unpack_task<R>(std::move(*r));
  detail::kill_task(t.pid());
  r = otp::detail::RuntimeAccess::task_state(t)->peek();
  if (r && r->ok()) return detail::unpack_task<R>(std::move(*r));  // finished just in time
  return std::nullopt;
}

/// Inside a GenServer handler: wait for the task without blocking (an await Action). On timeout
/// the continuation gets a timeout error and the task is killed, unlinked first (the server
/// survives). Never runs k for the death of a task still linked to the caller (see above).
template <class R>
Action then(const Task<R>& t, std::function<Action(Result<R>)> k,
            std::chrono::milliseconds timeout = default_call_timeout) {
  const auto& state = otp::detail::RuntimeAccess::task_state(t);
  // A linked task's death reaches the caller by the link's exit signal, sent before the state
  // says so: the continuation must not run for it (see the header comment).
  if (auto r = state->peek()) {
    if (state->linked_exit()) return noreply();
    return k(detail::unpack_task<R>(std::move(*r)));
  }
  Pid pid = t.pid();
  return detail::await_current(t.ref(), timeout, [pid, state, k = std::move(k)](Result<Message> r) {
    if (state->linked_exit()) return noreply();
    if (!r && r.code() == ErrorCode::timeout) detail::kill_task(pid);
    return k(detail::unpack_task<R>(std::move(r)));
  });
}

/// How async_stream runs its tasks.
struct StreamOptions {
  /// Tasks running at once (Elixir's default: one per scheduler).
  size_t max_concurrency = 2;
  /// Per-task timeout; a task exceeding it is killed and yields a timeout error.
  std::chrono::milliseconds timeout = default_call_timeout;
};

/// Results of async_stream, pulled one at a time with next(), in input order.
template <class In, class R>
class Stream {
 public:
  Stream(Node& node, std::function<std::optional<In>()> source, std::function<R(const In&)> fn,
         StreamOptions options)
      : node_(&node), source_(std::move(source)), fn_(std::move(fn)), options_(options) {}

  /// The next result, or nullopt when every input has been processed.
  std::optional<Result<R>> next() {
    fill();
    if (running_.empty()) return std::nullopt;
    Task<R> t = std::move(running_.front());
    running_.pop_front();
    auto r = await(t, options_.timeout);
    fill();  // keep max_concurrency tasks busy while the consumer works on this result
    return r;
  }
  /// Tasks started and not yet taken (never more than max_concurrency).
  size_t in_flight() const { return running_.size(); }

 private:
  void fill() {
    while (running_.size() < std::max<size_t>(1, options_.max_concurrency)) {
      auto in = source_();
      if (!in) return;
      running_.push_back(async(*node_, [fn = fn_, x = std::move(*in)] { return fn(x); }));
    }
  }
  Node* node_;
  std::function<std::optional<In>()> source_;
  std::function<R(const In&)> fn_;
  StreamOptions options_;
  std::deque<Task<R>> running_;
};

/// fn over every input, as tasks (see the header comment); results come from Stream::next.
template <class In, class F>
Stream<In, std::invoke_result_t<F, const In&>> async_stream(Node& node, std::vector<In> inputs,
                                                            F fn, StreamOptions options = {}) {
  auto items = std::make_shared<std::vector<In>>(std::move(inputs));
  auto pos = std::make_shared<size_t>(0);
  std::function<std::optional<In>()> source = [items, pos]() -> std::optional<In> {
    if (*pos >= items->size()) return std::nullopt;
    return (*items)[(*pos)++];
  };
  return {node, std::move(source), std::move(fn), options};
}

/// The same over a generator (returns nullopt when exhausted), for unbounded inputs.
template <class In, class F>
Stream<In, std::invoke_result_t<F, const In&>> async_stream(
    Node& node, std::function<std::optional<In>()> source, F fn, StreamOptions options = {}) {
  return {node, std::move(source), std::move(fn), options};
}

}  // namespace task

namespace task_supervisor {

/// Starts a Task.Supervisor (tasks started under it are its temporary children). Errors:
/// already_started for a taken name; would_block inside a handler (use spec).
Result<Pid> start_link(Node& node, std::optional<Name> name = std::nullopt);
/// A task supervisor as a child of a supervisor (`{Task.Supervisor, name: ...}`).
ChildSpec spec(std::string id, std::optional<ServerRef> name = std::nullopt);
/// The tasks it supervises right now.
Result<std::vector<Pid>> children(Node& node, const ServerRef& sup);

/// A supervised task linked to the caller too (a crash reaches the calling process).
template <class F>
Result<Task<otp::detail::task_result_t<F>>> async(Node& node, const ServerRef& sup, F fn) {
  auto s = detail::resolve_supervisor(node, sup);
  if (!s) return s.error();
  auto owner = otp::detail::current_process();
  auto state = otp::detail::make_task_state(owner);
  Pid pid =
      otp::detail::spawn_task(node, otp::detail::wrap_body(std::move(fn)), {owner, *s}, state);
  return otp::detail::RuntimeAccess::make_task<otp::detail::task_result_t<F>>(std::move(pid),
                                                                              std::move(state));
}

/// A supervised task not linked to the caller: a crash comes back as an error from await.
template <class F>
Result<Task<otp::detail::task_result_t<F>>> async_nolink(Node& node, const ServerRef& sup, F fn) {
  auto s = detail::resolve_supervisor(node, sup);
  if (!s) return s.error();
  auto state = otp::detail::make_task_state(otp::detail::current_process());
  Pid pid =
      otp::detail::spawn_task(node, otp::detail::wrap_body(std::move(fn)), {nullptr, *s}, state);
  return otp::detail::RuntimeAccess::make_task<otp::detail::task_result_t<F>>(std::move(pid),
                                                                              std::move(state));
}

/// Fire and forget: a supervised task whose result nobody awaits.
template <class F>
Result<Pid> start_child(Node& node, const ServerRef& sup, F fn) {
  auto s = detail::resolve_supervisor(node, sup);
  if (!s) return s.error();
  auto state = otp::detail::make_task_state(nullptr);
  return otp::detail::spawn_task(node, otp::detail::wrap_body(std::move(fn)), {nullptr, *s}, state);
}

}  // namespace task_supervisor
}  // namespace otp
