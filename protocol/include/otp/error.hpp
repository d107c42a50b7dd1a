// otp::Error and otp::Result<T>: how every layer reports a failure (protocol decoding, the
// transport and membership, calls, starts, child management). An Error is a value: a code to act
// on, a context that names the operation, target or offending field, and for exits the reason;
// never a bare string or a bool.
//
// clang-format off
//   otp::Result<int> r = otp::gen_server::call<int>(node, "counter", GetValue{});
//   if (!r) std::cerr << r.error() << "\n";         // "noproc: call to counter: no such process"
//   if (r.error() == otp::ErrorCode::noproc) ...    // ask for a code
//   int v = otp::gen_server::call<int>(node, "counter", GetValue{}).value();   // or throw
// clang-format on
//
// clang-format off
//   auto msg = otp::protocol::decode(bytes, otp::protocol::Codec::msgpack);
//   if (!msg) log("dropping frame: " + msg.error().to_string());   // "bad_field: call.to: ..."
// clang-format on
//
// Semantics: value() (and *, ->) on an error throws otp::CallFailed carrying the Error; error()
// (and code()) on a value is a caller bug and throws std::logic_error.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <variant>

#include "otp/reason.hpp"

namespace otp {

/// What went wrong. The numbers are the wire ids (a remote call's error crosses the wire as its
/// id, see protocol::CallError): ONLY APPEND, never renumber or reuse a value.
enum class ErrorCode : uint16_t {
  // -- the runtime: calls, starts, children --
  noproc = 0,           // no live process behind the pid or name
  timeout = 1,          // no answer within the deadline
  exit = 2,             // the target exited while serving the request (reason() says why)
  bad_call = 3,         // the server has no clause for this request
  bad_reply = 4,        // the reply holds another type than the caller asked for
  already_started = 5,  // the name is taken (the context names the owner)
  ignored = 6,          // init returned ignore
  init_failed = 7,      // init returned stop or threw (reason() says why)
  max_children = 8,     // DynamicSupervisor is full
  not_found = 9,        // no child with that id / pid
  running = 10,         // restart_child / delete_child on a running child
  restarting = 11,      // the child is being restarted
  calling_self = 12,    // a process called itself: that would deadlock
  would_block = 13,     // a blocking call from inside a process handler: use the async form
  shutting_down = 14,   // the node is stopping
  nodedown = 15,        // the node hosting the target is down
  badarg = 16,          // invalid argument (e.g. a duplicate child id)
  overload = 17,        // the link to the target's node is saturated: back off and retry
  // -- the protocol: bytes that do not decode --
  malformed = 18,        // the bytes are not valid MessagePack / JSON (or hold binary values)
  too_deep = 19,         // nesting deeper than DecodeLimits::max_depth
  unknown_message = 20,  // a message type id / name this version does not know
  bad_field = 21,        // a field is missing, has the wrong type, or an invalid value
  frame_too_large = 22,  // a frame length above the configured maximum: close the connection
  internal = 23,         // an unexpected exception inside the library (a bug): drop the input
  // -- the cluster: addresses, sockets --
  bad_address = 24,    // an address or seed that does not parse ("host:port", "host:port/udp")
  unresolved = 25,     // a host name that does not resolve
  listen_failed = 26,  // a socket could not be opened, bound or put to listen
  // -- across versions --
  unknown_error = 27,  // a peer answered with a code this build does not know (a newer peer);
                       // the context keeps the peer's text
  // -- global names --
  already_registered = 28,  // the global name is held (the context names the owner and its node)
  not_owner = 29,           // the global name is held by a process of another node: change it there
};

/// "noproc", "bad_field", ...; "unknown" for a value that is no ErrorCode.
const char* to_string(ErrorCode code);
/// The code whose wire id is `id`; nullopt for an id this build does not know.
std::optional<ErrorCode> error_code_from_id(uint64_t id);
/// Prints to_string(code).
inline std::ostream& operator<<(std::ostream& os, ErrorCode code) {
  return os << to_string(code);
}

/// Why a message could not be handed to another node (DistributionChannel::send, and
/// cluster::Transport::send below it). Nothing was queued. A small enum of its own, not
/// ErrorCode values: a send fails in exactly these ways, and callers switch over all of them.
enum class SendError {
  nodedown,   // no established link to that node (or the transport is stopped)
  stale,      // a link to that node name exists, but to another incarnation (creation)
  overload,   // the link's send queue is full: the peer is not keeping up
  too_large,  // the encoded message is above the frame limit
};

/// "nodedown", "stale", "overload", "too_large".
const char* to_string(SendError e);

/// A failure as a value: a code to act on, the context that names what was attempted on what
/// (or the offending field), and for exit / init_failed the exit reason.
class Error {
 public:
  /// context: "call to counter", "call.from.id: expected ..."; reason: for exit / init_failed only.
  Error(ErrorCode code, std::string context, Reason reason = {})
      : code_(code), context_(std::move(context)), reason_(std::move(reason)) {}

