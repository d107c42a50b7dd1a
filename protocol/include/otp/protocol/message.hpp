// otp::protocol::Message: every message a connection carries, handshake and process traffic, as
// one variant. Decoders produce it, encoders and the handshake consume it:
//
// clang-format off
//   Message m = Ping{.seq = 1};
//   type_of(m) == MessageType::ping;
//   std::visit([](const auto& x) { ... }, m);
// clang-format on
#pragma once

#include <variant>

#include "otp/protocol/envelope.hpp"
#include "otp/protocol/global_names.hpp"
#include "otp/protocol/handshake_messages.hpp"

namespace otp::protocol {

/// Any message of a connection (see above); its kind is type_of(m).
using Message = std::variant<Hello, Proof, Reject, Send, Call, Reply, Cast, Monitor, Demonitor,
                             Down, Link, Unlink, Exit, Ping, Pong, NameUpdate, NameSync>;

/// The wire id of the message's kind.
MessageType type_of(const Message& message);

}  // namespace otp::protocol
