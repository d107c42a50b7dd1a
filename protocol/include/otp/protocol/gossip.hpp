// The gossip wire format of SWIM membership (cluster/membership drives it): UDP datagrams
// (ping, ping_req, ack, nack, gossip) and the push-pull full-state exchange carried over a stream
// (TCP). Every packet carries the cluster name and ends with an HMAC-SHA256 over all its other
// bytes keyed by the cluster cookie, so only members of the same cluster are heard.
//
// clang-format off
//   const gossip::Key key{.cluster = "prod", .cookie = "secret"};
//   Bytes wire = gossip::encode(gossip::Packet{.body = gossip::Ack{.seq = 7}}, key);
//   if (gossip::authenticate(wire, key, 1400) == gossip::Rejection::none) {
//     Result<gossip::Packet> p = gossip::decode(wire);   // never throws
//   }
// clang-format on
//
// Layout (integers are LEB128 varints unless noted, strings a varint length then the bytes):
//   "OG" | version (u8) | cluster | type (u8) | body | update count | updates... | HMAC (32 bytes)
// A binary layout written by hand, not the MessagePack codec: the sender fills each datagram up
// to a byte budget with piggybacked updates, so it needs each update's exact size before encoding
// (encoded_size), and a simulator of 10,000 nodes pushes millions of these through the decoder.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "otp/error.hpp"
#include "otp/protocol/node_id.hpp"

namespace otp::protocol::gossip {

/// An encoded, signed packet.
using Bytes = std::vector<uint8_t>;

/// The version byte of every packet; a decoder refuses other versions. 1: the first. 2: a
/// NodeId's creation is 64 bits (see node_id.hpp).
inline constexpr uint8_t kVersion = 2;
/// Bytes of the trailing HMAC-SHA256.
inline constexpr size_t kMacSize = 32;

/// Where a node listens (its gossip socket or its data transport).
struct Address {
  /// An IP literal or a DNS name.
  std::string host{};
  /// UDP port for gossip (TCP too, for push-pull), TCP port for a data address.
  uint16_t port = 0;

  /// "host:port" ("[host]:port" when host holds a ':', i.e. an IPv6 literal).
  std::string to_string() const;