  /// What went wrong: compare or switch on it.
  ErrorCode code() const noexcept { return code_; }
  /// The operation and target ("call to counter"), or the offending field ("call.from.id:
  /// expected an unsigned integer").
  const std::string& context() const noexcept { return context_; }
  /// For exit / init_failed: the exit reason.
  const Reason& reason() const noexcept { return reason_; }

  /// "exit: call to counter: server exited with error: boom (reason: error: boom)".
  std::string to_string() const;

  /// Errors are values: equal when code, context and reason are. To ask what kind of error it
  /// is, compare with a code: `error == ErrorCode::noproc`.
  friend bool operator==(const Error& a, const Error& b) {
    return a.code_ == b.code_ && a.context_ == b.context_ && a.reason_ == b.reason_;
  }
  friend bool operator==(const Error& a, ErrorCode c) { return a.code_ == c; }
  friend std::ostream& operator<<(std::ostream& os, const Error& e) { return os << e.to_string(); }

 private:
  ErrorCode code_;
  std::string context_;
  Reason reason_;
};

/// Thrown by Result<T>::value() when it holds an error (named after its most common source, a
/// call; it carries whatever Error the Result held).
class CallFailed : public std::runtime_error {
 public:
  /// what() is e.to_string().
  explicit CallFailed(Error e) : std::runtime_error(e.to_string()), error_(std::move(e)) {}
  /// The Error the Result held.
  const Error& error() const noexcept { return error_; }

 private:
  Error error_;
};

namespace detail {
[[noreturn]] void throw_error_of_value();
}  // namespace detail

/// A T or an Error. `Result<void>` says only whether it worked.
template <class T>
class [[nodiscard]] Result {
 public:
  /// A success holding value, or a failure: implicit, so a function returning Result<T> can
  /// `return value;` or `return Error(...);`.
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  /// True when it holds a value (Result<void>: when it worked).
  bool ok() const noexcept { return v_.index() == 0; }
  /// ok().
  explicit operator bool() const noexcept { return ok(); }

  /// The value; throws CallFailed carrying the Error when it holds one.
  T& value() & {
    if (!ok()) throw CallFailed(std::get<1>(v_));
    return std::get<0>(v_);
  }
  /// The value; throws CallFailed carrying the Error when it holds one.
  const T& value() const& {
    if (!ok()) throw CallFailed(std::get<1>(v_));
    return std::get<0>(v_);
  }
  /// On a temporary: moves the value out (so `for (auto& x : f().value())` does not dangle).
  T value() && {
    if (!ok()) throw CallFailed(std::get<1>(v_));
    return std::get<0>(std::move(v_));
  }
  /// value(): throws CallFailed on an error.
  T& operator*() & { return value(); }
  /// value(): throws CallFailed on an error.
  const T& operator*() const& { return value(); }
  /// Points at value(): throws CallFailed on an error.
  T* operator->() { return &value(); }
  /// Points at value(): throws CallFailed on an error.
  const T* operator->() const { return &value(); }

  /// The error; throws std::logic_error when it holds a value (a caller bug: check ok() first).
  const Error& error() const {
    if (ok()) detail::throw_error_of_value();
    return std::get<1>(v_);
  }
  /// error().code(); throws std::logic_error when it holds a value.
  ErrorCode code() const { return error().code(); }

 private:
  std::variant<T, Error> v_;
};

/// The Result of an operation that returns nothing on success: only whether it worked, and why
/// not.
template <>
class [[nodiscard]] Result<void> {
 public:
  /// Success.
  Result() = default;
  /// A failure.
  Result(Error error) : e_(std::move(error)) {}  // NOLINT: implicit

  /// True when it worked.
  bool ok() const noexcept { return !e_.has_value(); }
  /// ok().
  explicit operator bool() const noexcept { return ok(); }
  /// Nothing when it worked; throws CallFailed carrying the Error otherwise.
  void value() const {
    if (e_) throw CallFailed(*e_);
  }
  /// The error; throws std::logic_error when it worked (check ok() first).
  const Error& error() const {
    if (!e_) detail::throw_error_of_value();
    return *e_;
  }
  /// error().code(); throws std::logic_error when it worked.
  ErrorCode code() const { return error().code(); }

 private:
  std::optional<Error> e_;
};

}  // namespace otp
