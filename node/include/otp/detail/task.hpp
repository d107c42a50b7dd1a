// Internal machinery of otp/task.hpp: where a task's result lands, how its process is spawned
// and killed. Read otp/task.hpp instead; nothing here is API.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>

#include "otp/detail/gen_server.hpp"
#include "otp/error.hpp"
#include "otp/message.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/server_ref.hpp"

namespace otp {
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
/// Kills a task process (exit kill). Called from a process, unlinks it from the task first (as
/// Elixir's Task.shutdown does), so that the kill does not come back to it through the link.
void kill_task(const Pid& pid);
Error would_block_error(const char* what);

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
