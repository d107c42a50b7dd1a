// What name-table cores send each other, as plain values: an Update (one name added or removed
// by its owner's node) and a Sync (every name a node owns, sent when a link comes up). Only a
// name's owner node ever sends it, so a message's sender is the owner of every claim in it.
//
// clang-format off
//   Message m = Update{UpdateKind::add, Claim{"counter", pid, stamp, R"({"v":1})"}};
//   std::vector<uint8_t> wire = encode(m);
//   std::optional<Message> back = decode(wire, pid.node);   // the sender, from the link
// clang-format on
//
// On the wire they are protocol::NameUpdate and protocol::NameSync (otp/protocol/global_names.hpp):
// to_wire / from_wire convert, encode / decode go through the protocol's codec.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "otp/global/hlc.hpp"
#include "otp/protocol/ids.hpp"
#include "otp/protocol/message.hpp"

namespace otp::global {

/// Optional metadata per name: a small JSON value, serialized ("" for none). Replicated with the
/// name, returned by lookups, never interpreted by the table (a user resolver may read it).
using Metadata = std::string;

/// One node's claim that `owner` holds `name`, made at `stamp` on the owner's node.
struct Claim {
  /// The global name.
  std::string name;
  /// The process that holds it; its node is the node that sends the claim.
  protocol::Pid owner{};
  /// When the owner's node registered it: by default the earlier claim wins a conflict.
  Stamp stamp{};
  /// The name's metadata ("" for none).
  Metadata metadata{};

  friend bool operator==(const Claim&, const Claim&) = default;
};

/// "counter -> <a@h#1.42> @1700000000123.0", then the metadata if any: for logs and tests.
std::ostream& operator<<(std::ostream& os, const Claim& c);

/// What an Update says. Wire ids: ONLY APPEND.
enum class UpdateKind : uint8_t {
  add = 0,     // the sender's process `claim.owner` registered `claim.name`; if the receiver
               // holds that claim already (same owner and stamp): its metadata changed
  remove = 1,  // it no longer holds it (unregistered, exited, lost a conflict); stamp: when
};

/// "add" or "remove"; "?" for another value.
const char* to_string(UpdateKind kind);

/// One change to a name the sender owns, sent to every connected node in the order it happened.
struct Update {
  /// Whether the claim is made (or its metadata changed) or given up.
  UpdateKind kind = UpdateKind::add;
  Claim claim{};  // remove: name, owner and the stamp of the removal; no metadata

  friend bool operator==(const Update&, const Update&) = default;
};

/// Every name the sender owns, sent to a peer when their link comes up (anti-entropy): the
/// receiver replaces whatever it knew about the sender's names with this.
struct Sync {
  /// Every name the sender's processes hold, each claim owned by one of them.
  std::vector<Claim> claims;

  friend bool operator==(const Sync&, const Sync&) = default;
};

/// What one name-table core sends another.
using Message = std::variant<Update, Sync>;

/// The wire form (protocol::NameUpdate or protocol::NameSync, last part) of a message.
protocol::Message to_wire(const Message& message);
/// The claim of a wire message from `sender` (the node at the other end of the link, the owner
/// node of every claim in it).
Claim from_wire(const protocol::NameClaim& claim, const protocol::NodeId& sender);
/// An Update from its wire form.
Update from_wire(const protocol::NameUpdate& update, const protocol::NodeId& sender);

/// The bytes of message on the wire (protocol::encode of to_wire, MessagePack): what the
/// simulator counts.
std::vector<uint8_t> encode(const Message& message);
/// The message, or nothing if the bytes are not a NameUpdate or a NameSync (never throws).
std::optional<Message> decode(std::span<const uint8_t> bytes, const protocol::NodeId& sender);

}  // namespace otp::global
