// Writes the seed corpus for the fuzz targets: valid frame streams of every message kind, and
// handshake transcripts recorded with the fuzz configs (so the fuzzer begins on the happy path).
// Run by hand after changing the wire format: build/fuzz/make_corpus tests/fuzz/corpus
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_config.hpp"
#include "otp/protocol/codec.hpp"
#include "otp/protocol/version.hpp"

using namespace otp::protocol;
using otp::ErrorCode;
namespace fs = std::filesystem;

namespace {

Bytes frames(const std::vector<Message>& messages, Codec codec = Codec::msgpack) {
  Bytes out;
  for (const auto& m : messages) {
    auto f = encode_frame(encode(m, codec)).value();
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

void write(const fs::path& dir, const std::string& name, uint8_t first, const Bytes& body) {
  fs::create_directories(dir);
  std::ofstream f(dir / name, std::ios::binary);
  f.put(static_cast<char>(first));
  f.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_corpus <corpus dir>\n";
    return 2;
  }
  const fs::path root = argv[1];
  const NodeId n{"a", "host", 1};
  const Pid p{n, 1};
  const Ref r{n, 2};
  const Payload pl{"counter.get", {{"k", {1, 2.5, "x", nullptr, true}}}};
  const std::vector<Message> all = {
      Hello{kProtocolVersion, kProtocolVersion, "c", n, Challenge{1}},
      Hello{kProtocolVersion, kProtocolVersion, "c", n, Challenge{1}, true},  // a hidden node
      Proof{Mac{2}},
      Reject{RejectReason::bad_mac, "no"},
      Send{p, std::string("counter"), pl},
      Call{p, p, r, pl},
      Reply{p, r, pl},
      Reply{p, r,
            CallError{CallErrorCode::exit, "d", {ReasonKind::error, "boom"}, ErrorCode::exit}},
      Reply{p, r, CallError{CallErrorCode::error, "e", {}, ErrorCode::bad_address}},
      Cast{p, std::string("c"), pl},
      Monitor{p, p, r},
      Demonitor{p, p, r},
      Down{p, r, p, {ReasonKind::noconnection, ""}},
      Link{p, p},
      Unlink{p, p},
      Exit{p, p, {ReasonKind::kill, ""}, false},
      Ping{1},
      Pong{1},
      NameUpdate{NameUpdateKind::add, {"counter", 1, 1'700'000'000'123, 0, R"({"v":1})"}},
      NameUpdate{NameUpdateKind::remove, {"zähler", 1, 1'700'000'000'124, 2, ""}},
      NameSync{{{"a", 1, 1, 0, ""}, {"b", 2, 1, 1, "[1,2]"}, {"c", 3, 2, 0, "null"}}, false},
      NameSync{{}, true}};
  const fs::path fm = root / "frame_message";
  for (size_t i = 0; i < all.size(); ++i) {
    write(fm, "msgpack-" + std::to_string(i), 255, frames({all[i]}));
    write(fm, "json-" + std::to_string(i), 7, frames({all[i]}, Codec::json));
  }
  write(fm, "all-chunked", 3, frames(all));

  // Handshake transcripts: run both sides, record what each received.
  auto a = Handshake::initiator(fuzz::config(true));
  auto b = Handshake::acceptor(fuzz::config(false));
  std::vector<Message> to_a, to_b;
  auto s = a.start();
  to_b.insert(to_b.end(), s.send.begin(), s.send.end());
  s = b.on_message(to_b.back());
  to_a.insert(to_a.end(), s.send.begin(), s.send.end());
  s = a.on_message(to_a.back());
  to_b.insert(to_b.end(), s.send.begin(), s.send.end());
  s = b.on_message(to_b.back());
  to_a.insert(to_a.end(), s.send.begin(), s.send.end());
  (void)a.on_message(to_a.back());
  if (!a.done() || !b.done() || a.outcome().state != HandshakeState::established) {
    std::cerr << "handshake did not establish: " << a.outcome().to_string() << "\n";
    return 1;
  }
  // The recorded transcripts must replay into fresh state machines (the fuzz targets' start).
  auto replay = [](Handshake h, const std::vector<Message>& in) {
    (void)h.start();
    for (const auto& m : in) (void)h.on_message(m);
    return h.outcome().state == HandshakeState::established;
  };
  if (!replay(Handshake::acceptor(fuzz::config(false)), to_b) ||
      !replay(Handshake::initiator(fuzz::config(true)), to_a)) {
    std::cerr << "recorded handshake does not replay\n";
    return 1;
  }
  const fs::path hs = root / "handshake";
  write(hs, "acceptor-happy", 0, frames(to_b));  // we are the acceptor, fed the initiator's side
  write(hs, "initiator-happy", 1, frames(to_a));
  write(hs, "acceptor-reject", 0, frames({Reject{RejectReason::cluster_mismatch, "x"}}));
  write(hs, "acceptor-ping", 0, frames({Ping{1}}));
  // A peer that sends its names before (or right after) the handshake.
  write(hs, "acceptor-name-sync", 0, frames({NameSync{{{"a", 1, 1, 0, ""}}, true}}));
  auto then_names = to_a;
  then_names.push_back(NameUpdate{NameUpdateKind::add, {"a", 1, 1, 0, ""}});
  write(hs, "initiator-happy-then-names", 1, frames(then_names));
  write(hs, "acceptor-garbage", 0, Bytes{0, 0, 0, 3, 0xc1, 0xc1, 0xc1});
  // A hidden initiator's happy path (otp-ctl's), and a version 3 Hello (no hidden field).
  {
    auto hidden_config = fuzz::config(true);
    hidden_config.hidden = true;
    auto h = Handshake::initiator(hidden_config);
    auto acc = Handshake::acceptor(fuzz::config(false));
    std::vector<Message> to_acc;
    auto step = h.start();
    to_acc.insert(to_acc.end(), step.send.begin(), step.send.end());
    step = h.on_message(acc.on_message(to_acc.back()).send.at(0));
    to_acc.insert(to_acc.end(), step.send.begin(), step.send.end());
    if (acc.on_message(to_acc.back()).outcome.state != HandshakeState::established ||
        !acc.outcome().peer_hidden) {
      std::cerr << "hidden handshake did not establish: " << acc.outcome().to_string() << "\n";
      return 1;
    }
    write(hs, "acceptor-hidden-happy", 0, frames(to_acc));
    auto v3 = nlohmann::json::parse(
        to_json_text(Hello{3, 3, "fuzz", NodeId{"init", "host", 1}, Challenge{7}}));
    v3.erase("hidden");
    write(hs, "acceptor-version-3", 0, frames({from_json_text(v3.dump()).value()}));
  }
  std::cout << "wrote corpus to " << root << "\n";
  return 0;
}
