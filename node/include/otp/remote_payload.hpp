// Messages in their wire form outside the distribution: a registered type name and its JSON
// value ({"type": "svc.add", "value": {"by": 5}}), as a tool that links none of the C++ types
// (otp-ctl) writes them. A node's control service turns such a payload into the Message a local
// process receives, and a reply back, exactly as the distribution does for another node.
//
//   auto m = otp::decode_payload(node, {"svc.add", {{"by", 5}}});   // bad_call when unknown
//   auto p = otp::encode_payload(node, otp::Message(7));           // {"int", 7}
#pragma once

#include "otp/error.hpp"
#include "otp/message.hpp"
#include "otp/node.hpp"
#include "otp/protocol/payload.hpp"

namespace otp {

/// The message a payload stands for, decoded with the types registered in this process
/// (otp/remote_type.hpp). bad_call naming the type when it is not registered or its value does
/// not decode.
Result<Message> decode_payload(Node& node, const protocol::Payload& payload);
/// The payload of a message (badarg when its type has no remote name).
Result<protocol::Payload> encode_payload(Node& node, const Message& message);

}  // namespace otp
