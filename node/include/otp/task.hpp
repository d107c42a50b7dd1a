// otp::task: Elixir's Task — run a function concurrently and collect its result; and
// otp::task_supervisor, Task.Supervisor. The seed's DataFetcher:
//
// clang-format off
//   auto users    = otp::task::async(node, [] { return fetch_users(); });     // Task<Users>
//   auto posts    = otp::task::async(node, [] { return fetch_posts(); });     // Task<Posts>
//   auto comments = otp::task::async(node, [] { return fetch_comments(); });  // Task<Comments>
//   auto all = otp::task::await_many(std::tuple{users, posts, comments}, 5s);
//   // Result<std::tuple<Users, Posts, Comments>>; inside a GenServer handler, the same with
//   // otp::task::then_many(std::tuple{...}, continuation, 5s) (see then_many below)
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
// Inside a GenServer handler nothing may block: await, await_many and yield with a timeout
// return would_block there (the message names the function to use). Use the non-blocking
// forms, Actions that park the server (like GenServer::await_call) until the results are in:
// task::then(task, continuation, timeout) for one task, task::then_many(tasks, continuation,
// timeout) for several (Task.await_many's form inside a handler: one continuation gets every
// result, a vector or, for tasks of different types, a tuple).
//
// Starting a task never fails: task::async and task_supervisor::async / async_nolink all return
// a Task<R>. A start that can not happen (the task supervisor is not running: noproc; the node is
// stopping: shutting_down) gives a task already finished with that error, reported where every
// other task error is, by await, await_many, then, then_many and shutdown. One place to handle
// errors instead of two; Elixir's Task.Supervisor.async exits the caller in that case instead.
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

namespace detail {

template <class Tasks>
Result<typename TaskGroup<Tasks>::Values> await_group(const Tasks& tasks,
                                                      std::chrono::milliseconds timeout) {
  if (current_process())
    return would_block_error("task::await_many", "task::then_many(tasks, continuation, timeout)");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  TaskGroup<Tasks>::each(tasks, [&](const std::shared_ptr<TaskState>& state, const Pid&) {
    state->wait_until(deadline);
  });
  return collect_group(tasks, "await_many");
}

template <class Tasks, class K>
Action then_group(const Tasks& tasks, K k, std::chrono::milliseconds timeout) {
  using Values = typename TaskGroup<Tasks>::Values;
  static_assert(std::is_invocable_v<K&, Result<Values>>,
                "task::then_many: the continuation must take a Result of the tasks' results "
                "(Result<std::vector<R>> for a vector of tasks, Result<std::tuple<...>> for a "
                "tuple)");
  static_assert(std::is_convertible_v<std::invoke_result_t<K&, Result<Values>>, Action>,
                "task::then_many: the continuation must return an otp::Action");
  std::vector<Ref> pending;
  TaskGroup<Tasks>::each(tasks, [&](const std::shared_ptr<TaskState>& state, const Pid&) {
    if (!state->peek()) pending.push_back(state->ref());
  });
  auto finish = [tasks, k = std::move(k)](Result<Message>) mutable -> Action {
    bool linked_exit = false;
    auto values = collect_group(tasks, "then_many", &linked_exit);
    if (linked_exit) return noreply();
    return k(std::move(values));
  };
  if (pending.empty()) return finish(Message());
  return await_current_group(std::move(pending), timeout, std::move(finish));
}

}  // namespace detail

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

/// The task's result; timeout -> timeout error and the task is killed. Blocks: outside
/// processes only (inside a handler it returns would_block; use then).
template <class R>
Result<R> await(const Task<R>& t, std::chrono::milliseconds timeout = default_call_timeout) {
  if (detail::current_process())
    return detail::would_block_error("task::await", "task::then(task, continuation, timeout)");
  auto r = otp::detail::RuntimeAccess::task_state(t)->wait_until(std::chrono::steady_clock::now() +
                                                                 timeout);
  if (!r) {
    detail::kill_task(t.pid());
    return Error(ErrorCode::timeout, "await of task " + t.pid().to_string());
  }
  return detail::unpack_task<R>(std::move(*r));
}

/// Every task's result, in task order, within one overall timeout (Task.await_many). On timeout
/// every unfinished task is killed (unlinked first) and the error says how many were missing;
/// otherwise the first task error in task order. A void task's result is std::monostate.
/// Blocks: outside processes only (inside a handler it returns would_block; use then_many).
template <class R>
Result<std::vector<detail::task_value_t<R>>> await_many(
    const std::vector<Task<R>>& tasks, std::chrono::milliseconds timeout = default_call_timeout) {
  return detail::await_group(tasks, timeout);
}
/// The same for tasks of different result types: a tuple of results, in task order.
///   auto [u, p] = otp::task::await_many(std::tuple{users, posts}, 5s).value();
template <class... Rs>
Result<std::tuple<detail::task_value_t<Rs>...>> await_many(
    const std::tuple<Task<Rs>...>& tasks,
    std::chrono::milliseconds timeout = default_call_timeout) {
  return detail::await_group(tasks, timeout);
}

