// encode / decode: tree.hpp does struct <-> tree, this file tree <-> bytes.
#include "otp/protocol/codec.hpp"

#include <exception>

#include "bounded_parser.hpp"
#include "tree.hpp"

namespace otp::protocol {
namespace {

using nlohmann::json;

detail::Layout layout_of(Codec codec) {
  return codec == Codec::msgpack ? detail::Layout::positional : detail::Layout::named;
}

std::string dump(const json& tree) {
  // replace: invalid UTF-8 becomes U+FFFD instead of an exception.
  return tree.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

Bytes encode(const Message& message, Codec codec) {
  if (codec == Codec::msgpack) {
    Bytes out;
    out.reserve(128);
    detail::message_to_msgpack(message, out);
    return out;
  }
  const json tree = detail::message_to_tree(message, layout_of(codec));
  const std::string text = dump(tree);
  return Bytes(text.begin(), text.end());
}

Result<Message> decode(std::span<const uint8_t> bytes, Codec codec, DecodeLimits limits) {
  try {
    if (bytes.empty()) return Error{ErrorCode::malformed, "empty input"};
    const auto syntax = codec == Codec::msgpack ? detail::Syntax::msgpack : detail::Syntax::json;
    auto tree = detail::parse_bounded(bytes, syntax, limits.max_depth);
    if (!tree) return tree.error();
    return detail::message_from_tree(std::move(tree).value(), layout_of(codec));
  } catch (const std::exception& e) {
    return Error{ErrorCode::internal, std::string("decode: ") + e.what()};
  } catch (...) {
    return Error{ErrorCode::internal, "decode: unknown exception"};
  }
}

std::string to_json_text(const Message& message) {
  return dump(detail::message_to_tree(message, detail::Layout::named));
}

Result<Message> from_json_text(std::string_view text, DecodeLimits limits) {
  const auto* data = reinterpret_cast<const uint8_t*>(text.data());
  return decode(std::span<const uint8_t>(data, text.size()), Codec::json, limits);
}

}  // namespace otp::protocol
