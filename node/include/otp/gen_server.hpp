// otp::GenServer: Erlang's gen_server / Elixir's GenServer in C++.
//
// A server is a class deriving from otp::GenServer. Its members are its state; the runtime calls
// one handler at a time (never concurrently) on a scheduler thread. Client API first, callbacks
// after, as in the seed's Counter:
//
// clang-format off
//   struct Increment {};  struct GetValue {};
//   class Counter : public otp::GenServer {
//    public:
//     // -- client API --
//     static otp::Result<otp::Pid> start_link(otp::Node& n, int initial) {
//       return otp::gen_server::start_link<Counter>(n, otp::name("counter"), initial);
//     }
//     static void increment(otp::Node& n) { otp::gen_server::cast(n, "counter", Increment{}); }
//     static int value(otp::Node& n) {
//       return otp::gen_server::call<int>(n, "counter", GetValue{}).value();
//     }
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
// clang-format on
//
// What handlers return (otp::Action), mirroring gen_server's tuples:
// clang-format off
//   init:           ok() | ok().timeout(t) | ok().then_continue(x) | stop(reason) | ignore()
//   handle_call:    reply(v) | noreply() (reply later with gen_server::reply(from, v)) |
//                   stop(reason, v) | stop(reason)        — each may add .timeout / .then_continue
//   handle_cast / handle_info / handle_continue:  noreply() | stop(reason)
//   any handler:    await_call(...) — call another server without blocking a scheduler thread
// clang-format on
// Message::match with no matching clause gives "unmatched" (so do the default handle_call and
// handle_cast). As in OTP, where an unmatched clause raises FunctionClauseError:
//   handle_call: the server exits with Reason::error("bad_call: no handle_call clause for T")
//                (terminate runs, links and monitors see that reason, a supervisor restarts it);
//                its caller's call returns ErrorCode::bad_call, whose reason() is that exit
//                reason (where Elixir's caller exits with {{:function_clause, ...}, {GenServer,
//                :call, ...}}). The error reply goes before the exit, so the caller never sees
//                exit or noproc for it; an await_call's continuation gets the same bad_call.
//   handle_cast: the server exits with Reason::error("bad_cast: no handle_cast clause for T"),
//                as Elixir's default handle_cast raises.
//   handle_info: the message is logged and dropped and the server keeps running, as Elixir's
//                default handle_info does (stray messages, late replies and old monitors' Downs
//                are routine there); a handle_info whose match misses does the same.
// A server that calls tolerate_unmatched() in its constructor keeps running instead: an
// unmatched call fails its caller with bad_call, an unmatched cast is logged and dropped.
// Supervisors, task supervisors and agents tolerate unmatched requests.
//
// Guarantees: start_link returns after init ran (its error if init failed); call times out after
// default_call_timeout (5 s) unless told otherwise and fails at once with noproc for a dead or
// unknown server, and with exit when the server dies while serving it; a handler that throws
// crashes the server with a reason naming the exception, terminate runs, and callers get an
// error, never a hang. terminate(reason) runs on a stop, on a crash, and on a shutdown by the
// parent when the server traps exits.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "otp/detail/gen_server.hpp"
#include "otp/error.hpp"
#include "otp/handler_node.hpp"
#include "otp/message.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/process.hpp"
#include "otp/reason.hpp"
#include "otp/server_ref.hpp"

namespace otp {

namespace detail {
struct RuntimeAccess;
}

/// How long a call (gen_server::call, GenServer::await_call, agent functions, task::await)
/// waits for its reply unless told otherwise; then it fails with timeout. OTP's default too.
inline constexpr std::chrono::milliseconds default_call_timeout = std::chrono::seconds(5);

/// Names a process at start: otp::name("counter") or otp::name(otp::via(registry, "key")).
struct Name {
  ServerRef ref;
};
/// The Name for ref (a local name, a via name).
inline Name name(ServerRef ref) {
  return Name{std::move(ref)};
}

class From;

// -- client API --

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
/// The same, unnamed.
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
/// The same, unnamed.
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
               std::chrono::milliseconds timeout = default_call_timeout) {
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

/// Asks the server to stop with reason (terminate runs) and waits until it has exited; a server
/// on another node too (as Erlang's, it monitors the server, asks, and waits for the Down).
/// Errors: noproc, nodedown (its node is not connected, or went down before the server had
/// exited), timeout (the server is then still running), would_block inside a handler.
Result<void> stop(Node& node, const ServerRef& target, Reason reason = Reason::normal(),
                  std::chrono::milliseconds timeout = std::chrono::hours(24));

}  // namespace gen_server

// -- callbacks --

/// The caller of a handle_call: reply to it now (return reply(v)) or later, from anywhere, with
/// gen_server::reply(from, v).
class From {
 public:
  /// A From that is no caller (valid() is false); replies to it are dropped.
  From() = default;
  /// Identifies this call (the tag the caller waits for).
  const Ref& tag() const { return tag_; }
  /// False for a default-constructed From.
  bool valid() const { return to_ != nullptr; }

 private:
  friend struct detail::RuntimeAccess;
  From(std::shared_ptr<detail::Endpoint> to, Ref tag) : to_(std::move(to)), tag_(tag) {}
  std::shared_ptr<detail::Endpoint> to_;
  Ref tag_;
};

/// What a handler asks the runtime to do next. Build it with ok/reply/noreply/stop/ignore (or
/// GenServer::await_call); the runtime reads it, a handler only adds timeout/then_continue.
class Action {
 public:
  /// What the runtime does with the handler's result.
  enum class Kind { reply, noreply, stop, ignore, await, unmatched };

