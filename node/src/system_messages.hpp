// Private: the runtime's own requests that cross nodes inside ordinary process messages, as
// Erlang's system messages and rpc do, so they need no wire message type of their own:
//
//   StopRequest     "otp.stop": gen_server::stop of a process on another node. Sent as a Send
//                   to it (after a Monitor, whose Down says when it has exited); the receiving
//                   node delivers it as the stop request a local gen_server::stop makes.
//   WhereisRequest  "otp.whereis": otp::whereis of {name, node}. Sent as a Call to that name; the
//                   receiving node answers with the pid registered under it (noproc when none)
//                   instead of delivering the call.
//
// Their type names start with "otp.", which user types must not take. A node of a build without
// them answers a whereis with bad_call (its type is unknown there) and drops a stop request
// (logged), so a stop of a process there waits for its timeout.
#pragma once

#include "otp/reason.hpp"

namespace otp::detail {

struct StopRequest {
  Reason reason;
};
inline constexpr const char* kStopRequestType = "otp.stop";

struct WhereisRequest {};
inline constexpr const char* kWhereisRequestType = "otp.whereis";

/// Registers both as remote types (once per process; later calls do nothing).
void register_system_messages();

}  // namespace otp::detail