/// Waits up to timeout; nullopt if the task is still running (it keeps running).
template <class R>
std::optional<Result<R>> yield(const Task<R>& t, std::chrono::milliseconds timeout) {
  std::optional<Result<Message>> r;
  if (timeout.count() == 0) {
    r = otp::detail::RuntimeAccess::task_state(t)->peek();
  } else {
    if (detail::current_process())
      return Result<R>(detail::would_block_error("task::yield with a timeout",
                                                 "task::yield(task, 0ms) to poll, or task::then"));
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

/// Inside a GenServer handler: wait for the task without blocking (an await Action, like
/// GenServer::await_call: the server handles no other message until k has run). k takes a
/// Result<R> and returns an Action (R is deduced from the task). On timeout k gets a timeout
/// error and the task is killed, unlinked first (the server survives). Never runs k for the
/// death of a task still linked to the caller (see above).
///   return otp::task::then(t, [](otp::Result<int> r) { return otp::reply(*r); }, 2s);
template <class R, class K>
Action then(const Task<R>& t, K k, std::chrono::milliseconds timeout = default_call_timeout) {
  static_assert(std::is_invocable_v<K&, Result<R>>,
                "task::then: the continuation must take the task's Result<R>");
  static_assert(std::is_convertible_v<std::invoke_result_t<K&, Result<R>>, Action>,
                "task::then: the continuation must return an otp::Action (reply, noreply, ...)");
  const auto& state = otp::detail::RuntimeAccess::task_state(t);
  // A linked task's death reaches the caller by the link's exit signal, sent before the state
  // says so: the continuation must not run for it (see the header comment).
  if (auto r = state->peek()) {
    if (state->linked_exit()) return noreply();
    return k(detail::unpack_task<R>(std::move(*r)));
  }
  Pid pid = t.pid();
  return detail::await_current(t.ref(), timeout,
                               [pid, state, k = std::move(k)](Result<Message> r) mutable -> Action {
                                 if (state->linked_exit()) return noreply();
                                 if (!r && r.code() == ErrorCode::timeout) detail::kill_task(pid);
                                 return k(detail::unpack_task<R>(std::move(r)));
                               });
}

/// then over several tasks: Task.await_many inside a handler, without blocking. k runs once,
/// when every task has finished or at the timeout, with what await_many would return: the
/// results in task order (a std::vector for a vector of tasks, a std::tuple for a tuple of tasks
/// of different types), or the first task error, or, at the timeout, a timeout error saying how
/// many were unfinished, those being killed (unlinked first: the server survives). As for then,
/// k never runs if a task linked to the caller died: the exit signal takes the caller down (or,
/// trapping exits, the EXIT message arrives and this wait ends without k once the others are
/// done). The seed's DataFetcher inside a GenServer:
///   auto users = otp::task::async(node(), fetch_users);  // Task<std::vector<std::string>>
///   auto count = otp::task::async(node(), count_posts);  // Task<int>
///   return otp::task::then_many(std::tuple{users, count},
///       [](otp::Result<std::tuple<std::vector<std::string>, int>> r) {
///         if (!r) return otp::reply(r.error());
///         auto& [u, n] = *r;
///         return otp::reply(Summary{u, n});
///       }, 5s);
template <class R, class K>
Action then_many(const std::vector<Task<R>>& tasks, K k,
                 std::chrono::milliseconds timeout = default_call_timeout) {
  return detail::then_group(tasks, std::move(k), timeout);
}
/// The same for a tuple of tasks (std::tuple{t1, t2, t3}): k gets a Result of a tuple.
template <class... Rs, class K>
Action then_many(const std::tuple<Task<Rs>...>& tasks, K k,
                 std::chrono::milliseconds timeout = default_call_timeout) {
  return detail::then_group(tasks, std::move(k), timeout);
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

/// A supervised task linked to the caller too (a crash reaches the calling process). Returns a
/// Task, as task::async does: when the supervisor is not running the task is born finished with
/// a noproc error, which await, then and shutdown report (see the header comment).
template <class F>
Task<otp::detail::task_result_t<F>> async(Node& node, const ServerRef& sup, F fn) {
  using R = otp::detail::task_result_t<F>;
  auto s = detail::resolve_supervisor(node, sup);
  if (!s)
    return otp::detail::RuntimeAccess::make_task<R>(Pid(),
                                                    otp::detail::failed_task_state(s.error()));
  auto owner = otp::detail::current_process();
  auto state = otp::detail::make_task_state(owner);
  Pid pid =
      otp::detail::spawn_task(node, otp::detail::wrap_body(std::move(fn)), {owner, *s}, state);
  return otp::detail::RuntimeAccess::make_task<R>(std::move(pid), std::move(state));
}

/// A supervised task not linked to the caller: a crash comes back as an error from await (and
/// then). A missing supervisor as for async.
template <class F>
Task<otp::detail::task_result_t<F>> async_nolink(Node& node, const ServerRef& sup, F fn) {
  using R = otp::detail::task_result_t<F>;
  auto s = detail::resolve_supervisor(node, sup);
  if (!s)
    return otp::detail::RuntimeAccess::make_task<R>(Pid(),
                                                    otp::detail::failed_task_state(s.error()));
  auto state = otp::detail::make_task_state(otp::detail::current_process());
  Pid pid =
      otp::detail::spawn_task(node, otp::detail::wrap_body(std::move(fn)), {nullptr, *s}, state);
  return otp::detail::RuntimeAccess::make_task<R>(std::move(pid), std::move(state));
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
