// libFuzzer target: the byte stream a peer sends, through FrameDecoder (fed in chunks whose sizes
// the input also chooses) and the message decoder in both codecs. Checks: no crash, no exception,
// no frame above the maximum, and whatever decodes re-encodes to a stable encoding.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "fuzz_config.hpp"
#include "otp/protocol/codec.hpp"
#include "otp/protocol/framing.hpp"

using namespace otp::protocol;
using otp::ErrorCode;

namespace {

void check_stable(const Message& m, Codec codec) {
  const Bytes once = encode(m, codec);
  auto again = decode(once, codec);
  if (!again.ok()) std::abort();  // our own encoding must decode
  if (encode(again.value(), codec) != once) std::abort();
}

void on_frame(std::span<const uint8_t> body) {
  for (Codec codec : {Codec::msgpack, Codec::json}) {
    auto m = decode(body, codec);
    if (!m.ok()) {
      if (m.error().context().empty()) std::abort();  // errors must say something
      continue;
    }
    check_stable(m.value(), codec);
    (void)to_json_text(m.value());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // first byte: chunk size for feeding (1..256)
  const size_t chunk = static_cast<size_t>(data[0]) + 1;
  std::span<const uint8_t> rest(data + 1, size - 1);
  FrameDecoder dec({.max_frame_size = fuzz::kMaxFrame});
  while (!rest.empty()) {
    const size_t n = std::min(chunk, rest.size());
    dec.feed(rest.first(n));
    rest = rest.subspan(n);
    while (true) {
      auto f = dec.next();
      if (!f.ok()) {
        if (f.error().code() != ErrorCode::frame_too_large || !dec.failed()) std::abort();
        return 0;
      }
      if (!f.value()) break;
      if (f.value()->size() > fuzz::kMaxFrame) std::abort();
      on_frame(*f.value());
    }
  }
  // the whole input is also tried as one message body
  on_frame(std::span<const uint8_t>(data, size));
  return 0;
}
