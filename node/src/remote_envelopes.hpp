// Private: the envelopes distribution delivers locally for what happened on another node (a Down,
// an exit signal, a call's error answer), shared by remote processes and incoming messages.
#pragma once

#include <memory>

#include "envelope.hpp"
#include "otp/error.hpp"
#include "otp/pid.hpp"
#include "otp/reason.hpp"
#include "process_control.hpp"

namespace otp::detail {

inline Envelope down_envelope(Ref ref, Pid from, Reason reason) {
  Envelope e = Envelope::make_signal(EnvelopeKind::down, std::move(from), std::move(reason));
  e.ref = ref;
  return e;
}

inline Envelope exit_envelope(Pid from, Reason reason, bool via_link) {
  return Envelope::make_signal(EnvelopeKind::exit, std::move(from), std::move(reason), via_link);
}

inline Envelope error_envelope(Ref ref, Error error) {
  Envelope e;
  e.kind = EnvelopeKind::reply_error;
  e.ref = ref;
  e.payload = std::move(error);
  return e;
}

/// The pid of the process an endpoint belongs to (a watcher, a caller), if it is one.
inline Pid endpoint_pid(const std::shared_ptr<Endpoint>& endpoint) {
  if (auto* p = dynamic_cast<Process*>(endpoint.get())) return p->pid();
  return Pid();
}

}  // namespace otp::detail
