#include "otp/global/messages.hpp"

#include "otp/protocol/codec.hpp"

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

protocol::NameClaim claim_to_wire(const Claim& c) {
  return protocol::NameClaim{c.name, c.owner.id, c.stamp.physical_ms, c.stamp.logical, c.metadata};
}

}  // namespace

protocol::Message to_wire(const Message& message) {
  if (const auto* update = std::get_if<Update>(&message)) {
    return protocol::NameUpdate{update->kind == UpdateKind::add ? protocol::NameUpdateKind::add
                                                                : protocol::NameUpdateKind::remove,
                                claim_to_wire(update->claim)};
  }
  protocol::NameSync sync;
  const auto& claims = std::get<Sync>(message).claims;
  sync.claims.reserve(claims.size());
  for (const Claim& c : claims) sync.claims.push_back(claim_to_wire(c));
  return sync;
}

Claim from_wire(const protocol::NameClaim& claim, const protocol::NodeId& sender) {
  return Claim{claim.name, protocol::Pid{sender, claim.pid},
               Stamp{claim.stamp_ms, claim.stamp_logical}, claim.metadata};
}

Update from_wire(const protocol::NameUpdate& update, const protocol::NodeId& sender) {
  return Update{update.kind == protocol::NameUpdateKind::add ? UpdateKind::add : UpdateKind::remove,
                from_wire(update.claim, sender)};
}

std::vector<uint8_t> encode(const Message& message) {
  return protocol::encode(to_wire(message), protocol::Codec::msgpack);
}

std::optional<Message> decode(std::span<const uint8_t> bytes, const protocol::NodeId& sender) {
  auto decoded = protocol::decode(bytes, protocol::Codec::msgpack);
  if (!decoded) return std::nullopt;
  if (const auto* update = std::get_if<protocol::NameUpdate>(&*decoded))
    return Message{from_wire(*update, sender)};
  const auto* sync = std::get_if<protocol::NameSync>(&*decoded);
  if (!sync || !sync->last) return std::nullopt;
  Sync out;
  out.claims.reserve(sync->claims.size());
  for (const auto& c : sync->claims) out.claims.push_back(from_wire(c, sender));
  return Message{std::move(out)};
}

}  // namespace otp::global
