// otp::GenServer: Erlang's gen_server / Elixir's GenServer in C++.
//
// A server is a class deriving from otp::GenServer. Its members are its state; the runtime calls
// one handler at a time (never concurrently) on a scheduler thread. Client API first, callbacks
// after, as in the seed's Counter:
//
//   struct Increment {};  struct GetValue {};
//   class Counter : public otp::GenServer {
//    public:
//     // -- client API --
//     static otp::Result<otp::Pid> start_link(otp::Node& n, int initial) {
//       return otp::gen_server::start_link<Counter>(n, otp::name("counter"), initial);
//     }
//     static void increment(otp::Node& n) { otp::gen_server::cast(n, "counter", Increment{}); }
//     static int value(otp::Node& n) { return otp::gen_server::call<int>(n, "counter",
//     GetValue{}).value(); }
//     // -- callbacks --
//     explicit Counter(int initial) : value_(initial) {}
//     otp::Action handle_call(const otp::Message& m, const otp::From&) override {
//       return m.match([&](const GetValue&) { return otp::reply(value_); });
//     }
//     otp::Action handle_cast(const otp::Message& m) override {
//       return m.match([&](const Increment&) { ++value_; return otp::noreply(); });
//     }
//    private:
//     int value_;
//   };
//
// What handlers return (otp::Action), mirroring gen_server's tuples:
//   init:           ok() | ok().timeout(t) | ok().then_continue(x) | stop(reason) | ignore()
//   handle_call:    reply(v) | noreply() (reply later with gen_server::reply(from, v)) |
//                   stop(reason, v) | stop(reason)        — each may add .timeout / .then_continue
//   handle_cast / handle_info / handle_continue:  noreply() | stop(reason)
//   any handler:    await_call(...) — call another server without blocking a scheduler thread
//   Message::match with no matching clause gives "unmatched": a call then fails with bad_call for
//   its caller, a cast or info is logged and dropped; the server keeps running either way.
//
// Guarantees: start_link returns after init ran (its error if init failed); call times out after
// 5 s by default and fails at once with noproc for a dead or unknown server, and with exit when the
// server dies while serving it; a handler that throws crashes the server with a reason naming the
// exception, terminate runs, and callers get an error, never a hang. terminate(reason) runs on a
// stop, on a crash, and on a shutdown by the parent when the server traps exits.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "otp/error.hpp"
#include "otp/message.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/process.hpp"
#include "otp/reason.hpp"
#include "otp/server_ref.hpp"

namespace otp {

class GenServer;
class Action;

namespace detail {
class Endpoint;
class ServerActor;

struct AwaitSpec {
  Ref tag;
  /// When not empty: wait for a Down or reply for every one of these refs (tag is unused).
  std::vector<Ref> group;
  std::shared_ptr<Process> target;  // demonitored when the await resolves
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::function<Action(Result<Message>)> then;
};

using ServerFactory = std::function<std::unique_ptr<GenServer>()>;

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
}  // namespace detail

/// The caller of a handle_call: reply to it now (return reply(v)) or later, from anywhere, with
/// gen_server::reply(from, v).
class From {
 public:
  From() = default;
  From(std::shared_ptr<detail::Endpoint> to, Ref tag) : to_(std::move(to)), tag_(tag) {}
  const Ref& tag() const { return tag_; }
  bool valid() const { return to_ != nullptr; }
  const std::shared_ptr<detail::Endpoint>& endpoint() const { return to_; }

 private:
  std::shared_ptr<detail::Endpoint> to_;
  Ref tag_;
};

/// What a handler asks the runtime to do next. Build it with ok/reply/noreply/stop/ignore.
class Action {
 public:
  enum class Kind { reply, noreply, stop, ignore, await, unmatched };

  Action(Unmatched u) : kind_(Kind::unmatched), message_(std::move(u.message)) {}  // NOLINT

