// The connection handshake as a pure state machine per side: feed it decoded messages, it returns
// the messages to send and where the handshake stands. No sockets, no clock (the transport owns
// the timeout), randomness injected.
//
// clang-format off
//   initiator                                   acceptor
//   Hello{versions, cluster, node A, cA, hA} ---->  checks versions and cluster (else Reject)
//                                           <----  Hello{versions, cluster, node B, cB, hB}
//   checks versions and cluster
//   Proof{HMAC(cookie, "initiator", T)}     ---->  checks the MAC in constant time (else Reject)
//                                           <----  Proof{HMAC(cookie, "acceptor", T)}; established
//   checks the MAC (else Reject); established
// clang-format on
//
// T is the transcript: cluster, both NodeIds, both challenges, both hidden flags (hA, hB: the
// side is a hidden node, see Hello::hidden), the negotiated version. The
// acceptor proves itself only after the initiator did, both challenges are fresh, and the role
// label differs per side, so a proof can be neither replayed nor reflected. The cookie never
// crosses the wire, and a hidden flag flipped on the way makes the proofs differ (bad_mac).
//
// clang-format off
//   Handshake hs = Handshake::initiator(config);      // config.challenges defaults to RAND_bytes
//   for (auto& m : hs.start().send) write(m);
//   on each decoded message m:  auto step = hs.on_message(m);  write(step.send...);
//   on a frame that does not decode: auto step = hs.on_decode_error(err);
//   step.outcome.state: in_progress / established (peer, version) / rejected (reason, detail)
// clang-format on
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "otp/error.hpp"
#include "otp/protocol/handshake_messages.hpp"
#include "otp/protocol/message.hpp"
#include "otp/protocol/version.hpp"

namespace otp::protocol {

/// Produces a fresh challenge, or nullopt when no randomness is available.
using ChallengeSource = std::function<std::optional<Challenge>()>;

/// The production source: OpenSSL's RAND_bytes.
std::optional<Challenge> random_challenge();

/// One side's identity, secret and protocol versions (the transport fills it from its options).
struct HandshakeOptions {
  std::string cluster;  // both sides must name the same cluster
  NodeId self;          // this node run
  std::string cookie;   // the shared secret; never sent
  /// This side is a hidden node (Hello::hidden): a tool that talks to nodes without joining.
  bool hidden = false;
  /// The oldest version this side accepts.
  uint32_t min_version = kMinProtocolVersion;
  /// The newest version this side speaks.
  uint32_t max_version = kProtocolVersion;
  ChallengeSource challenges = random_challenge;  // tests inject a deterministic one
};

/// Where a handshake stands.
enum class HandshakeState { in_progress, established, rejected };

/// "in_progress", "established", "rejected".
const char* to_string(HandshakeState state);

/// Where a handshake stands and, once it is over, how it ended.
struct HandshakeOutcome {
  /// in_progress until the handshake is established or rejected; then it never changes.
  HandshakeState state = HandshakeState::in_progress;
  NodeId peer;                                    // established: who is on the other end
  uint32_t version = 0;                           // established: the negotiated protocol version
  bool peer_hidden = false;                       // established: the peer is a hidden node
  RejectReason reason = RejectReason::malformed;  // rejected: why
  std::string detail;                             // rejected: context for the log
  bool by_peer = false;  // rejected: the peer sent the Reject (else we refused)

  /// "established with a@h#1 (version 4)", "established with t@h#2, hidden (version 4)",
  /// "rejected by peer: bad_mac: ...".
  std::string to_string() const;
};

/// What to write to the peer, and where the handshake stands after this step.
struct HandshakeStep {
  /// Messages to write to the peer, in order (often none).
  std::vector<Message> send;
  /// Where the handshake stands after this step.
  HandshakeOutcome outcome;
};

/// One side of one connection's handshake (see above). Not thread-safe: the connection drives it.
class Handshake {
 public:
  /// The side that dialed (initiator) or accepted (acceptor) the connection.
  enum class Role { initiator, acceptor };

  // -- factories --
  /// The dialing side: start() sends its Hello.
  static Handshake initiator(HandshakeOptions config);
  /// The accepting side: it waits for the initiator's Hello and answers it.
  static Handshake acceptor(HandshakeOptions config);

  // -- driving --
  /// The initiator's Hello (call it once, before on_message); nothing for the acceptor, which
  /// waits for the initiator's Hello from the start.
  HandshakeStep start();
  /// Feeds one decoded message from the peer. Once established or rejected, further messages
  /// are not the handshake's: they are ignored (nothing to send, outcome unchanged).
  HandshakeStep on_message(const Message& message);
  /// A frame from the peer did not decode: Reject(malformed), rejected.
  HandshakeStep on_decode_error(const Error& error);

  // -- state --
  /// Which side this is.
  Role role() const noexcept { return role_; }
  /// Where the handshake stands now (as the last step returned it).
  const HandshakeOutcome& outcome() const noexcept { return outcome_; }
  /// Established or rejected: later messages are not the handshake's.
  bool done() const noexcept { return outcome_.state != HandshakeState::in_progress; }
  /// Whom the peer's Hello names, once that Hello passed this side's checks (empty before): a
  /// claim, proven only once established (outcome().peer). With it a side can refuse a peer
  /// before it sends its own Hello (acceptor) or Proof (initiator), so that the peer never sees
  /// the handshake complete (the transport's fault seam does).
  const NodeId& claimed_peer() const noexcept { return peer_; }

 private:
  enum class Phase { start, await_hello, await_proof, done };

  Handshake(Role role, HandshakeOptions config);
  HandshakeStep on_hello(const Hello& hello);
  HandshakeStep on_proof(const Proof& proof);
  HandshakeStep reject(RejectReason reason, std::string detail);
  HandshakeStep step(std::vector<Message> send);
  std::optional<Reject> check_hello(const Hello& hello) const;
  std::optional<Mac> proof_of(Role prover) const;
  /// This side's Hello (with mine_ as its challenge).
  Hello own_hello() const;

  Role role_;
  HandshakeOptions config_;
  Phase phase_;
  HandshakeOutcome outcome_;
  Challenge mine_{};    // the challenge we sent
  Challenge theirs_{};  // the challenge the peer sent
  NodeId peer_;
  bool peer_hidden_ = false;
  uint32_t version_ = 0;
};

}  // namespace otp::protocol
