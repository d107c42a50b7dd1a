// Names and printing of otp::ErrorCode, otp::Error and otp::Reason.
#include <limits>
#include <string_view>
#include <type_traits>

#include "otp/error.hpp"
#include "otp/reason.hpp"

namespace otp {

namespace {
constexpr const char* kUnknown = "unknown";
}  // namespace

const char* to_string(ErrorCode code) {
  // No default: the compiler checks that every code has its name.
  switch (code) {
    case ErrorCode::noproc:
      return "noproc";
    case ErrorCode::timeout:
      return "timeout";
    case ErrorCode::exit:
      return "exit";
    case ErrorCode::bad_call:
      return "bad_call";
    case ErrorCode::bad_reply:
      return "bad_reply";
    case ErrorCode::already_started:
      return "already_started";
    case ErrorCode::ignored:
      return "ignored";
    case ErrorCode::init_failed:
      return "init_failed";
    case ErrorCode::max_children:
      return "max_children";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::running:
      return "running";
    case ErrorCode::restarting:
      return "restarting";
    case ErrorCode::calling_self:
      return "calling_self";
    case ErrorCode::would_block:
      return "would_block";
    case ErrorCode::shutting_down:
      return "shutting_down";
    case ErrorCode::nodedown:
      return "nodedown";
    case ErrorCode::badarg:
      return "badarg";
    case ErrorCode::overload:
      return "overload";
    case ErrorCode::malformed:
      return "malformed";
    case ErrorCode::too_deep:
      return "too_deep";
    case ErrorCode::unknown_message:
      return "unknown_message";
    case ErrorCode::bad_field:
      return "bad_field";
    case ErrorCode::frame_too_large:
      return "frame_too_large";
    case ErrorCode::internal:
      return "internal";
    case ErrorCode::bad_address:
      return "bad_address";
    case ErrorCode::unresolved:
      return "unresolved";
    case ErrorCode::listen_failed:
      return "listen_failed";
    case ErrorCode::unknown_error:
      return "unknown_error";
    case ErrorCode::already_registered:
      return "already_registered";
    case ErrorCode::not_owner:
      return "not_owner";
  }
  return kUnknown;
}

std::optional<ErrorCode> error_code_from_id(uint64_t id) {
  if (id > std::numeric_limits<std::underlying_type_t<ErrorCode>>::max()) return std::nullopt;
  // to_string names exactly the declared codes (its switch is checked), so it is the list of
  // known ids.
  const auto code = static_cast<ErrorCode>(id);
  if (std::string_view(to_string(code)) == kUnknown) return std::nullopt;
  return code;
}

const char* to_string(SendError e) {
  switch (e) {
    case SendError::nodedown:
      return "nodedown";
    case SendError::stale:
      return "stale";
    case SendError::overload:
      return "overload";
    case SendError::too_large:
      return "too_large";
  }
  return kUnknown;
}

std::string Error::to_string() const {
  std::string s = otp::to_string(code_);
  if (!context_.empty()) s += ": " + context_;
  if ((code_ == ErrorCode::exit || code_ == ErrorCode::init_failed) && !reason_.is_normal())
    s += " (reason: " + reason_.to_string() + ")";
  return s;
}

namespace detail {
void throw_error_of_value() {
  throw std::logic_error("otp::Result::error() called on a Result that holds a value");
}
}  // namespace detail

std::string Reason::to_string() const {
  switch (kind_) {
    case Kind::normal:
      return "normal";
    case Kind::shutdown:
      return detail_.empty() ? "shutdown" : "{shutdown, " + detail_ + "}";
    case Kind::kill:
      return "kill";
    case Kind::killed:
      return "killed";
    case Kind::noproc:
      return "noproc";
    case Kind::noconnection:
      return "noconnection";
    case Kind::error:
      return "error: " + detail_;
  }
  return "unknown";
}

}  // namespace otp
