// The three handshake messages: Hello (each side introduces itself with a fresh challenge), Proof
// (an HMAC-SHA256 over the shared cookie and the handshake's transcript), Reject (why the
// connection is refused). The cookie itself never crosses the wire. handshake.hpp drives them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "otp/protocol/envelope.hpp"
#include "otp/protocol/node_id.hpp"

namespace otp::protocol {

/// 32 random bytes; a fresh one per handshake and side.
using Challenge = std::array<uint8_t, 32>;
/// An HMAC-SHA256.
using Mac = std::array<uint8_t, 32>;

/// "I am node, of cluster, I speak versions [min_version, max_version], prove you know the cookie
/// by MACing my challenge" (and "I am hidden": a tool such as otp-ctl, not a member).
struct Hello {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::hello;
  /// The oldest protocol version the sender speaks.
  uint32_t min_version = 0;
  /// The newest protocol version the sender speaks.
  uint32_t max_version = 0;
  /// The sender's cluster: another one is refused with cluster_mismatch.
  std::string cluster;
  /// The sender's node run.
  NodeId node;
  /// Fresh random bytes the peer's Proof must cover.
  Challenge challenge{};
  /// The sender is a hidden node (version 4): the receiver links to it for messages only, lists
  /// it in no nodes(), reports no nodeup / nodedown and shares no global names with it. Covered
  /// by both proofs, so nobody on the way can flip it. Optional on the wire (absent: false), so
  /// a version 3 Hello still decodes and is refused for its version, not as malformed.
  bool hidden = false;
  friend bool operator==(const Hello&, const Hello&) = default;
};

/// HMAC-SHA256(cookie, role label, cluster, both NodeIds, both challenges): see handshake.hpp.
struct Proof {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::proof;
  /// The MAC; the receiver recomputes it and compares in constant time.
  Mac mac{};
  friend bool operator==(const Proof&, const Proof&) = default;
};

/// Why a handshake was refused. ONLY APPEND.
enum class RejectReason : uint8_t {
  version_mismatch = 0,  // no protocol version both sides speak
  cluster_mismatch = 1,  // the peer belongs to another cluster
  bad_mac = 2,           // the proof does not match: wrong cookie, or a replayed proof
  malformed = 3,         // an undecodable or unexpected message, or invalid Hello fields
  internal_error = 4,    // this side could not go on (e.g. no randomness available)
};

/// "version_mismatch", "bad_mac", ...: the name in the JSON codec; "unknown" for another value.
const char* to_string(RejectReason reason);
/// The reason named name; nullopt for a name this version does not know.
std::optional<RejectReason> reject_reason_from_string(std::string_view name);

/// Refuses the handshake and says why; the sender closes the connection once it is written.
struct Reject {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::reject;
  /// Why the sender refuses.
  RejectReason reason = RejectReason::malformed;
  std::string detail;  // for the peer's log, e.g. "we speak versions 1..1, you 2..3"
  friend bool operator==(const Reject&, const Reject&) = default;
};

}  // namespace otp::protocol
