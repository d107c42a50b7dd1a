// Parses MessagePack or JSON bytes into a json tree through nlohmann's SAX interface, refusing
// nesting deeper than a limit (nlohmann's MessagePack reader recurses once per level, so without
// the limit a frame of nested arrays overflows the stack) and binary values (not JSON-compatible).
#pragma once

#include <nlohmann/json.hpp>
#include <span>

#include "otp/error.hpp"

namespace otp::protocol::detail {

enum class Syntax { msgpack, json };

/// Never throws.
Result<nlohmann::json> parse_bounded(std::span<const uint8_t> bytes, Syntax syntax,
                                     size_t max_depth);

}  // namespace otp::protocol::detail
