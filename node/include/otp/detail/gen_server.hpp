// Internal machinery of otp/gen_server.hpp: how a server is built, started and called, and the
// state of an await. Read otp/gen_server.hpp instead; nothing here is API.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "otp/error.hpp"
#include "otp/message.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/server_ref.hpp"

namespace otp {

class GenServer;
class Action;

namespace detail {

class Endpoint;
class Process;
class ServerActor;

/// What a handler waits for after returning await_call/await_tag/await_all.
struct AwaitSpec {
  Ref tag;
  /// When not empty: wait for a Down or reply for every one of these refs (tag is unused).
  std::vector<Ref> group;
  std::shared_ptr<Process> target;  // demonitored when the await resolves
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::function<Action(Result<Message>)> then;
};

/// Builds a fresh server for every (re)start.
using ServerFactory = std::function<std::unique_ptr<GenServer>()>;

/// A call's reply as an R: bad_reply naming both types when the reply holds something else.
template <class R>
Result<R> unpack_reply(Result<Message> r, const char* what) {
  if (!r) return r.error();
  if constexpr (std::is_void_v<R>) {
    return {};  // call<void>: only success or failure matters (the seed's :ok replies)
  } else if constexpr (std::is_same_v<R, Message>) {
    return std::move(r).value();
  } else {
    if (const R* v = r->template get_if<R>()) return *v;
    return Error(ErrorCode::bad_reply, std::string(what) + ": expected " + type_name(typeid(R)) +
                                           ", got " + r->type_name());
  }
}

/// R for a Result<R>; no type otherwise (so an overload taking it drops out).
template <class T>
struct ResultValue;
template <class R>
struct ResultValue<Result<R>> {
  using type = R;
};
template <class T>
using result_value_t = typename ResultValue<T>::type;

struct StartOptions {
  std::optional<ServerRef> name;
  bool link = false;
};
Result<Pid> start_server(Node& node, ServerFactory factory, StartOptions options);
Result<Message> call(Node& node, const ServerRef& target, Message request,
                     std::chrono::milliseconds timeout);

template <class S, class... Args>
ServerFactory make_factory(Args&&... args) {
  static_assert(std::is_base_of_v<GenServer, S>, "S must derive from otp::GenServer");
  return [... args = std::forward<Args>(args)]() -> std::unique_ptr<GenServer> {
    return std::make_unique<S>(args...);
  };
}

}  // namespace detail
}  // namespace otp
