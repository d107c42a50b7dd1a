// Internal machinery of otp/task.hpp: where a task's result lands, how its process is spawned
// and killed. Read otp/task.hpp instead; nothing here is API.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "otp/detail/gen_server.hpp"
#include "otp/detail/runtime_access.hpp"
#include "otp/error.hpp"
#include "otp/message.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/server_ref.hpp"

namespace otp {

template <class R>
class Task;

namespace detail {

/// Where a task's outcome lands; shared by the task process and every handle to it.
class TaskState {
 public:
  explicit TaskState(Ref ref, std::shared_ptr<Endpoint> owner)
      : ref_(ref), owner_(std::move(owner)) {}
  const Ref& ref() const { return ref_; }
  /// First completion wins: the result, or the exit that ended the task. linked_exit: the task
  /// died while linked to its caller, which learns of it from the link's exit signal (sent
  /// before this), so task::then never runs its continuation for this outcome.
  void complete(Result<Message> r, bool linked_exit = false);
  /// The task died while linked to its caller (see complete).
  bool linked_exit();
  std::optional<Result<Message>> wait_until(std::chrono::steady_clock::time_point deadline);
  std::optional<Result<Message>> peek();

 private:
  Ref ref_;
  std::shared_ptr<Endpoint> owner_;  // a process owner is also told by a reply envelope
  std::mutex mx_;
  std::condition_variable cv_;
  std::optional<Result<Message>> result_;
  bool linked_exit_ = false;
};

struct TaskLinks {
  std::shared_ptr<Process> caller;      // linked when set (async from a process)
  std::shared_ptr<Process> supervisor;  // linked when set (task_supervisor)
};

/// A task's state; a process owner (may be null) is also told by a reply envelope.
std::shared_ptr<TaskState> make_task_state(const std::shared_ptr<Process>& owner);
/// Spawns the task process and queues body on the blocking pool.
Pid spawn_task(Node& node, std::function<Message()> body, TaskLinks links,
               std::shared_ptr<TaskState> state);
/// The running process's control block, or nullptr outside processes.
std::shared_ptr<Process> current_process();
/// await_tag for the running server (task::then).
Action await_current(Ref tag, std::chrono::milliseconds timeout,
                     std::function<Action(Result<Message>)> then);
/// The same for several tags at once (task::then_many): then runs when every tag's reply has
/// come (with an empty Message) or at the deadline (with a timeout error).
Action await_current_group(std::vector<Ref> tags, std::chrono::milliseconds timeout,
                           std::function<Action(Result<Message>)> then);
/// Kills a task process (exit kill). Called from a process, unlinks it from the task first (as
/// Elixir's Task.shutdown does), so that the kill does not come back to it through the link.
void kill_task(const Pid& pid);
/// would_block for a blocking task function called inside a handler; names the one to use.
Error would_block_error(const char* what, const char* instead);
/// The state of a task that could not start (its supervisor is gone): finished with error.
std::shared_ptr<TaskState> failed_task_state(Error error);

template <class F>
using task_result_t = std::invoke_result_t<F>;

template <class R>
Result<R> unpack_task(Result<Message> r) {
  if constexpr (std::is_void_v<R>) {
    if (!r) return r.error();
    return {};
  } else {
    return unpack_reply<R>(std::move(r), "task");
  }
}

/// What a task returning R yields inside a tuple or vector of results (void: std::monostate).
template <class R>
using task_value_t = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

template <class R>
Result<task_value_t<R>> unpack_task_value(Result<Message> r) {
  if constexpr (std::is_void_v<R>) {
    if (!r) return r.error();
    return std::monostate{};
  } else {
    return unpack_task<R>(std::move(r));
  }
}

/// Several tasks awaited as one (await_many, then_many): a vector of tasks of one result type,
/// or a tuple of tasks of any result types.
template <class Tasks>
struct TaskGroup;

template <class R>
struct TaskGroup<std::vector<Task<R>>> {
  using Values = std::vector<task_value_t<R>>;
  template <class F>
  static void each(const std::vector<Task<R>>& tasks, F&& f) {
    for (const auto& t : tasks) f(RuntimeAccess::task_state(t), t.pid());
  }
  /// Every task has finished: the results in task order, or the first error in that order.
  static Result<Values> values(const std::vector<Task<R>>& tasks) {
    Values out;
    out.reserve(tasks.size());
    for (const auto& t : tasks) {
      auto v = unpack_task_value<R>(*RuntimeAccess::task_state(t)->peek());
      if (!v) return v.error();
      out.push_back(std::move(v).value());
    }
    return out;
  }
};

template <class... Rs>
struct TaskGroup<std::tuple<Task<Rs>...>> {
  using Values = std::tuple<task_value_t<Rs>...>;
  template <class F>
  static void each(const std::tuple<Task<Rs>...>& tasks, F&& f) {
    std::apply([&](const auto&... t) { (f(RuntimeAccess::task_state(t), t.pid()), ...); }, tasks);
  }
  static Result<Values> values(const std::tuple<Task<Rs>...>& tasks) {
    auto results = std::apply(
        [](const auto&... t) {
          return std::tuple<Result<task_value_t<Rs>>...>{
              unpack_task_value<Rs>(*RuntimeAccess::task_state(t)->peek())...};
        },
        tasks);
    std::optional<Error> first;
    std::apply([&](const auto&... r) { ((first || r ? void() : void(first = r.error())), ...); },
               results);
    if (first) return *first;
    return std::apply([](auto&... r) { return Values(std::move(r).value()...); }, results);
  }
};

/// After waiting for a group (every task finished, or the deadline passed): kills the tasks
/// still running (each unlinked from the calling process first) and fails with timeout saying
/// how many; otherwise the results. linked_exit (when given) is set if a task died while linked
/// to its caller (task::then_many then never runs its continuation).
template <class Tasks>
Result<typename TaskGroup<Tasks>::Values> collect_group(const Tasks& tasks, const char* what,
                                                        bool* linked_exit = nullptr) {
  size_t missing = 0;
  size_t n = 0;
  TaskGroup<Tasks>::each(tasks, [&](const std::shared_ptr<TaskState>& state, const Pid& pid) {
    ++n;
    if (linked_exit && state->linked_exit()) *linked_exit = true;
    if (state->peek()) return;
    ++missing;
    kill_task(pid);
  });
  if (missing)
    return Error(ErrorCode::timeout, std::string(what) + ": " + std::to_string(missing) + " of " +
                                         std::to_string(n) + " tasks unfinished");
  return TaskGroup<Tasks>::values(tasks);
}

template <class F>
std::function<Message()> wrap_body(F fn) {
  return [fn = std::move(fn)]() mutable -> Message {
    if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
      fn();
      return Message();
    } else {
      return Message(fn());
    }
  };
}

}  // namespace detail
namespace task_supervisor::detail {
/// The task supervisor's process, or noproc.
Result<std::shared_ptr<otp::detail::Process>> resolve_supervisor(Node& node, const ServerRef& sup);
}  // namespace task_supervisor::detail

}  // namespace otp
