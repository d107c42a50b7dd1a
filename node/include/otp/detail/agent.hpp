// Internal machinery of otp/agent.hpp: the GenServer an agent runs and the requests it takes.
// Read otp/agent.hpp instead; nothing here is API.
#pragma once

#include <functional>
#include <optional>
#include <type_traits>

#include "otp/gen_server.hpp"

namespace otp {
namespace detail {

/// The default T of agent::start_link<T> / spec<T>: what init returns.
struct AgentValueFromInit {};
template <class T, class Init>
using agent_value_t = std::conditional_t<std::is_same_v<T, AgentValueFromInit>,
                                         std::decay_t<std::invoke_result_t<Init&>>, T>;

template <class T>
struct AgentOp {
  std::function<Message(T&)> run;
};
template <class T>
struct AgentCastOp {
  std::function<void(T&)> run;
};

template <class T>
class AgentServer final : public GenServer {
 public:
  // A request for another T is the caller's mistake: it gets bad_call, the state survives.
  explicit AgentServer(std::function<T()> init) : init_(std::move(init)) { tolerate_unmatched(); }
  Action init() override {
    state_.emplace(init_());
    return ok();
  }
  Action handle_call(const Message& m, const From&) override {
    if (const auto* op = m.get_if<AgentOp<T>>()) return reply(op->run(*state_));
    return Unmatched{m};
  }
  Action handle_cast(const Message& m) override {
    if (const auto* op = m.get_if<AgentCastOp<T>>()) {
      op->run(*state_);
      return noreply();
    }
    return Unmatched{m};
  }

 private:
  std::function<T()> init_;
  std::optional<T> state_;
};

}  // namespace detail

}  // namespace otp
