// The protocol version. Each side's Hello carries the range it speaks; the handshake settles on
// the highest version both speak (see handshake.hpp) or rejects with version_mismatch.
//
// Version history:
//   1  the first version: Hello/Proof/Reject, the process envelopes of envelope.hpp, ping/pong.
//
// Within a version, messages may gain fields at their END only (decoders ignore extra trailing
// fields in MessagePack and unknown keys in JSON); anything else needs a new version.
#pragma once

#include <cstdint>

namespace otp::protocol {

/// The newest version this build speaks.
inline constexpr uint32_t kProtocolVersion = 1;
/// The oldest version this build still accepts.
inline constexpr uint32_t kMinProtocolVersion = 1;

}  // namespace otp::protocol
