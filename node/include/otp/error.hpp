// otp::Error and otp::Result<T>: how operations that can fail report it (calls, starts, child
// management). Errors are values with a code, the operation and target, and a cause; never a bare
// string. `Result<T>::value()` throws otp::CallFailed for callers that prefer exceptions:
//
//   otp::Result<int> r = otp::gen_server::call<int>(node, "counter", GetValue{});
//   if (!r) std::cerr << r.error() << "\n";           // "noproc: call to counter: no such process"
//   int v = otp::gen_server::call<int>(node, "counter", GetValue{}).value();   // or throw
#pragma once

#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <variant>

#include "otp/reason.hpp"

namespace otp {

enum class ErrorCode {
  noproc,           // no live process behind the pid or name
  timeout,          // no answer within the deadline
  exit,             // the target exited while serving the request (reason() says why)
  bad_call,         // the server has no clause for this request
  bad_reply,        // the reply holds another type than the caller asked for
  already_started,  // the name is taken (the message names the owner)
  ignored,          // init returned ignore
  init_failed,      // init returned stop or threw (reason() says why)
  max_children,     // DynamicSupervisor is full
  not_found,        // no child with that id / pid
  running,          // restart_child / delete_child on a running child
  restarting,       // the child is being restarted
  calling_self,     // a process called itself: that would deadlock
  would_block,      // a blocking call from inside a process handler: use the async form
  shutting_down,    // the node is stopping
  nodedown,         // the node hosting the target is down
  badarg,           // invalid argument (e.g. a duplicate child id)
  overload,         // the link to the target's node is saturated: back off and retry
};

const char* to_string(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string context, Reason reason = {})
      : code_(code), context_(std::move(context)), reason_(std::move(reason)) {}

  ErrorCode code() const noexcept { return code_; }
  /// The operation and target, e.g. "call to counter".
  const std::string& context() const noexcept { return context_; }
  /// For exit / init_failed: the exit reason.
  const Reason& reason() const noexcept { return reason_; }

  /// "exit: call to counter: server exited with error: boom".
  std::string to_string() const;

  friend bool operator==(const Error& a, const Error& b) { return a.code_ == b.code_; }
  friend bool operator==(const Error& a, ErrorCode c) { return a.code_ == c; }
  friend std::ostream& operator<<(std::ostream& os, const Error& e) { return os << e.to_string(); }

 private:
  ErrorCode code_;
  std::string context_;
  Reason reason_;
};

/// Thrown by Result<T>::value() when it holds an error.
class CallFailed : public std::runtime_error {
 public:
  explicit CallFailed(Error e) : std::runtime_error(e.to_string()), error_(std::move(e)) {}
  const Error& error() const noexcept { return error_; }

 private:
  Error error_;
};

/// A T or an Error. `Result<void>` says only whether it worked.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit on purpose
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    if (!ok()) throw CallFailed(std::get<1>(v_));
    return std::get<0>(v_);
  }
  const T& value() const& {
    if (!ok()) throw CallFailed(std::get<1>(v_));
    return std::get<0>(v_);
  }
  /// On a temporary: moves the value out (so `for (auto& x : f().value())` does not dangle).
  T value() && {
    if (!ok()) throw CallFailed(std::get<1>(v_));
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }
  ErrorCode code() const { return std::get<1>(v_).code(); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return !e_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  void value() const {
    if (e_) throw CallFailed(*e_);
  }
  const Error& error() const { return *e_; }
  ErrorCode code() const { return e_->code(); }

 private:
  std::optional<Error> e_;
};

}  // namespace otp