  /// Idle timeout: otp::Timeout arrives in handle_info when no message came for `t`.
  Action&& timeout(std::chrono::milliseconds t) && {
    timeout_ = t;
    return std::move(*this);
  }
  /// handle_continue(arg) runs next, before any other message.
  Action&& then_continue(Message arg) && {
    continue_ = std::move(arg);
    return std::move(*this);
  }

  // -- read by the runtime --
  Kind kind() const { return kind_; }
  const Message& message() const { return message_; }  // the reply, or the unmatched message
  const Reason& reason() const { return reason_; }
  bool has_reply() const { return has_reply_; }
  const std::optional<std::chrono::milliseconds>& idle_timeout() const { return timeout_; }
  const std::optional<Message>& continue_arg() const { return continue_; }
  const std::shared_ptr<detail::AwaitSpec>& await_spec() const { return await_; }

  // -- factories (use the free functions below) --
  static Action make(Kind k) { return Action(k); }
  static Action make_reply(Message m) {
    Action a(Kind::reply);
    a.message_ = std::move(m);
    a.has_reply_ = true;
    return a;
  }
  static Action make_stop(Reason r, std::optional<Message> reply) {
    Action a(Kind::stop);
    a.reason_ = std::move(r);
    if (reply) {
      a.message_ = std::move(*reply);
      a.has_reply_ = true;
    }
    return a;
  }
  static Action make_await(std::shared_ptr<detail::AwaitSpec> spec) {
    Action a(Kind::await);
    a.await_ = std::move(spec);
    return a;
  }

 private:
  explicit Action(Kind k) : kind_(k) {}
  Kind kind_;
  Message message_;
  Reason reason_;
  bool has_reply_ = false;
  std::optional<std::chrono::milliseconds> timeout_;
  std::optional<Message> continue_;
  std::shared_ptr<detail::AwaitSpec> await_;
};

/// {ok, State} from init; the same as noreply() elsewhere.
inline Action ok() {
  return Action::make(Action::Kind::noreply);
}
inline Action noreply() {
  return Action::make(Action::Kind::noreply);
}
inline Action reply(Message value) {
  return Action::make_reply(std::move(value));
}
inline Action stop(Reason reason) {
  return Action::make_stop(std::move(reason), std::nullopt);
}
inline Action stop(Reason reason, Message reply) {
  return Action::make_stop(std::move(reason), std::move(reply));
}
/// From init only: start_link returns an `ignored` error and the process exits normally.
inline Action ignore() {
  return Action::make(Action::Kind::ignore);
}

class GenServer {
 public:
  virtual ~GenServer() = default;

  // -- callbacks (all optional) --
  virtual Action init() { return ok(); }
  virtual Action handle_call(const Message& request, const From& from);
  virtual Action handle_cast(const Message& request);
  virtual Action handle_info(const Message& info);
  virtual Action handle_continue(const Message& arg);
  virtual void terminate(const Reason& reason);

 protected:
  const Pid& self() const;
  Node& node() const;
  /// Turns exit trapping on/off for this server (links then deliver ExitSignal to handle_info).
  bool trap_exit(bool on);

  /// Calls another server without blocking the scheduler thread: this server processes no other
  /// message until the reply (or an error: noproc, exit, timeout) arrives and `then` has run, so
  /// gen_server's one-message-at-a-time order holds. `then`'s Action completes the current
  /// handler (so in handle_call it may reply to the original caller).
  Action await_call(const ServerRef& target, Message request,
                    std::function<Action(Result<Message>)> then,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5));
  template <class R>
  Action await_call(const ServerRef& target, Message request, std::function<Action(Result<R>)> then,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return await_call(
        target, std::move(request),
        [then = std::move(then)](Result<Message> r) {
          return then(detail::unpack_reply<R>(std::move(r), "await_call"));
        },
        timeout);
  }

