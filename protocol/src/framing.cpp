#include "otp/protocol/framing.hpp"

#include <string>

namespace otp::protocol {

std::array<uint8_t, kFrameHeaderSize> frame_header(uint32_t size) {
  return {static_cast<uint8_t>(size >> 24), static_cast<uint8_t>(size >> 16),
          static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)};
}

Result<std::vector<uint8_t>> encode_frame(std::span<const uint8_t> body, FrameLimits limits) {
  if (body.size() > limits.max_frame_size) {
    return Error{ErrorCode::frame_too_large, "frame of " + std::to_string(body.size()) +
                                                 " bytes exceeds the maximum of " +
                                                 std::to_string(limits.max_frame_size)};
  }
  const auto header = frame_header(static_cast<uint32_t>(body.size()));
  std::vector<uint8_t> out;
  out.reserve(header.size() + body.size());
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

FrameDecoder::FrameDecoder(FrameLimits limits) : limits_(limits) {}

void FrameDecoder::feed(std::span<const uint8_t> bytes) {
  if (failed_) return;
  // Drop consumed bytes before growing, so the buffer holds at most one frame plus one chunk.
  if (read_ > 0 && (read_ == buffer_.size() || read_ >= buffer_.size() / 2)) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(read_));
    read_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<std::vector<uint8_t>>> FrameDecoder::next() {
  if (failed_) return *failed_;
  const size_t available = buffer_.size() - read_;
  if (available < kFrameHeaderSize) return std::optional<std::vector<uint8_t>>{};
  const uint8_t* p = buffer_.data() + read_;
  const uint32_t size = static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
                        static_cast<uint32_t>(p[2]) << 8 | static_cast<uint32_t>(p[3]);
  if (size > limits_.max_frame_size) {
    failed_ = Error{ErrorCode::frame_too_large,
                    "peer announced a frame of " + std::to_string(size) +
                        " bytes; the maximum is " + std::to_string(limits_.max_frame_size)};
    buffer_.clear();
    buffer_.shrink_to_fit();
    read_ = 0;
    return *failed_;
  }
  if (available - kFrameHeaderSize < size) return std::optional<std::vector<uint8_t>>{};
  const auto body = buffer_.begin() + static_cast<std::ptrdiff_t>(read_ + kFrameHeaderSize);
  std::vector<uint8_t> frame(body, body + size);
  read_ += kFrameHeaderSize + size;
  if (read_ == buffer_.size()) {
    buffer_.clear();
    read_ = 0;
  }
  return std::optional<std::vector<uint8_t>>{std::move(frame)};
}

}  // namespace otp::protocol
