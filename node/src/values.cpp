// Printing of Reason and Error (to_string of reasons, error codes and errors).
#include <string>

#include "otp/error.hpp"
#include "otp/reason.hpp"

namespace otp {

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

const char* to_string(ErrorCode code) {
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
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string s = otp::to_string(code_);
  if (!context_.empty()) s += ": " + context_;
  if ((code_ == ErrorCode::exit || code_ == ErrorCode::init_failed) && !reason_.is_normal())
    s += " (reason: " + reason_.to_string() + ")";
  return s;
}

}  // namespace otp