  friend bool operator==(const Address&, const Address&) = default;
  friend auto operator<=>(const Address&, const Address&) = default;
};

/// What a member says about itself besides its state: gossiped with every alive update.
struct MemberMeta {
  Address data{};                             // the node's data (TCP transport) address
  std::string version{};                      // the software version it runs
  std::map<std::string, std::string> tags{};  // free-form labels (role, zone, ...)
  friend bool operator==(const MemberMeta&, const MemberMeta&) = default;
};

/// What an update says about a member. Wire ids: ONLY APPEND.
enum class UpdateKind : uint8_t {
  alive = 0,    // the member runs at this incarnation (with its address and metadata)
  suspect = 1,  // accuser failed to reach the member at this incarnation
  dead = 2,     // accuser declared the member failed at this incarnation
  left = 3,     // the member left gracefully
};

/// "alive", "suspect", "dead", "left"; "unknown" for another value.
const char* to_string(UpdateKind kind);

/// One piece of membership news, piggybacked on datagrams and listed in push-pull.
struct Update {
  /// What the news says (see UpdateKind).
  UpdateKind kind = UpdateKind::alive;
  /// The member it is about (that exact run: name@host and creation).
  NodeId node{};
  /// The member's incarnation it refers to: news of a higher incarnation overrides older news.
  uint32_t incarnation = 0;
  /// Present in alive updates and in every push-pull record.
  bool has_info = false;
  /// With has_info: the member's gossip address.
  Address gossip{};
  /// With has_info: the member's metadata.
  MemberMeta meta{};
  /// Full name of the node that suspects / declared dead (empty for alive and left).
  std::string accuser{};
  friend bool operator==(const Update&, const Update&) = default;
};

/// "Are you alive?" target: who the sender believes answers at that address (a restarted node
/// with another creation does not answer for its predecessor). source: who asks.
struct Ping {
  /// Echoed by the Ack.
  uint32_t seq = 0;
  /// Who the sender expects to answer (another run of that name does not).
  NodeId target{};
  /// Who asks.
  NodeId source{};
  friend bool operator==(const Ping&, const Ping&) = default;
};

/// "Please ping target for me and forward its ack (or a nack if it stays silent)."
struct PingReq {
  /// The requester's seq: echoed by the Ack or Nack it gets back.
  uint32_t seq = 0;
  /// The member to ping.
  NodeId target{};
  /// Where to ping it.
  Address target_address{};
  /// Answer with a Nack if the target stays silent (Lifeguard).
  bool want_nack = false;
  friend bool operator==(const PingReq&, const PingReq&) = default;
};

/// The answer to a Ping (forwarded to the requester of a PingReq).
struct Ack {
  /// The seq of the Ping (or PingReq) it answers.
  uint32_t seq = 0;
  friend bool operator==(const Ack&, const Ack&) = default;
};

/// From an indirect prober: "I could not reach the target either" (Lifeguard: proves the path
/// to the prober works, so a missing nack hints at the requester's own trouble).
struct Nack {
  /// The PingReq's seq.
  uint32_t seq = 0;
  friend bool operator==(const Nack&, const Nack&) = default;
};

/// A datagram that only carries piggybacked updates.
struct Gossip {
  friend bool operator==(const Gossip&, const Gossip&) = default;
};

/// The full-state exchange (stream channel only). The requester sends reply = false; the
/// receiver merges it and answers with its own state, reply = true.
struct PushPull {
  /// false: a request; true: the answer to one.
  bool reply = false;
  bool join = false;  // the requester is joining (for the receiver's logs and stats)
  /// The node whose state this is.
  NodeId source{};
  std::vector<Update> members{};  // every known member, with info
  friend bool operator==(const PushPull&, const PushPull&) = default;
};

/// Packet type ids: ONLY APPEND.
enum class PacketType : uint8_t {
  ping = 0,
  ping_req = 1,
  ack = 2,
  nack = 3,
  gossip = 4,
  push_pull = 5
};

/// What a packet says besides its piggybacked updates: one of the packet types.
using Body = std::variant<Ping, PingReq, Ack, Nack, Gossip, PushPull>;

/// One gossip packet: a body and the membership news it carries.
struct Packet {
  /// The packet's message (Gossip: it carries only updates).
  Body body = Gossip{};
  std::vector<Update> updates{};  // piggybacked news (empty in push-pull)
  friend bool operator==(const Packet&, const Packet&) = default;
};

/// The wire id of body's type.
PacketType type_of(const Body& body);
/// "ping", "ping_req", ...; "unknown" for another value.
const char* to_string(PacketType type);

/// The cluster a packet belongs to and the cookie its HMAC is keyed with.
struct Key {
  /// Packets naming another cluster are refused (Rejection::other_cluster).
  std::string cluster{};
  /// The HMAC key; never sent.
  std::string cookie{};
};

/// Encodes and signs. Never fails.
Bytes encode(const Packet& packet, const Key& key);

/// Bytes an update adds to a packet (exact), so a sender can fill a datagram up to a budget.
size_t encoded_size(const Update& update);
/// Bytes of a packet without its updates (header, body, update count, MAC), exact when the
/// packet carries fewer than 128 updates (the count then takes one byte).
size_t encoded_size_without_updates(const Body& body, const Key& key);

/// Why a packet was refused before decoding.
enum class Rejection : uint8_t {
  /// Authentic, of this cluster and version: decode it.
  none = 0,
  oversized,            // longer than the limit
  malformed,            // too short, or not starting with the magic bytes
  unsupported_version,  // another gossip version
  other_cluster,        // another cluster's packet
  bad_mac,              // the HMAC does not match: wrong cookie, or bytes changed on the way
};

/// "none", "oversized", ...; "unknown" for another value.
const char* to_string(Rejection r);

/// Checks size, magic, version, cluster and HMAC (compared in constant time). Never throws.
Rejection authenticate(std::span<const uint8_t> bytes, const Key& key, size_t max_size);

/// Decodes an authenticated packet (the MAC is skipped, not checked: call authenticate first).
/// Every length is checked against the input; errors are malformed (truncated / trailing bytes)
/// or bad_field (an unknown type or kind, a value out of range). Never throws.
Result<Packet> decode(std::span<const uint8_t> bytes);

}  // namespace otp::protocol::gossip
