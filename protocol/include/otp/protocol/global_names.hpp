// The messages of the global name registry (otp/global.hpp): a node tells every connected node
// of each change to the names its own processes hold (NameUpdate), and on every link up sends the
// other end all of them (NameSync, anti-entropy). Only a name's owner node sends it, so the
// sender of a message is the node of every claim in it (pids are bare ids on the sender's node).
//
// clang-format off
//   NameUpdate{.kind = NameUpdateKind::add,
//              .claim = {.name = "counter", .pid = 42, .stamp_ms = 1700000000123, .metadata = ""}}
//   NameSync{.claims = {...}, .last = true}   // a big table goes in several parts, last one true
// clang-format on
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "otp/protocol/envelope.hpp"

namespace otp::protocol {

/// One name held by a process of the sending node.
struct NameClaim {
  /// The global name.
  std::string name;
  /// The holder's process id on the sending node.
  uint64_t pid = 0;
  /// When it registered, on the sender's hybrid logical clock: wall-clock ms, then a counter.
  uint64_t stamp_ms = 0;
  /// The hybrid logical clock's counter within stamp_ms.
  uint32_t stamp_logical = 0;
  /// Serialized JSON, "" for none.
  std::string metadata;
  friend bool operator==(const NameClaim&, const NameClaim&) = default;
};

/// What a NameUpdate says. Wire ids: ONLY APPEND.
enum class NameUpdateKind : uint8_t {
  add = 0,     // the claim is made (or, for a claim the receiver holds, its metadata changed)
  remove = 1,  // the claim is given up; stamp: when; metadata empty
};

/// One change to a name the sender's process holds, sent in the order it happened.
struct NameUpdate {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::name_update;
  /// Made or given up.
  NameUpdateKind kind = NameUpdateKind::add;
  /// The claim.
  NameClaim claim;
  friend bool operator==(const NameUpdate&, const NameUpdate&) = default;
};

/// Every name the sender's processes hold, sent when a link comes up: the receiver replaces what
/// it knew of the sender's names with these. A table larger than a frame goes in several parts,
/// in order on the link; the receiver applies them together when the one with `last` arrives.
struct NameSync {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::name_sync;
  /// This part's claims.
  std::vector<NameClaim> claims;
  /// The last part of the sync.
  bool last = true;
  friend bool operator==(const NameSync&, const NameSync&) = default;
};

}  // namespace otp::protocol
