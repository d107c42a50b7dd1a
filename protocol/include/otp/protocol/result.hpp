// otp::protocol::Error and Result<T>: how protocol functions report bad input. Decoding never
// throws and never crashes; it returns an Error with a code to act on and a message that names
// the offending field or byte offset:
//
//   auto msg = otp::protocol::decode(bytes, otp::protocol::Codec::msgpack);
//   if (!msg) log("dropping frame: " + msg.error().to_string());   // "bad_field: call.to: ..."
#pragma once

#include <ostream>
#include <string>
#include <utility>
#include <variant>

namespace otp::protocol {

/// What went wrong with a frame or a message.
enum class ErrorCode {
  malformed,        // the bytes are not valid MessagePack / JSON (or hold binary values)
  too_deep,         // nesting deeper than DecodeLimits::max_depth
  unknown_message,  // a message type id / name this version does not know
  bad_field,        // a field is missing, has the wrong type, or an invalid value
  frame_too_large,  // a frame length above the configured maximum: close the connection
  internal,         // an unexpected exception inside the library (a bug): drop the input
};

const char* to_string(ErrorCode code);

/// An error value: a code and a human-readable message with the context.
struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;

  /// "bad_field: call.from.id: expected an unsigned integer".
  std::string to_string() const;

  friend bool operator==(const Error&, const Error&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Error& e) { return os << e.to_string(); }
};

/// A T or an Error. `value()` on an error (and `error()` on a value) is a precondition violation.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

/// Success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace otp::protocol
