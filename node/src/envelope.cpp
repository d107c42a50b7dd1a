// How the envelope that answers a call (a reply, an error reply, a Down) becomes its Result.
#include <optional>
#include <string>

#include "envelope.hpp"
#include "otp/error.hpp"
#include "otp/reason.hpp"

namespace otp {

namespace detail {

Result<Message> to_result(std::optional<Envelope>&& e, const std::string& context) {
  if (!e) return Error(ErrorCode::timeout, context + ": no reply in time");
  switch (e->kind) {
    case EnvelopeKind::reply:
      return std::move(e->payload);
    case EnvelopeKind::reply_error:
      return e->payload.get<Error>();
    case EnvelopeKind::down:
      if (e->reason().kind() == Reason::Kind::noproc)
        return Error(ErrorCode::noproc, context + ": no such process");
      if (e->reason().kind() == Reason::Kind::noconnection)
        return Error(ErrorCode::nodedown, context + ": node down", e->reason());
      return Error(ErrorCode::exit, context + ": process exited", e->reason());
    default:
      return Error(ErrorCode::badarg, context + ": unexpected answer");
  }
}

}  // namespace detail
}  // namespace otp
