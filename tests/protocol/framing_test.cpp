// FrameDecoder and encode_frame: oversized and truncated frames first, then reassembly.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <vector>

#include "otp/protocol/framing.hpp"

namespace otp::protocol {
namespace {

using Body = std::vector<uint8_t>;

Body framed(const Body& body, FrameLimits limits = {}) {
  return encode_frame(body, limits).value();
}

// -- failures ---------------------------------------------------------------------------------

TEST(FrameDecoder, AnOversizedLengthFailsAsSoonAsTheHeaderIsRead) {
  FrameDecoder dec({.max_frame_size = 16});
  const auto header = frame_header(17);
  dec.feed(header);  // no body yet: the length alone is enough to refuse
  auto r = dec.next();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::frame_too_large);
  EXPECT_EQ(r.error().context(), "peer announced a frame of 17 bytes; the maximum is 16");
  EXPECT_TRUE(dec.failed());
}

TEST(FrameDecoder, StaysFailedAndDropsLaterBytes) {
  FrameDecoder dec({.max_frame_size = 4});
  dec.feed(frame_header(0xffffffff));
  EXPECT_FALSE(dec.next().ok());
  dec.feed(framed({1, 2}));
  EXPECT_FALSE(dec.next().ok());
  EXPECT_EQ(dec.buffered(), 0u);
}

TEST(FrameDecoder, ATruncatedFrameYieldsNothingAndStaysBuffered) {
  FrameDecoder dec;
  Body f = framed({1, 2, 3, 4, 5});
  f.pop_back();
  dec.feed(f);
  auto r = dec.next();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value().has_value());
  EXPECT_EQ(dec.buffered(), f.size());  // at end of stream: a truncated frame
}

TEST(FrameDecoder, ATruncatedHeaderYieldsNothing) {
  FrameDecoder dec;
  dec.feed(Body{0, 0, 1});
  EXPECT_FALSE(dec.next().value().has_value());
}

TEST(FrameDecoder, AFrameOfExactlyTheMaximumIsAccepted) {
  FrameDecoder dec({.max_frame_size = 8});
  dec.feed(framed(Body(8, 7), {.max_frame_size = 8}));
  EXPECT_EQ(dec.next().value().value(), Body(8, 7));
}

TEST(EncodeFrame, RefusesABodyAboveTheMaximum) {
  auto r = encode_frame(Body(9), {.max_frame_size = 8});
  EXPECT_EQ(r.error().code(), ErrorCode::frame_too_large);
}

// -- happy paths ------------------------------------------------------------------------------

TEST(FrameHeader, IsFourBytesBigEndian) {
  EXPECT_EQ(frame_header(0x01020304), (std::array<uint8_t, 4>{1, 2, 3, 4}));
}

TEST(FrameDecoder, YieldsEmptyFramesAndFramesInOrder) {
  FrameDecoder dec;
  Body stream = framed({});
  Body second = framed({9, 8});
  stream.insert(stream.end(), second.begin(), second.end());
  dec.feed(stream);
  EXPECT_EQ(dec.next().value().value(), Body{});
  EXPECT_EQ(dec.next().value().value(), (Body{9, 8}));
  EXPECT_FALSE(dec.next().value().has_value());
  EXPECT_EQ(dec.buffered(), 0u);
}

// -- properties -------------------------------------------------------------------------------

RC_GTEST_PROP(FrameDecoderProperty, ReassemblesAnyChunkingOfAnyFrames,
              (const std::vector<std::vector<uint8_t>>& bodies)) {
  Body stream;
  for (const auto& b : bodies) {
    Body f = framed(b);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  FrameDecoder dec;
  std::vector<Body> out;
  size_t at = 0;
  while (at < stream.size()) {
    const auto n = *rc::gen::inRange<size_t>(1, stream.size() - at + 1);
    dec.feed(std::span(stream.data() + at, n));
    at += n;
    while (true) {
      auto r = dec.next();
      RC_ASSERT(r.ok());
      if (!r.value()) break;
      out.push_back(std::move(*r.value()));
    }
  }
  RC_ASSERT(out == bodies);
  RC_ASSERT(dec.buffered() == 0u);
}

RC_GTEST_PROP(FrameDecoderProperty, ArbitraryBytesNeverYieldAFrameAboveTheMaximum,
              (const std::vector<uint8_t>& bytes)) {
  FrameDecoder dec({.max_frame_size = 64});
  dec.feed(bytes);
  size_t consumed = 0;
  while (true) {
    auto r = dec.next();
    if (!r.ok()) {
      RC_ASSERT(r.error().code() == ErrorCode::frame_too_large);
      break;
    }
    if (!r.value()) break;
    RC_ASSERT(r.value()->size() <= 64u);
    consumed += kFrameHeaderSize + r.value()->size();
  }
  const bool all_accounted = dec.failed() ? true : consumed + dec.buffered() == bytes.size();
  RC_ASSERT(all_accounted);
}

}  // namespace
}  // namespace otp::protocol
