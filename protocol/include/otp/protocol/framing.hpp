// Length-prefixed framing: a frame is a 4-byte big-endian length, then that many bytes (one
// encoded Message). Frames above a configured maximum are refused on both sides.
//
// Writing:
// clang-format off
//   auto framed = encode_frame(encode(msg, Codec::msgpack), max);   // Result<Bytes>
//   // or, to write header and body separately (scatter/gather): frame_header(body.size())
// clang-format on
//
// Reading: a FrameDecoder is a pure state machine fed whatever chunks the socket returns, split
// anywhere; it hands out complete frames in order:
// clang-format off
//   FrameDecoder dec({.max_frame_size = 1 << 20});
//   dec.feed(chunk);
//   while (true) {
//     auto f = dec.next();              // Result<std::optional<Bytes>>
//     if (!f) { close(f.error()); break; }     // frame_too_large: the connection must close
//     if (!*f) break;                   // need more bytes
//     handle(**f);
//   }
// clang-format on
// After an error the decoder stays failed (every next() returns the same error) because the byte
// stream can no longer be trusted. An empty frame (length 0) is valid framing; the message decoder
// then rejects its empty body.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "otp/error.hpp"

namespace otp::protocol {

/// Bytes of the length prefix before every frame body.
inline constexpr size_t kFrameHeaderSize = 4;

/// The bound on frames, the same for writing (encode_frame) and reading (FrameDecoder).
struct FrameLimits {
  /// Largest frame body accepted or produced. Bigger means larger messages can cross; smaller
  /// bounds the memory a peer can make us buffer per connection (and the decoded tree, which is
  /// up to ~16x the MessagePack size for tiny values).
  uint32_t max_frame_size = 8 * 1024 * 1024;
};

/// The 4-byte big-endian length prefix for a body of `size` bytes (size <= UINT32_MAX).
std::array<uint8_t, kFrameHeaderSize> frame_header(uint32_t size);

/// header + body, or frame_too_large when body exceeds limits.max_frame_size.
Result<std::vector<uint8_t>> encode_frame(std::span<const uint8_t> body, FrameLimits limits = {});

/// Cuts one connection's byte stream into frames (see above). A plain value: one per connection,
/// used by one thread at a time.
class FrameDecoder {
 public:
  /// limits.max_frame_size bounds every frame it hands out.
  explicit FrameDecoder(FrameLimits limits = {});

  /// Appends received bytes. Bytes fed after a failure are discarded.
  void feed(std::span<const uint8_t> bytes);

  /// The next complete frame's body, nullopt when more bytes are needed, or frame_too_large as
  /// soon as a length prefix above the maximum has been read (before its body arrives).
  Result<std::optional<std::vector<uint8_t>>> next();

  /// True once next() returned an error; the caller must close the connection.
  bool failed() const noexcept { return failed_.has_value(); }
  /// Bytes received but not yet handed out. Non-zero at end of stream means a truncated frame.
  size_t buffered() const noexcept { return buffer_.size() - read_; }

 private:
  FrameLimits limits_;
  std::vector<uint8_t> buffer_;
  size_t read_ = 0;  // bytes of buffer_ already consumed
  std::optional<Error> failed_;
};

}  // namespace otp::protocol
