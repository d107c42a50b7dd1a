#include "otp/protocol/handshake.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include "crypto.hpp"

namespace otp::protocol {
namespace {

/// Appends a length-prefixed field to the MAC transcript, so fields can not run into each other.
void put(std::vector<uint8_t>& t, std::span<const uint8_t> bytes) {
  const auto n = static_cast<uint32_t>(bytes.size());
  for (int shift = 24; shift >= 0; shift -= 8) t.push_back(static_cast<uint8_t>(n >> shift));
  t.insert(t.end(), bytes.begin(), bytes.end());
}
void put(std::vector<uint8_t>& t, std::string_view s) {
  put(t, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

std::string versions(uint32_t lo, uint32_t hi) {
  return std::to_string(lo) + ".." + std::to_string(hi);
}

}  // namespace

const char* to_string(HandshakeState state) {
  switch (state) {
    case HandshakeState::in_progress:
      return "in_progress";
    case HandshakeState::established:
      return "established";
    case HandshakeState::rejected:
      return "rejected";
  }
  return "unknown";
}

std::string HandshakeOutcome::to_string() const {
  switch (state) {
    case HandshakeState::in_progress:
      return "in progress";
    case HandshakeState::established:
      return "established with " + peer.to_string() + (peer_hidden ? ", hidden" : "") +
             " (version " + std::to_string(version) + ")";
    case HandshakeState::rejected:
      return std::string(by_peer ? "rejected by peer: " : "rejected: ") +
             protocol::to_string(reason) + (detail.empty() ? "" : ": " + detail);
  }
  return "unknown";
}

Handshake::Handshake(Role role, HandshakeOptions config)
    : role_(role),
      config_(std::move(config)),
      // The acceptor waits for a Hello from the start; the initiator must send its own first.
      phase_(role == Role::acceptor ? Phase::await_hello : Phase::start) {}

Handshake Handshake::initiator(HandshakeOptions config) {
  return Handshake(Role::initiator, std::move(config));
}
Handshake Handshake::acceptor(HandshakeOptions config) {
  return Handshake(Role::acceptor, std::move(config));
}

HandshakeStep Handshake::step(std::vector<Message> send) {
  return HandshakeStep{std::move(send), outcome_};
}

HandshakeStep Handshake::reject(RejectReason reason, std::string detail) {
  phase_ = Phase::done;
  outcome_.state = HandshakeState::rejected;
  outcome_.reason = reason;
  outcome_.detail = detail;
  outcome_.by_peer = false;
  return step({Reject{reason, std::move(detail)}});
}

HandshakeStep Handshake::start() {
  if (role_ == Role::acceptor || phase_ != Phase::start) return step({});
  phase_ = Phase::await_hello;
  auto challenge = config_.challenges ? config_.challenges() : std::nullopt;
  if (!challenge) return reject(RejectReason::internal_error, "no randomness for a challenge");
  mine_ = *challenge;
  return step({own_hello()});
}

HandshakeStep Handshake::on_decode_error(const Error& error) {
  if (phase_ == Phase::done) return step({});
  return reject(RejectReason::malformed, "undecodable message: " + error.to_string());
}

HandshakeStep Handshake::on_message(const Message& message) {
  if (phase_ == Phase::done) return step({});
  if (const auto* r = std::get_if<Reject>(&message)) {
    phase_ = Phase::done;
    outcome_.state = HandshakeState::rejected;
    outcome_.reason = r->reason;
    outcome_.detail = r->detail;
    outcome_.by_peer = true;
    return step({});
  }
  if (phase_ == Phase::await_hello) {
    if (const auto* hello = std::get_if<Hello>(&message)) return on_hello(*hello);
  } else if (phase_ == Phase::await_proof) {
    if (const auto* proof = std::get_if<Proof>(&message)) return on_proof(*proof);
  }
  const char* expected = phase_ == Phase::await_hello   ? "hello"
                         : phase_ == Phase::await_proof ? "proof"
                                                        : "nothing before start()";
  return reject(RejectReason::malformed, std::string("unexpected ") + to_string(type_of(message)) +
                                             ", expected " + expected);
}

std::optional<Reject> Handshake::check_hello(const Hello& hello) const {
  const uint32_t lo = std::max(config_.min_version, hello.min_version);
  const uint32_t hi = std::min(config_.max_version, hello.max_version);
  if (hello.min_version > hello.max_version || lo > hi) {
    return Reject{RejectReason::version_mismatch,
                  "we speak versions " + versions(config_.min_version, config_.max_version) +
                      ", the peer " + versions(hello.min_version, hello.max_version)};
  }
  if (hello.cluster != config_.cluster) {
    return Reject{RejectReason::cluster_mismatch, "we are in cluster '" + config_.cluster +
                                                      "', the peer in '" + hello.cluster + "'"};
  }
  if (hello.node.name.empty() || hello.node.host.empty()) {
    return Reject{RejectReason::malformed, "hello without a node name or host"};
  }
  return std::nullopt;
}

HandshakeStep Handshake::on_hello(const Hello& hello) {
  if (auto r = check_hello(hello)) return reject(r->reason, std::move(r->detail));
  peer_ = hello.node;
  peer_hidden_ = hello.hidden;
  theirs_ = hello.challenge;
  version_ = std::min(config_.max_version, hello.max_version);
  phase_ = Phase::await_proof;
  if (role_ == Role::acceptor) {
    auto challenge = config_.challenges ? config_.challenges() : std::nullopt;
    if (!challenge) return reject(RejectReason::internal_error, "no randomness for a challenge");
    mine_ = *challenge;
    if (mine_ == theirs_) {
      return reject(RejectReason::malformed, "the peer's challenge equals ours: a reflection?");
    }
    return step({own_hello()});
  }
  // Initiator: the acceptor introduced itself; prove we know the cookie.
  if (mine_ == theirs_) {
    return reject(RejectReason::malformed, "the peer's challenge equals ours: a reflection?");
  }
  auto proof = proof_of(Role::initiator);
  if (!proof) return reject(RejectReason::internal_error, "HMAC-SHA256 failed");
  return step({Proof{*proof}});
}

HandshakeStep Handshake::on_proof(const Proof& proof) {
  const Role prover = role_ == Role::acceptor ? Role::initiator : Role::acceptor;
  auto expected = proof_of(prover);
  if (!expected) return reject(RejectReason::internal_error, "HMAC-SHA256 failed");
  if (!detail::macs_equal(*expected, proof.mac)) {
    return reject(RejectReason::bad_mac,
                  "the proof of " + peer_.to_string() +
                      " does not match: different cookies, or a replayed proof");
  }
  std::vector<Message> send;
  if (role_ == Role::acceptor) {
    auto mine = proof_of(Role::acceptor);
    if (!mine) return reject(RejectReason::internal_error, "HMAC-SHA256 failed");
    send.push_back(Proof{*mine});
  }
  phase_ = Phase::done;
  outcome_.state = HandshakeState::established;
  outcome_.peer = peer_;
  outcome_.version = version_;
  outcome_.peer_hidden = peer_hidden_;
  return step(std::move(send));
}

Hello Handshake::own_hello() const {
  return Hello{config_.min_version, config_.max_version, config_.cluster, config_.self, mine_,
               config_.hidden};
}

std::optional<Mac> Handshake::proof_of(Role prover) const {
  const bool we_initiated = role_ == Role::initiator;
  const NodeId& initiator = we_initiated ? config_.self : peer_;
  const NodeId& acceptor = we_initiated ? peer_ : config_.self;
  const Challenge& c_init = we_initiated ? mine_ : theirs_;
  const Challenge& c_acc = we_initiated ? theirs_ : mine_;
  const bool h_init = we_initiated ? config_.hidden : peer_hidden_;
  const bool h_acc = we_initiated ? peer_hidden_ : config_.hidden;
  std::vector<uint8_t> t;
  put(t, prover == Role::initiator ? "otp-cluster handshake: initiator"
                                   : "otp-cluster handshake: acceptor");
  put(t, std::to_string(version_));
  put(t, config_.cluster);
  put(t, initiator.to_string());
  put(t, acceptor.to_string());
  put(t, c_init);
  put(t, c_acc);
  put(t, h_init ? "hidden" : "visible");
  put(t, h_acc ? "hidden" : "visible");
  return detail::hmac_sha256(config_.cookie, t);
}

}  // namespace otp::protocol
