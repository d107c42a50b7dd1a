// otp::HandlerNode: the node as a GenServer handler sees it. GenServer::node() returns one; it
// converts to Node& wherever a function takes one, so handlers read as before:
//
// clang-format off
//   auto t = otp::task::async(node(), fetch);                  // fine: starting a task
//   otp::send_after(node(), self(), Tick{}, 1s);               // fine: never blocks
//   otp::gen_server::call<int>(node(), "counter", Get{});      // does not compile: use await_call
// clang-format on
//
// Why: a handler runs on a scheduler thread and must never block it, so the blocking client
// functions can only fail inside one (with would_block). Given a HandlerNode, they fail to
// compile instead, with a message naming the non-blocking function to use: gen_server::call,
// start_link, start and stop; supervisor::start_link and its client calls (start_child,
// terminate_child, restart_child, delete_child, which_children, count_children); the same of
// dynamic_supervisor; task_supervisor::start_link and children. What this can not see still
// fails at run time with a would_block error naming the function to use: a Node& saved by
// other means (`otp::Node& n = node();`, a constructor argument), the agent functions, and
// task::await / await_many / yield, which take no node (use task::then / then_many).
#pragma once

#include "otp/node.hpp"

namespace otp {

/// A Node seen from inside a handler: converts to Node&; node()->name() reaches Node's members.
class HandlerNode {
 public:
  explicit HandlerNode(Node& node) : node_(&node) {}
  operator Node&() const { return *node_; }  // NOLINT(google-explicit-constructor): by design
  Node* operator->() const { return node_; }

 private:
  Node* node_;
};

namespace detail {
/// False for every instantiation: a static_assert on it fires only when a guard is chosen.
template <class...>
inline constexpr bool callable_in_handler = false;
}  // namespace detail

// The guards: better matches than the Node& overloads for a HandlerNode argument.

namespace gen_server {
template <class S, class... Args>
auto start_link(HandlerNode, Args&&...) {
  static_assert(::otp::detail::callable_in_handler<S, Args...>,
                "gen_server::start_link inside a handler would block the process until the new "
                "server's init ran: start it as a supervisor's child with GenServer::await_call("
                "sup, supervisor::StartChild{spec} or dynamic_supervisor::StartChild{spec}, "
                "continuation)");
}
template <class S, class... Args>
auto start(HandlerNode, Args&&...) {
  static_assert(::otp::detail::callable_in_handler<S, Args...>,
                "gen_server::start inside a handler would block the process until the new "
                "server's init ran: start it as a supervisor's child with GenServer::await_call("
                "sup, dynamic_supervisor::StartChild{spec}, continuation)");
}
template <class R = void, class... Args>
auto call(HandlerNode, Args&&...) {
  static_assert(::otp::detail::callable_in_handler<R, Args...>,
                "gen_server::call inside a handler would block the process: use "
                "GenServer::await_call(target, request, continuation, timeout)");
}
template <class... Args>
auto stop(HandlerNode, Args&&...) {
  static_assert(::otp::detail::callable_in_handler<Args...>,
                "gen_server::stop inside a handler would block the process until the target "
                "exited: use otp::monitor(pid) and otp::exit(pid, reason) (the Down comes to "
                "handle_info)");
}
}  // namespace gen_server

namespace supervisor {
template <class... Args>
auto start_link(HandlerNode, Args&&...) {
  static_assert(::otp::detail::callable_in_handler<Args...>,
                "supervisor::start_link inside a handler would block the process: nest it as a "
                "child (supervisor::spec) or GenServer::await_call(sup, "
                "supervisor::StartChild{supervisor::spec(...)}, continuation)");
}
#define OTP_SUPERVISOR_CALL_GUARD(fn, request)                                                   \
  template <class... Args>                                                                       \
  auto fn(HandlerNode, Args&&...) {                                                              \
    static_assert(::otp::detail::callable_in_handler<Args...>,                                   \
                  "supervisor::" #fn                                                             \
                  " inside a handler would block the process: use "                              \
                  "GenServer::await_call(sup, supervisor::" request ", continuation, timeout)"); \
  }
OTP_SUPERVISOR_CALL_GUARD(start_child, "StartChild{spec}")
OTP_SUPERVISOR_CALL_GUARD(terminate_child, "TerminateChild{id}")
OTP_SUPERVISOR_CALL_GUARD(restart_child, "RestartChild{id}")
OTP_SUPERVISOR_CALL_GUARD(delete_child, "DeleteChild{id}")
OTP_SUPERVISOR_CALL_GUARD(which_children, "WhichChildren{}")
OTP_SUPERVISOR_CALL_GUARD(count_children, "CountChildren{}")
#undef OTP_SUPERVISOR_CALL_GUARD
}  // namespace supervisor

namespace dynamic_supervisor {
template <class... Args>
auto start_link(HandlerNode, Args&&...) {
  static_assert(::otp::detail::callable_in_handler<Args...>,
                "dynamic_supervisor::start_link inside a handler would block the process: nest "
                "it as a child (dynamic_supervisor::spec)");
}
#define OTP_DYNAMIC_SUPERVISOR_CALL_GUARD(fn, request)                          \
  template <class... Args>                                                      \
  auto fn(HandlerNode, Args&&...) {                                             \
    static_assert(::otp::detail::callable_in_handler<Args...>,                  \
                  "dynamic_supervisor::" #fn                                    \
                  " inside a handler would block the process: "                 \
                  "use GenServer::await_call(sup, dynamic_supervisor::" request \
                  ", continuation, timeout)");                                  \
  }
OTP_DYNAMIC_SUPERVISOR_CALL_GUARD(start_child, "StartChild{spec}")
OTP_DYNAMIC_SUPERVISOR_CALL_GUARD(terminate_child, "TerminateChild{pid}")
OTP_DYNAMIC_SUPERVISOR_CALL_GUARD(which_children, "WhichChildren{}")
OTP_DYNAMIC_SUPERVISOR_CALL_GUARD(count_children, "CountChildren{}")
#undef OTP_DYNAMIC_SUPERVISOR_CALL_GUARD
}  // namespace dynamic_supervisor

namespace task_supervisor {
template <class... Args>
auto start_link(HandlerNode, Args&&...) {
  static_assert(::otp::detail::callable_in_handler<Args...>,
                "task_supervisor::start_link inside a handler would block the process: nest it "
                "as a child (task_supervisor::spec)");
}
template <class... Args>
auto children(HandlerNode, Args&&...) {
  static_assert(::otp::detail::callable_in_handler<Args...>,
                "task_supervisor::children inside a handler would block the process: call it "
                "from outside handlers");
}
}  // namespace task_supervisor

}  // namespace otp
