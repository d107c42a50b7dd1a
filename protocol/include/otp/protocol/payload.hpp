// otp::protocol::Payload: a user message as it crosses the wire: a JSON-compatible value plus the
// name the sender registered for its C++ type, so the receiver knows which from_json to run.
//
//   Payload{"counter.increment", {{"by", 5}}}
//
// Values must be JSON-compatible: no binary values (the decoder rejects them), finite numbers
// (the JSON codec writes NaN and infinities as null), UTF-8 strings (the JSON codec replaces
// invalid sequences with U+FFFD). MessagePack carries every such value exactly.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace otp::protocol {

/// A user message on the wire: the registered type name and its JSON value.
struct Payload {
  std::string type;      // the registered type name, e.g. "counter.increment"
  nlohmann::json value;  // the value, as the type's to_json wrote it

  friend bool operator==(const Payload& a, const Payload& b) {
    return a.type == b.type && a.value == b.value;
  }
};

}  // namespace otp::protocol
