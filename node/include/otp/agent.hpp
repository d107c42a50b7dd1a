// otp::agent: Elixir's Agent — a process that holds one value, read and changed with functions.
// start_link returns a typed handle, otp::Agent<T>, that remembers the value's type, so the
// functions' types are checked when they compile (a function for another type does not):
//
// clang-format off
//   auto counter = otp::agent::start_link(node, [] { return 0; }).value();  // Agent<int>
//   counter.update([](int n) { return n + 1; });
//   int v = counter.get().value();                                   // a copy of the value
//   auto twice = counter.get([](const int& n) { return n * 2; });    // Result<int>
//   auto old = counter.get_and_update([](int n) { return std::pair(n, 0); });  // reply 1, keep 0
//   counter.cast([](int n) { return n + 1; });                       // without waiting
//   counter.stop();
// clang-format on
//
// An agent addressed by a name (the seed's SimpleCounter) gets its handle from the name:
// `otp::Agent<int>(node, "simple_counter")`, or `otp::agent::start_link(node, init,
// otp::name("simple_counter"))` keeps the handle it returns. A name carries no type: a handle
// built from one, and the free functions below (otp::agent::get<T>(node, name, fn) etc., kept
// for code that has only a name), trust the T they are given; an agent asked with another T than
// it holds takes the request as an unmatched call (see gen_server.hpp for what a server does with
// one). The handle returned by start_link cannot be wrong.
//
// The functions run inside the agent process, one at a time, so they may not block; the value is
// moved into update's function and back, never copied. get_and_update's function returns a pair
// {reply, new value}. A function that throws crashes the agent (its caller gets an exit error; a
// supervisor restarts it). All calls block the calling thread (would_block inside a handler).
#pragma once

#include <chrono>
#include <concepts>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "otp/child_spec.hpp"
#include "otp/detail/agent.hpp"
#include "otp/gen_server.hpp"
#include "otp/process.hpp"

namespace otp {

namespace agent {

/// fn(const T&) -> R: a function get may run on an agent holding T.
template <class F, class T>
concept GetFunction =
    std::invocable<F&, const T&> && !std::is_void_v<std::invoke_result_t<F&, const T&>>;
/// fn(T) -> T: a function update and cast may run on an agent holding T.
template <class F, class T>
concept UpdateFunction = std::is_invocable_r_v<T, F&, T>;
/// fn(T) -> std::pair<R, T>: a function get_and_update may run on an agent holding T.
template <class F, class T>
concept GetAndUpdateFunction = std::invocable<F&, T> && requires(std::invoke_result_t<F&, T> r) {
  typename std::invoke_result_t<F&, T>::first_type;
  { std::move(r.second) } -> std::convertible_to<T>;
};

/// fn(const T&) -> R, run in the agent; returns R. Errors as gen_server::call (noproc, timeout,
/// exit when fn throws; an unmatched call when the agent holds another T).
template <class T, class F>
requires GetFunction<F, T>
auto get(Node& node, const ServerRef& agent, F fn,
         std::chrono::milliseconds timeout = default_call_timeout)
    -> Result<std::invoke_result_t<F&, const T&>> {
  using R = std::invoke_result_t<F&, const T&>;
  detail::AgentOp<T> op{
      [fn = std::move(fn)](T& s) mutable -> Message { return Message(fn(std::as_const(s))); }};
  return gen_server::call<R>(node, agent, std::move(op), timeout);
}

/// fn(T) -> T replaces the value; returns once it ran.
template <class T, class F>
requires UpdateFunction<F, T> Result<void> update(
    Node& node, const ServerRef& agent, F fn,
    std::chrono::milliseconds timeout = default_call_timeout) {
  detail::AgentOp<T> op{[fn = std::move(fn)](T& s) mutable -> Message {
    s = fn(std::move(s));
    return Message();
  }};
  auto r = gen_server::call(node, agent, std::move(op), timeout);
  if (!r) return r.error();
  return {};
}

/// fn(T) -> std::pair<R, T>: replies R and keeps the new T.
template <class T, class F>
requires GetAndUpdateFunction<F, T>
auto get_and_update(Node& node, const ServerRef& agent, F fn,
                    std::chrono::milliseconds timeout = default_call_timeout)
    -> Result<typename std::invoke_result_t<F&, T>::first_type> {
  using R = typename std::invoke_result_t<F&, T>::first_type;
  detail::AgentOp<T> op{[fn = std::move(fn)](T& s) mutable -> Message {
    auto [out, next] = fn(std::move(s));
    s = std::move(next);
    return Message(std::move(out));
  }};
  return gen_server::call<R>(node, agent, std::move(op), timeout);
}

/// fn(T) -> T, without waiting (Agent.cast).
template <class T, class F>
requires UpdateFunction<F, T>
void cast(Node& node, const ServerRef& agent, F fn) {
  gen_server::cast(node, agent, detail::AgentCastOp<T>{[fn = std::move(fn)](T& s) mutable {
                     s = fn(std::move(s));
                   }});
}

/// Stops the agent with reason and waits until it exited. Errors as gen_server::stop.
inline Result<void> stop(Node& node, const ServerRef& agent, Reason reason = Reason::normal(),
                         std::chrono::milliseconds timeout = default_call_timeout) {
  return gen_server::stop(node, agent, std::move(reason), timeout);
}

}  // namespace agent

/// A handle on an agent holding a T (see the header comment): cheap to copy, valid on the node
/// it was made for. Its functions are the free functions of otp::agent with T filled in.
template <class T>
class Agent {
 public:
  /// The value's type.
  using value_type = T;

