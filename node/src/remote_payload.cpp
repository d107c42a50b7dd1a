// Payloads outside the distribution (otp/remote_payload.hpp): the distribution's own codec.
#include "otp/remote_payload.hpp"

#include "distribution.hpp"
#include "node_core.hpp"

namespace otp {

Result<Message> decode_payload(Node& node, const protocol::Payload& payload) {
  return detail::RuntimeAccess::core(node).distribution().decode(
      payload, [&] { return "message of type '" + payload.type + "'"; });
}

Result<protocol::Payload> encode_payload(Node& node, const Message& message) {
  return detail::RuntimeAccess::core(node).distribution().encode(
      message, [] { return std::string("a reply"); });
}

}  // namespace otp