  /// Runtime hook: the parent (or gen_server::stop, or node shutdown) asks this server to stop.
  /// The default is stop(reason), which runs terminate. Supervisors override it to stop their
  /// children first.
  virtual Action shutdown_requested(const Reason& reason) { return stop(reason); }
  /// Waits (without blocking) for a reply or Down tagged `tag`; used by supervisors.
  Action await_tag(Ref tag, std::optional<std::chrono::milliseconds> timeout,
                   std::function<Action(Result<Message>)> then);
  /// Waits for a reply or Down for every ref in `tags` (then gets an empty Message), or the
  /// timeout (then gets a timeout error); used to stop many children in parallel.
  Action await_all(std::vector<Ref> tags, std::optional<std::chrono::milliseconds> timeout,
                   std::function<Action(Result<Message>)> then);

 private:
  friend class detail::ServerActor;
  detail::ServerActor* runtime_ = nullptr;
};

/// Names a process at start: otp::name("counter") or otp::name(otp::via(registry, "key")).
struct Name {
  ServerRef ref;
};
inline Name name(ServerRef ref) {
  return Name{std::move(ref)};
}

namespace detail {
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

namespace gen_server {

/// Starts S (constructed from args, then init runs in the new process). Returns after init: the
/// pid, or already_started / ignored / init_failed (only once the failed process is gone). It
/// blocks the calling thread, so it is for code outside processes; inside a handler it returns
/// would_block: start children under a supervisor instead. The caller is outside the actor
/// system, so nothing is linked; the _link name keeps the OTP spelling.
template <class S, class... Args>
Result<Pid> start_link(Node& node, Name name, Args&&... args) {
  return detail::start_server(node, detail::make_factory<S>(std::forward<Args>(args)...),
                              {std::move(name.ref), true});
}
template <class S, class... Args>
Result<Pid> start_link(Node& node, Args&&... args) {
  return detail::start_server(node, detail::make_factory<S>(std::forward<Args>(args)...),
                              {std::nullopt, true});
}
/// Like start_link, without a link.
template <class S, class... Args>
Result<Pid> start(Node& node, Name name, Args&&... args) {
  return detail::start_server(node, detail::make_factory<S>(std::forward<Args>(args)...),
                              {std::move(name.ref), false});
}
template <class S, class... Args>
Result<Pid> start(Node& node, Args&&... args) {
  return detail::start_server(node, detail::make_factory<S>(std::forward<Args>(args)...),
                              {std::nullopt, false});
}

/// Synchronous request; blocks the calling thread, so only for code outside processes (inside a
/// handler it returns would_block: use GenServer::await_call). Errors: noproc, timeout, exit,
/// bad_call, bad_reply (R differs from the reply's type), calling_self. call<void> ignores the
/// reply's value (for servers that answer :ok).
template <class R = Message>
Result<R> call(Node& node, const ServerRef& target, Message request,
               std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  return detail::unpack_reply<R>(detail::call(node, target, std::move(request), timeout), "call");
}

/// Asynchronous request (handle_cast). Never fails, as in Erlang: a cast to a dead or unknown
/// server is dropped.
void cast(Node& node, const ServerRef& target, Message request);
/// The same to a pid, without building a ServerRef (the common case in hot loops).
void cast(Node& node, const Pid& target, Message request);

/// Replies to a caller whose handle_call returned noreply(). Thread-safe; callable from any
/// process or thread, at most once per From (later replies are dropped). Replying with an
/// otp::Error (here or with otp::reply) makes the caller's call return that error.
void reply(const From& from, Message value);

/// Asks the server to stop with reason (terminate runs) and waits until it has exited. Errors:
/// noproc, timeout (the server is then still running), would_block inside a handler.
Result<void> stop(Node& node, const ServerRef& target, Reason reason = Reason::normal(),
                  std::chrono::milliseconds timeout = std::chrono::hours(24));

}  // namespace gen_server
}  // namespace otp
