// The protocol version. Each side's Hello carries the range it speaks; the handshake settles on
// the highest version both speak (see handshake.hpp) or rejects with version_mismatch.
//
// Version history:
// clang-format off
//   1  the first version: Hello/Proof/Reject, the process envelopes of envelope.hpp, ping/pong.
//   2  CallError carries the server's otp::ErrorCode as its numeric id (error_code). A version 2
//      decoder requires the field, so version 1 peers are refused at the handshake
//      (version_mismatch) rather than have their error replies dropped.
//   3  NodeId's creation is 64 bits (microseconds since the epoch, so a restarted node's run
//      orders after its previous one), and the global name messages NameUpdate / NameSync.
//      Version 2 peers would refuse such a creation as out of range: refused at the handshake.
//   4  Hello's hidden flag (hidden nodes, such as otp-ctl), and both sides' flags in the proofs'
//      transcript. Version 3 peers are refused at the handshake (version_mismatch): they would
//      take a hidden peer for a member.
// clang-format on
//
// Within a version, messages may gain fields at their END only (decoders ignore extra trailing
// fields in MessagePack and unknown keys in JSON); anything else needs a new version.
#pragma once

#include <cstdint>

namespace otp::protocol {

/// The newest version this build speaks.
inline constexpr uint32_t kProtocolVersion = 4;
/// The oldest version this build still accepts.
inline constexpr uint32_t kMinProtocolVersion = 4;

}  // namespace otp::protocol
