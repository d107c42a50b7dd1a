// Conversion between wire structs and nlohmann::json trees, in one of two layouts: positional
// (arrays, enum ids: for MessagePack) or named (objects, enum names: for JSON). The bytes <-> tree
// step is in codec.cpp.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "otp/protocol/message.hpp"
#include "otp/protocol/result.hpp"

namespace otp::protocol::detail {

enum class Layout { positional, named };

nlohmann::json message_to_tree(const Message& message, Layout layout);
Result<Message> message_from_tree(const nlohmann::json& tree, Layout layout);

}  // namespace otp::protocol::detail