  /// No clause of Message::match took the message (see the header comment).
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

 private:
  friend struct detail::RuntimeAccess;
  friend Action ok();
  friend Action noreply();
  friend Action reply(Message value);
  friend Action stop(Reason reason);
  friend Action stop(Reason reason, Message reply);
  friend Action ignore();

  explicit Action(Kind k) : kind_(k) {}
  Kind kind_;
  Message message_;  // the reply, or the unmatched message
  Reason reason_;
  bool has_reply_ = false;
  std::optional<std::chrono::milliseconds> timeout_;
  std::optional<Message> continue_;
  std::shared_ptr<detail::AwaitSpec> await_;
};

/// {ok, State} from init; the same as noreply() elsewhere.
inline Action ok() {
  return Action(Action::Kind::noreply);
}
/// {noreply, State}: nothing to send; from handle_call, reply later with gen_server::reply.
inline Action noreply() {
  return Action(Action::Kind::noreply);
}
/// {reply, Value, State}: the caller's call returns value (an otp::Error value: that error).
inline Action reply(Message value) {
  Action a(Action::Kind::reply);
  a.message_ = std::move(value);
  a.has_reply_ = true;
  return a;
}
/// {stop, Reason, State}: terminate(reason) runs and the server exits with reason; a caller
/// waiting on this handle_call gets an exit error.
inline Action stop(Reason reason) {
  Action a(Action::Kind::stop);
  a.reason_ = std::move(reason);
  return a;
}
/// {stop, Reason, Reply, State}: replies to the caller first, then stops as stop(reason).
inline Action stop(Reason reason, Message reply) {
  Action a = stop(std::move(reason));
  a.message_ = std::move(reply);
  a.has_reply_ = true;
  return a;
}
/// From init only: start_link returns an `ignored` error and the process exits normally.
inline Action ignore() {
  return Action(Action::Kind::ignore);
}

/// The base of every server: override the callbacks it needs (all have defaults).
class GenServer {
 public:
  virtual ~GenServer() = default;

  /// Runs in the new process before start_link returns. The default returns ok(). stop(reason)
  /// makes start_link fail with init_failed; ignore() with ignored; a throw is a stop.
  virtual Action init() { return ok(); }
  /// A gen_server::call (or await_call) request; from identifies the caller. The default returns
  /// "unmatched": the caller gets bad_call and the server exits (see the header comment).
  virtual Action handle_call(const Message& request, const From& from);
  /// A gen_server::cast request. The default returns "unmatched": the server exits.
  virtual Action handle_cast(const Message& request);
  /// Any other message: otp::send, Down, ExitSignal (when trapping exits), Timeout. The default
  /// drops Down, ExitSignal and Timeout silently and logs and drops anything else.
  virtual Action handle_info(const Message& info);
  /// Runs right after a handler that returned .then_continue(arg), before any other message.
  /// The default crashes the server (a handler asked to continue and no clause handles it).
  virtual Action handle_continue(const Message& arg);
  /// The server is stopping with reason (a stop Action, a crash, or a shutdown by its parent
  /// while trapping exits): release what the server holds. A throw here is logged and ignored.
  virtual void terminate(const Reason& reason);

 protected:
  /// Call in the constructor: a call or cast that matches no clause no longer crashes this server
  /// (see the header comment); the caller gets bad_call, a cast is logged and dropped.
  void tolerate_unmatched(bool on = true) { tolerate_unmatched_ = on; }

  /// This server's pid. Only valid while the server runs (from init on).
  const Pid& self() const;
  /// The node this server runs on, as a HandlerNode (it converts to Node&): the blocking client
  /// functions (gen_server::call, start_link, ...) do not compile when given it (handler_node.hpp).
  HandlerNode node() const;
  /// Turns exit trapping on/off for this server (links then deliver ExitSignal to handle_info).
  bool trap_exit(bool on);

  /// Calls another server without blocking the scheduler thread: this server processes no other
  /// message until the reply (or an error: noproc, exit, timeout) arrives and `then` has run, so
  /// gen_server's one-message-at-a-time order holds. `then`'s Action completes the current
  /// handler (so in handle_call it may reply to the original caller).
  Action await_call(const ServerRef& target, Message request,
                    std::function<Action(Result<Message>)> then,
                    std::chrono::milliseconds timeout = default_call_timeout);
  /// The same, with the reply unpacked as an R (bad_reply when it holds another type). R is
  /// deduced from the continuation's parameter:
  ///   return await_call("db", Get{id}, [this](Result<User> u) { return reply(*u); });
  /// (a generic lambda takes Result<Message>; await_call<R>(...) names R explicitly).
  template <class R>
  Action await_call(const ServerRef& target, Message request, std::function<Action(Result<R>)> then,
                    std::chrono::milliseconds timeout = default_call_timeout) {
    return await_call(
        target, std::move(request),
        [then = std::move(then)](Result<Message> r) {
          return then(detail::unpack_reply<R>(std::move(r), "await_call"));
        },
        timeout);
  }
  /// await_call with R deduced from then's parameter, Result<R> (see above).
  template <class F, class R = detail::result_value_t<detail::first_arg_t<F>>,
            class = std::enable_if_t<!std::is_same_v<R, Message>>>
  Action await_call(const ServerRef& target, Message request, F&& then,
                    std::chrono::milliseconds timeout = default_call_timeout) {
    return await_call<R>(target, std::move(request),
                         std::function<Action(Result<R>)>(std::forward<F>(then)), timeout);
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
  bool tolerate_unmatched_ = false;
};

}  // namespace otp
