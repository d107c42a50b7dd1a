// Encoding and decoding of Messages. Two codecs, the same types through both:
//
// * MessagePack between nodes: compact, positional: a message is an array [type id, fields...],
//   structs are arrays of their fields in declaration order, enums are their wire ids.
// * JSON for tools and debugging: named: {"type": "call", "from": {...}, ...}, structs are
//   objects, enums are their names, bytes (challenges, MACs) are lowercase hex in both codecs.
//
// clang-format off
//   Bytes wire = encode(Call{...}, Codec::msgpack);
//   Result<Message> m = decode(wire, Codec::msgpack);     // never throws
//   std::string text = to_json_text(*m);                  // {"type":"call",...}
// clang-format on
//
// Decoding returns an Error on anything malformed: invalid bytes, nesting deeper than
// DecodeLimits::max_depth, binary values, unknown message types, missing or mistyped fields.
// Forward compatibility: extra trailing fields (MessagePack) and unknown keys (JSON) are ignored.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "otp/error.hpp"
#include "otp/protocol/message.hpp"

namespace otp::protocol {

/// An encoded message: MessagePack bytes or JSON text.
using Bytes = std::vector<uint8_t>;

/// The two encodings of a Message (see above).
enum class Codec {
  msgpack,  // between nodes
  json,     // tools and debugging
};

/// "msgpack" or "json".
const char* to_string(Codec codec);

/// Bounds on what decode accepts, so hostile input costs bounded work.
struct DecodeLimits {
  /// Deepest nesting of arrays/objects accepted, envelope included. Bounds the decoder's
  /// recursion (MessagePack parsing is recursive), so hostile input can not exhaust the stack.
  size_t max_depth = 128;
};

/// Encodes a message. Never fails; see payload.hpp for what the JSON codec does with values
/// that are not JSON-compatible.
Bytes encode(const Message& message, Codec codec);

/// Decodes one message (the whole input, nothing trailing). Never throws.
Result<Message> decode(std::span<const uint8_t> bytes, Codec codec, DecodeLimits limits = {});

/// JSON text of a message, for tools and logs.
std::string to_json_text(const Message& message);
/// Decodes JSON text (e.g. typed by an operator).
Result<Message> from_json_text(std::string_view text, DecodeLimits limits = {});

}  // namespace otp::protocol
