// otp::agent: Elixir's Agent — a process that holds one value, read and changed with functions.
// The seed's SimpleCounter:
//
// clang-format off
//   otp::agent::start_link<int>(node, [] { return 0; }, otp::name("simple_counter"));
//   otp::agent::update<int>(node, "simple_counter", [](int n) { return n + 1; });
//   int v = otp::agent::get<int>(node, "simple_counter", [](const int& n) { return n; }).value();
//   otp::agent::update<int>(node, "simple_counter", [](int) { return 0; });      // reset
// clang-format on
//
// The functions run inside the agent process, one at a time, so they may not block; the value is
// moved into update's function and back, never copied. get_and_update returns a pair {reply,
// new value}. A function that throws crashes the agent (its caller gets an exit error; a
// supervisor restarts it). Calling with another T than the agent holds fails with bad_call.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "otp/child_spec.hpp"
#include "otp/detail/agent.hpp"
#include "otp/gen_server.hpp"

namespace otp {
namespace agent {

/// Starts an agent whose value is init()'s result (init runs in the agent). Errors as
/// gen_server::start_link (already_started, init_failed when init throws, would_block).
template <class T>
Result<Pid> start_link(Node& node, std::function<T()> init, std::optional<Name> name = {}) {
  std::optional<ServerRef> ref;
  if (name) ref = name->ref;
  return detail::start_server(node, detail::make_factory<detail::AgentServer<T>>(std::move(init)),
                              {std::move(ref), true});
}

/// An agent as a supervisor's child.
template <class T>
ChildSpec spec(std::string id, std::function<T()> init) {
  ChildSpec s;
  s.id = std::move(id);
  s.start = detail::make_factory<detail::AgentServer<T>>(std::move(init));
  return s;
}

/// fn(const T&) -> R, run in the agent; returns R. Errors as gen_server::call (noproc, timeout,
/// exit when fn throws, bad_call when the agent holds another T).
template <class T, class F>
auto get(Node& node, const ServerRef& agent, F fn,
         std::chrono::milliseconds timeout = default_call_timeout)
    -> Result<std::invoke_result_t<F, const T&>> {
  using R = std::invoke_result_t<F, const T&>;
  detail::AgentOp<T> op{
      [fn = std::move(fn)](T& s) -> Message { return Message(fn(std::as_const(s))); }};
  return gen_server::call<R>(node, agent, std::move(op), timeout);
}

/// fn(T) -> T replaces the value; returns once it ran.
template <class T, class F>
Result<void> update(Node& node, const ServerRef& agent, F fn,
                    std::chrono::milliseconds timeout = default_call_timeout) {
  detail::AgentOp<T> op{[fn = std::move(fn)](T& s) -> Message {
    s = fn(std::move(s));
    return Message();
  }};
  auto r = gen_server::call(node, agent, std::move(op), timeout);
  if (!r) return r.error();
  return {};
}

/// fn(T) -> std::pair<R, T>: replies R and keeps the new T.
template <class T, class F>
auto get_and_update(Node& node, const ServerRef& agent, F fn,
                    std::chrono::milliseconds timeout = default_call_timeout)
    -> Result<typename std::invoke_result_t<F, T>::first_type> {
  using R = typename std::invoke_result_t<F, T>::first_type;
  detail::AgentOp<T> op{[fn = std::move(fn)](T& s) -> Message {
    auto [out, next] = fn(std::move(s));
    s = std::move(next);
    return Message(std::move(out));
  }};
  return gen_server::call<R>(node, agent, std::move(op), timeout);
}

/// fn(T) -> T, without waiting (Agent.cast).
template <class T, class F>
void cast(Node& node, const ServerRef& agent, F fn) {
  gen_server::cast(node, agent,
                   detail::AgentCastOp<T>{[fn = std::move(fn)](T& s) { s = fn(std::move(s)); }});
}

/// Stops the agent with reason and waits until it exited. Errors as gen_server::stop.
inline Result<void> stop(Node& node, const ServerRef& agent, Reason reason = Reason::normal(),
                         std::chrono::milliseconds timeout = default_call_timeout) {
  return gen_server::stop(node, agent, std::move(reason), timeout);
}

}  // namespace agent
}  // namespace otp