  /// A handle on the agent at ref (a pid or a name), trusted to hold a T.
  Agent(Node& node, ServerRef ref) : node_(&node), ref_(std::move(ref)) {}

  /// How the handle addresses the agent: its pid (from start_link) or the name it was given.
  const ServerRef& ref() const { return ref_; }
  /// The agent's pid: the one start_link returned, or the name's holder now (noproc if none).
  Result<Pid> pid() const { return otp::whereis(*node_, ref_); }

  /// A copy of the value (Agent.get(agent, & &1)).
  Result<T> get(std::chrono::milliseconds timeout =
                    default_call_timeout) const requires std::copy_constructible<T> {
    return agent::get<T>(
        *node_, ref_, [](const T& v) { return v; }, timeout);
  }
  /// fn(const T&) -> R, run in the agent; returns R.
  template <class F>
  requires agent::GetFunction<F, T>
  auto get(F fn, std::chrono::milliseconds timeout = default_call_timeout) const {
    return agent::get<T>(*node_, ref_, std::move(fn), timeout);
  }
  /// fn(T) -> T replaces the value; returns once it ran.
  template <class F>
  requires agent::UpdateFunction<F, T> Result<void> update(
      F fn, std::chrono::milliseconds timeout = default_call_timeout)
  const { return agent::update<T>(*node_, ref_, std::move(fn), timeout); }
  /// fn(T) -> std::pair<R, T>: replies R and keeps the new T.
  template <class F>
  requires agent::GetAndUpdateFunction<F, T>
  auto get_and_update(F fn, std::chrono::milliseconds timeout = default_call_timeout) const {
    return agent::get_and_update<T>(*node_, ref_, std::move(fn), timeout);
  }
  /// fn(T) -> T, without waiting.
  template <class F>
  requires agent::UpdateFunction<F, T>
  void cast(F fn) const { agent::cast<T>(*node_, ref_, std::move(fn)); }
  /// Stops the agent with reason and waits until it exited.
  Result<void> stop(Reason reason = Reason::normal(),
                    std::chrono::milliseconds timeout = default_call_timeout) const {
    return agent::stop(*node_, ref_, std::move(reason), timeout);
  }

 private:
  Node* node_;
  ServerRef ref_;
};

namespace agent {

/// Starts an agent whose value is init()'s result (init runs in the agent); T is what init
/// returns unless given (start_link<long>(node, [] { return 0; })). Returns the typed handle,
/// addressing the agent by its pid. Errors as gen_server::start_link (already_started,
/// init_failed when init throws, would_block).
template <class T = detail::AgentValueFromInit, class Init>
requires std::invocable<Init&> Result<Agent<detail::agent_value_t<T, Init>>> start_link(
    Node& node, Init init, std::optional<Name> name = {}) {
  using V = detail::agent_value_t<T, Init>;
  std::optional<ServerRef> ref;
  if (name) ref = name->ref;
  auto pid = detail::start_server(
      node, detail::make_factory<detail::AgentServer<V>>(std::function<V()>(std::move(init))),
      {std::move(ref), true});
  if (!pid) return pid.error();
  return Agent<V>(node, *pid);
}

/// An agent as a supervisor's child (T as for start_link). Its handle: Agent<T>(node, name)
/// with the name given by .named(name).
template <class T = detail::AgentValueFromInit, class Init>
requires std::invocable<Init&> ChildSpec spec(std::string id, Init init) {
  using V = detail::agent_value_t<T, Init>;
  ChildSpec s;
  s.id = std::move(id);
  s.start = detail::make_factory<detail::AgentServer<V>>(std::function<V()>(std::move(init)));
  return s;
}

}  // namespace agent
}  // namespace otp
