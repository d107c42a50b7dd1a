// Conversion between wire structs and nlohmann::json trees, in one of two layouts: positional
// (arrays, enum ids: for MessagePack) or named (objects, enum names: for JSON). The bytes <-> tree
// step is in codec.cpp.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "otp/error.hpp"
#include "otp/protocol/message.hpp"

namespace otp::protocol::detail {

enum class Layout { positional, named };

nlohmann::json message_to_tree(const Message& message, Layout layout);
/// Takes the tree: strings and payload values are moved out of it, not copied.
Result<Message> message_from_tree(nlohmann::json&& tree, Layout layout);

/// Appends the MessagePack bytes of message to out: the same bytes as
/// json::to_msgpack(message_to_tree(message, Layout::positional)), without building the tree
/// (only payload values, which are trees already, go through nlohmann's writer).
void message_to_msgpack(const Message& message, std::vector<uint8_t>& out);

}  // namespace otp::protocol::detail
