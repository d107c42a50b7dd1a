// What the fuzz targets and the seed-corpus generator share: the handshake configs (fixed cookie,
// deterministic challenges, so a recorded transcript replays into a fuzzed handshake) and the
// input format (a stream of length-prefixed frames, MessagePack bodies).
#pragma once

#include <optional>

#include "otp/protocol/framing.hpp"
#include "otp/protocol/handshake.hpp"

namespace otp::protocol::fuzz {

inline constexpr uint32_t kMaxFrame = 64 * 1024;

/// Challenge n has every byte = seed + n, so the two sides never collide.
inline ChallengeSource deterministic_challenges(uint8_t seed) {
  return [seed, n = uint8_t{0}]() mutable -> std::optional<Challenge> {
    Challenge c{};
    c.fill(static_cast<uint8_t>(seed + n++));
    return c;
  };
}

inline HandshakeOptions config(bool initiator) {
  return HandshakeOptions{.cluster = "fuzz",
                          .self = initiator ? NodeId{"init", "host", 1} : NodeId{"acc", "host", 2},
                          .cookie = "fuzz-cookie",
                          .challenges = deterministic_challenges(initiator ? 0x10 : 0x80)};
}

}  // namespace otp::protocol::fuzz
