#include "otp/global/messages.hpp"

#include <nlohmann/json.hpp>

namespace otp::global {

std::ostream& operator<<(std::ostream& os, const Claim& c) {
  os << c.name << " -> " << c.owner << " @" << c.stamp;
  if (!c.metadata.empty()) os << ' ' << c.metadata;
  return os;
}

const char* to_string(UpdateKind kind) {
  switch (kind) {
    case UpdateKind::add:
      return "add";
    case UpdateKind::remove:
      return "remove";
  }
  return "?";
}

namespace {

using nlohmann::json;

/// Builds the JSON value like nlohmann's own parser, refusing nesting deeper than any message
/// has (nlohmann's MessagePack reader recurses: hostile nesting must not exhaust the stack) and
/// binary values (no message has any).
class BoundedParser : public nlohmann::detail::json_sax_dom_parser<json> {
 public:
  explicit BoundedParser(json& result) : json_sax_dom_parser(result, false) {}

  bool start_object(std::size_t n) {
    return ++depth_ <= kMaxDepth && json_sax_dom_parser::start_object(n);
  }
  bool end_object() {
    --depth_;
    return json_sax_dom_parser::end_object();
  }
  bool start_array(std::size_t n) {
    return ++depth_ <= kMaxDepth && json_sax_dom_parser::start_array(n);
  }
  bool end_array() {
    --depth_;
    return json_sax_dom_parser::end_array();
  }
  bool binary(json::binary_t&) { return false; }

 private:
  static constexpr size_t kMaxDepth = 8;  // messages nest 4 deep
  size_t depth_ = 0;
};

constexpr int kUpdateType = 0;
constexpr int kSyncType = 1;

json claim_to_json(const Claim& c) {
  return json::array(
      {c.name, c.owner.id, json::array({c.stamp.physical_ms, c.stamp.logical}), c.metadata});
}

std::optional<Claim> claim_from_json(const json& j, const protocol::NodeId& sender) {
  if (!j.is_array() || j.size() < 4) return std::nullopt;
  const json& stamp = j[2];
  if (!j[0].is_string() || !j[1].is_number_unsigned() || !stamp.is_array() || stamp.size() < 2 ||
      !stamp[0].is_number_unsigned() || !stamp[1].is_number_unsigned() || !j[3].is_string()) {
    return std::nullopt;
  }
  const uint64_t logical = stamp[1].get<uint64_t>();
  if (logical > UINT32_MAX) return std::nullopt;
  return Claim{j[0].get<std::string>(), protocol::Pid{sender, j[1].get<uint64_t>()},
               Stamp{stamp[0].get<uint64_t>(), static_cast<uint32_t>(logical)},
               j[3].get<std::string>()};
}

std::optional<Message> from_json(const json& j, const protocol::NodeId& sender) {
  if (!j.is_array() || j.size() < 2 || !j[0].is_number_unsigned()) return std::nullopt;
  const uint64_t type = j[0].get<uint64_t>();
  if (type == kUpdateType) {
    if (j.size() < 3 || !j[1].is_number_unsigned() || j[1].get<uint64_t>() > 1) return std::nullopt;
    auto claim = claim_from_json(j[2], sender);
    if (!claim) return std::nullopt;
    return Message{Update{static_cast<UpdateKind>(j[1].get<uint64_t>()), std::move(*claim)}};
  }
  if (type == kSyncType) {
    if (!j[1].is_array()) return std::nullopt;
    Sync sync;
    sync.claims.reserve(j[1].size());
    for (const json& c : j[1]) {
      auto claim = claim_from_json(c, sender);
      if (!claim) return std::nullopt;
      sync.claims.push_back(std::move(*claim));
    }
    return Message{std::move(sync)};
  }
  return std::nullopt;
}

}  // namespace

std::vector<uint8_t> encode(const Message& message) {
  json j;
  if (const auto* update = std::get_if<Update>(&message)) {
    j = json::array({kUpdateType, static_cast<int>(update->kind), claim_to_json(update->claim)});
  } else {
    json claims = json::array();
    for (const Claim& c : std::get<Sync>(message).claims) claims.push_back(claim_to_json(c));
    j = json::array({kSyncType, std::move(claims)});
  }
  return json::to_msgpack(j);
}

std::optional<Message> decode(std::span<const uint8_t> bytes, const protocol::NodeId& sender) {
  json j;
  BoundedParser parser(j);
  if (!json::sax_parse(bytes.begin(), bytes.end(), &parser, nlohmann::json::input_format_t::msgpack,
                       true) ||
      parser.is_errored()) {
    return std::nullopt;
  }
  return from_json(j, sender);
}

}  // namespace otp::global
