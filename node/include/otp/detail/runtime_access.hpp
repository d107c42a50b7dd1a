// Internal: the one door through which the runtime (node/src, and the templates of the public
// headers) reaches what users may not touch: a Pid's process control block, a Node's core, a
// From's endpoint, an Action's contents and the await Action. Not API: user code that includes
// this header can build Actions that crash the server.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "otp/gen_server.hpp"
#include "otp/message.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/reason.hpp"

namespace otp {
template <class R>
class Task;
}

namespace otp::detail {

class NodeCore;
class Process;
class Endpoint;
class TaskState;

struct RuntimeAccess {
  // -- Pid, Node, From --
  static const std::shared_ptr<Process>& process(const Pid& pid) noexcept { return pid.process_; }
  static NodeCore& core(Node& node) noexcept { return *node.core_; }
  static From make_from(std::shared_ptr<Endpoint> to, Ref tag) { return From(std::move(to), tag); }
  static const std::shared_ptr<Endpoint>& endpoint(const From& from) noexcept { return from.to_; }

  /// The ref with this number (the distribution: a ref that came back from another node).
  static Ref ref_from_value(uint64_t value) { return Ref(value); }

  // -- Task --
  template <class R>
  static Task<R> make_task(Pid pid, std::shared_ptr<TaskState> state) {
    return Task<R>(std::move(pid), std::move(state));
  }
  /// Where the task's result lands.
  template <class R>
  static const std::shared_ptr<TaskState>& task_state(const Task<R>& task) noexcept {
    return task.state_;
  }

  // -- Action, as the runtime reads it --
  static Action::Kind kind(const Action& a) noexcept { return a.kind_; }
  /// The reply, or the unmatched message.
  static const Message& message(const Action& a) noexcept { return a.message_; }
  static const Reason& reason(const Action& a) noexcept { return a.reason_; }
  static bool has_reply(const Action& a) noexcept { return a.has_reply_; }
  static const std::optional<std::chrono::milliseconds>& idle_timeout(const Action& a) noexcept {
    return a.timeout_;
  }
  static const std::optional<Message>& continue_arg(const Action& a) noexcept {
    return a.continue_;
  }
  static const std::shared_ptr<AwaitSpec>& await_spec(const Action& a) noexcept { return a.await_; }
  /// The Action of await_call / await_tag / await_all.
  static Action make_await(std::shared_ptr<AwaitSpec> spec) {
    Action a(Action::Kind::await);
    a.await_ = std::move(spec);
    return a;
  }
};

}  // namespace otp::detail
