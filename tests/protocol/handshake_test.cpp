// The handshake state machines: every way to be refused first, then the way in.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "generators.hpp"
#include "otp/protocol/codec.hpp"
#include "otp/protocol/handshake.hpp"

namespace otp::protocol {
namespace {

/// Challenges 1, 2, 3, ... (first byte), so tests are deterministic.
ChallengeSource counting_challenges(uint8_t first) {
  auto next = std::make_shared<uint8_t>(first);
  return [next]() -> std::optional<Challenge> {
    Challenge c{};
    c[0] = (*next)++;
    return c;
  };
}

HandshakeOptions config(std::string name, uint8_t seed, std::string cookie = "secret",
                        std::string cluster = "prod") {
  return HandshakeOptions{.cluster = std::move(cluster),
                          .self = NodeId{std::move(name), "host", 1},
                          .cookie = std::move(cookie),
                          .challenges = counting_challenges(seed)};
}

/// Shuttles messages (through the MessagePack codec, as the transport will) until both sides are
/// done or nothing is left to deliver. on_the_way (a man in the middle) may change each message.
void run(Handshake& a, Handshake& b, const std::function<void(Message&)>& on_the_way = {}) {
  std::deque<std::pair<Handshake*, Message>> wire;
  auto post = [&](Handshake* to, const HandshakeStep& s) {
    for (const auto& m : s.send) {
      auto decoded = decode(encode(m, Codec::msgpack), Codec::msgpack);
      ASSERT_TRUE(decoded.ok()) << decoded.error();
      if (on_the_way) on_the_way(decoded.value());
      wire.emplace_back(to, decoded.value());
    }
  };
  post(&b, a.start());
  post(&a, b.start());
  while (!wire.empty()) {
    auto [to, m] = std::move(wire.front());
    wire.pop_front();
    post(to == &a ? &b : &a, to->on_message(m));
  }
}

// -- refusals ---------------------------------------------------------------------------------

TEST(Handshake, AWrongCookieIsRejectedAsBadMacOnBothSides) {
  auto a = Handshake::initiator(config("a", 1, "secret"));
  auto b = Handshake::acceptor(config("b", 100, "guess"));
  run(a, b);
  EXPECT_EQ(b.outcome().state, HandshakeState::rejected);
  EXPECT_EQ(b.outcome().reason, RejectReason::bad_mac);
  EXPECT_FALSE(b.outcome().by_peer);
  EXPECT_EQ(a.outcome().state, HandshakeState::rejected);
  EXPECT_EQ(a.outcome().reason, RejectReason::bad_mac);
  EXPECT_TRUE(a.outcome().by_peer);
}

TEST(Handshake, TheCookieNeverCrossesTheWire) {
  auto a = Handshake::initiator(config("a", 1, "very-secret-cookie"));
  auto b = Handshake::acceptor(config("b", 100, "very-secret-cookie"));
  std::vector<Message> seen;
  for (const auto& m : a.start().send) seen.push_back(m);
  auto s1 = b.on_message(seen.back());
  seen.insert(seen.end(), s1.send.begin(), s1.send.end());
  auto s2 = a.on_message(seen.back());
  seen.insert(seen.end(), s2.send.begin(), s2.send.end());
  auto s3 = b.on_message(seen.back());
  seen.insert(seen.end(), s3.send.begin(), s3.send.end());
  ASSERT_EQ(seen.size(), 4u);
  for (const auto& m : seen) {
    EXPECT_EQ(to_json_text(m).find("very-secret-cookie"), std::string::npos);
    const Bytes wire = encode(m, Codec::msgpack);
    EXPECT_EQ(std::string(wire.begin(), wire.end()).find("very-secret-cookie"), std::string::npos);
  }
}

TEST(Handshake, NoCommonVersionIsRejectedWithBothRanges) {
  auto cb = config("b", 100);
  cb.min_version = kProtocolVersion + 1;
  cb.max_version = kProtocolVersion + 2;
  auto a = Handshake::initiator(config("a", 1));
  auto b = Handshake::acceptor(cb);
  run(a, b);
  EXPECT_EQ(b.outcome().reason, RejectReason::version_mismatch);
  EXPECT_EQ(b.outcome().detail, "we speak versions " + std::to_string(kProtocolVersion + 1) + ".." +
                                    std::to_string(kProtocolVersion + 2) + ", the peer " +
                                    std::to_string(kMinProtocolVersion) + ".." +
                                    std::to_string(kProtocolVersion));
  EXPECT_EQ(a.outcome().state, HandshakeState::rejected);
  EXPECT_TRUE(a.outcome().by_peer);
}

TEST(Handshake, TheInitiatorAlsoChecksTheAcceptorsVersion) {
  auto a = Handshake::initiator(config("a", 1));
  a.start();
  Hello hello{5, 6, "prod", NodeId{"b", "host", 1}, Challenge{9}};
  auto step = a.on_message(hello);
  EXPECT_EQ(step.outcome.reason, RejectReason::version_mismatch);
  ASSERT_EQ(step.send.size(), 1u);
  EXPECT_EQ(std::get<Reject>(step.send[0]).reason, RejectReason::version_mismatch);
}

TEST(Handshake, AVersion3PeerIsRefusedForItsVersionNotAsMalformed) {
  // A version 3 Hello has no hidden field: it still decodes (hidden absent: false), so the
  // refusal names the versions.
  auto v3 = nlohmann::json::parse(
      to_json_text(Hello{3, 3, "prod", NodeId{"a", "host", 1}, Challenge{9}}));
  v3.erase("hidden");
  auto hello = from_json_text(v3.dump());
  ASSERT_TRUE(hello.ok()) << hello.error();
  auto packed = nlohmann::json::to_msgpack(nlohmann::json::array(
      {1, 3, 3, "prod", {"a", "host", 1}, nlohmann::json(std::string(64, '9'))}));
  auto hello_packed = decode(Bytes(packed.begin(), packed.end()), Codec::msgpack);
  ASSERT_TRUE(hello_packed.ok()) << hello_packed.error();
  EXPECT_FALSE(std::get<Hello>(hello_packed.value()).hidden);
  auto b = Handshake::acceptor(config("b", 100));
  b.start();
  auto step = b.on_message(hello.value());
  EXPECT_EQ(step.outcome.reason, RejectReason::version_mismatch);
  EXPECT_EQ(step.outcome.detail, "we speak versions 4..4, the peer 3..3");
}

TEST(Handshake, AHiddenFlagFlippedOnTheWayIsRejectedAsBadMac) {
  // A man in the middle turns a hidden node into a member (or a member into a hidden node, so
  // that a node drops its names): the flag is in both proofs' transcript, so neither matches.
  for (const bool hidden_initiator : {true, false}) {
    SCOPED_TRACE(hidden_initiator ? "the initiator's Hello" : "the acceptor's Hello");
    auto ca = config("a", 1);
    ca.hidden = hidden_initiator;
    auto a = Handshake::initiator(ca);
    auto b = Handshake::acceptor(config("b", 100));
    const std::string flipped_sender = hidden_initiator ? "a" : "b";
    run(a, b, [&](Message& m) {
      if (auto* hello = std::get_if<Hello>(&m); hello && hello->node.name == flipped_sender)
        hello->hidden = !hello->hidden;
    });
    EXPECT_EQ(a.outcome().state, HandshakeState::rejected) << a.outcome().to_string();
    EXPECT_EQ(b.outcome().state, HandshakeState::rejected) << b.outcome().to_string();
    EXPECT_EQ(b.outcome().reason, RejectReason::bad_mac);
    EXPECT_EQ(a.outcome().reason, RejectReason::bad_mac);
  }
}

TEST(Handshake, AnotherClusterIsRejected) {
  auto a = Handshake::initiator(config("a", 1, "secret", "staging"));
  auto b = Handshake::acceptor(config("b", 100, "secret", "prod"));
  run(a, b);
  EXPECT_EQ(b.outcome().reason, RejectReason::cluster_mismatch);
  EXPECT_EQ(b.outcome().detail, "we are in cluster 'prod', the peer in 'staging'");
  EXPECT_EQ(a.outcome().reason, RejectReason::cluster_mismatch);
}

TEST(Handshake, AProofReplayedFromAnEarlierHandshakeIsRejected) {
  // Record a good initiator proof from one session...
  auto a1 = Handshake::initiator(config("a", 1));
  auto b1 = Handshake::acceptor(config("b", 100));
  auto hello_a = a1.start().send.at(0);
  auto hello_b = b1.on_message(hello_a).send.at(0);
  auto proof = a1.on_message(hello_b).send.at(0);
  // ...and replay the same Hello and Proof to a new acceptor, which picks a fresh challenge.
  auto b2 = Handshake::acceptor(config("b", 200));
  b2.start();
  b2.on_message(hello_a);
  auto step = b2.on_message(proof);
  EXPECT_EQ(step.outcome.state, HandshakeState::rejected);
  EXPECT_EQ(step.outcome.reason, RejectReason::bad_mac);
}

TEST(Handshake, AnAcceptorsProofReflectedBackIsRejected) {
  // The initiator must not accept its own proof (the role label differs per side).
  auto a = Handshake::initiator(config("a", 1));
  auto b = Handshake::acceptor(config("b", 100));
  auto hello_b = b.on_message(a.start().send.at(0)).send.at(0);
  auto proof_a = a.on_message(hello_b).send.at(0);
  auto step = a.on_message(proof_a);
  EXPECT_EQ(step.outcome.reason, RejectReason::bad_mac);
}

TEST(Handshake, AProofForAnotherChallengeIsRejected) {
  auto a = Handshake::initiator(config("a", 1));
  auto b = Handshake::acceptor(config("b", 100));
  b.on_message(a.start().send.at(0));
  // a Hello with a different challenge than the one b sent: the resulting proof is wrong for b
  auto a_other = Handshake::initiator(config("a", 1));
  a_other.start();
  auto forged = a_other.on_message(
      Hello{kProtocolVersion, kProtocolVersion, "prod", NodeId{"b", "host", 1}, Challenge{77}});
  auto step = b.on_message(forged.send.at(0));
  EXPECT_EQ(step.outcome.reason, RejectReason::bad_mac);
}

TEST(Handshake, AnEchoedChallengeIsRejectedAsAReflection) {
  auto a = Handshake::initiator(config("a", 1));
  auto hello = std::get<Hello>(a.start().send.at(0));
  hello.node = NodeId{"b", "host", 1};
  auto step = a.on_message(hello);
  EXPECT_EQ(step.outcome.reason, RejectReason::malformed);
}

TEST(Handshake, AnUnexpectedMessageIsMalformed) {
  auto b = Handshake::acceptor(config("b", 100));
  b.start();
  auto step = b.on_message(Ping{1});
  EXPECT_EQ(step.outcome.reason, RejectReason::malformed);
  EXPECT_EQ(step.outcome.detail, "unexpected ping, expected hello");
  ASSERT_EQ(step.send.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Reject>(step.send[0]));
}

TEST(Handshake, AProofBeforeHelloIsMalformed) {
  auto b = Handshake::acceptor(config("b", 100));
  b.start();
  EXPECT_EQ(b.on_message(Proof{}).outcome.reason, RejectReason::malformed);
}

TEST(Handshake, AHelloWithoutANodeNameIsMalformed) {
  auto b = Handshake::acceptor(config("b", 100));
  b.start();
  auto step = b.on_message(
      Hello{kProtocolVersion, kProtocolVersion, "prod", NodeId{"", "host", 1}, Challenge{3}});
  EXPECT_EQ(step.outcome.reason, RejectReason::malformed);
}

TEST(Handshake, AnUndecodableFrameIsMalformed) {
  auto b = Handshake::acceptor(config("b", 100));
  b.start();
  auto step = b.on_decode_error(Error{ErrorCode::malformed, "junk"});
  EXPECT_EQ(step.outcome.reason, RejectReason::malformed);
  EXPECT_EQ(step.outcome.detail, "undecodable message: malformed: junk");
}

TEST(Handshake, NoRandomnessIsAnInternalErrorNotAWeakChallenge) {
  auto c = config("a", 1);
  c.challenges = [] { return std::optional<Challenge>{}; };
  auto a = Handshake::initiator(c);
  auto step = a.start();
  EXPECT_EQ(step.outcome.reason, RejectReason::internal_error);
}

TEST(Handshake, IgnoresMessagesOnceDone) {
  auto b = Handshake::acceptor(config("b", 100));
  b.start();
  b.on_message(Ping{1});
  auto step = b.on_message(Ping{2});
  EXPECT_TRUE(step.send.empty());
  EXPECT_EQ(step.outcome.detail, "unexpected ping, expected hello");
}

// -- the way in -------------------------------------------------------------------------------

TEST(Handshake, SameCookieAndClusterEstablishesBothSidesWithEachOthersIdentity) {
  auto a = Handshake::initiator(config("a", 1));
  auto b = Handshake::acceptor(config("b", 100));
  run(a, b);
  ASSERT_EQ(a.outcome().state, HandshakeState::established) << a.outcome().to_string();
  ASSERT_EQ(b.outcome().state, HandshakeState::established) << b.outcome().to_string();
  EXPECT_EQ(a.outcome().peer, (NodeId{"b", "host", 1}));
  EXPECT_EQ(b.outcome().peer, (NodeId{"a", "host", 1}));
  EXPECT_EQ(a.outcome().version, kProtocolVersion);
  EXPECT_EQ(a.outcome().to_string(),
            "established with b@host#1 (version " + std::to_string(kProtocolVersion) + ")");
}

// A side knows whom the peer claims to be before it sends what would complete the handshake for
// the peer (the acceptor's Hello, the initiator's Proof), so it can refuse that peer first.
TEST(Handshake, EachSideKnowsTheClaimedPeerBeforeItsOwnHelloOrProof) {
  auto a = Handshake::initiator(config("a", 1));
  auto b = Handshake::acceptor(config("b", 100));
  const auto hello_a = a.start().send.at(0);
  EXPECT_EQ(a.claimed_peer(), NodeId{});
  EXPECT_EQ(b.claimed_peer(), NodeId{});
  const auto hello_b = b.on_message(hello_a);
  ASSERT_TRUE(std::holds_alternative<Hello>(hello_b.send.at(0)));
  EXPECT_EQ(b.claimed_peer(), (NodeId{"a", "host", 1}));
  const auto proof_a = a.on_message(hello_b.send.at(0));
  ASSERT_TRUE(std::holds_alternative<Proof>(proof_a.send.at(0)));
  EXPECT_EQ(a.claimed_peer(), (NodeId{"b", "host", 1}));
  EXPECT_EQ(proof_a.outcome.state, HandshakeState::in_progress);
}

TEST(Handshake, EachSideLearnsWhetherThePeerIsHidden) {
  auto ca = config("ctl", 1);
  ca.hidden = true;
  auto a = Handshake::initiator(ca);
  auto b = Handshake::acceptor(config("b", 100));
  run(a, b);
  ASSERT_EQ(b.outcome().state, HandshakeState::established) << b.outcome().to_string();
  EXPECT_TRUE(b.outcome().peer_hidden);
  EXPECT_FALSE(a.outcome().peer_hidden);
  EXPECT_EQ(b.outcome().to_string(), "established with ctl@host#1, hidden (version " +
                                         std::to_string(kProtocolVersion) + ")");
  // Two hidden nodes may talk too.
  auto cb = config("b", 100);
  cb.hidden = true;
  auto a2 = Handshake::initiator(ca);
  auto b2 = Handshake::acceptor(cb);
  run(a2, b2);
  ASSERT_EQ(a2.outcome().state, HandshakeState::established) << a2.outcome().to_string();
  EXPECT_TRUE(a2.outcome().peer_hidden);
  EXPECT_TRUE(b2.outcome().peer_hidden);
}

TEST(Handshake, NegotiatesTheHighestCommonVersion) {
  auto ca = config("a", 1);
  ca.max_version = kProtocolVersion + 2;
  auto cb = config("b", 100);
  cb.max_version = kProtocolVersion + 1;
  auto a = Handshake::initiator(ca);
  auto b = Handshake::acceptor(cb);
  run(a, b);
  EXPECT_EQ(a.outcome().version, kProtocolVersion + 1);
  EXPECT_EQ(b.outcome().version, kProtocolVersion + 1);
}

TEST(Handshake, RandomChallengeIsFreshEachTime) {
  auto c1 = random_challenge();
  auto c2 = random_challenge();
  ASSERT_TRUE(c1 && c2);
  EXPECT_NE(*c1, *c2);
}

RC_GTEST_PROP(HandshakeProperty, EstablishesExactlyWhenTheCookiesMatch,
              (const std::string& cookie_a, const std::string& cookie_b, const NodeId& na,
               const NodeId& nb)) {
  RC_PRE(!na.name.empty() && !na.host.empty() && !nb.name.empty() && !nb.host.empty());
  const bool same = *rc::gen::arbitrary<bool>();
  HandshakeOptions ca{.cluster = "c", .self = na, .cookie = cookie_a};
  HandshakeOptions cb{.cluster = "c", .self = nb, .cookie = same ? cookie_a : cookie_b};
  auto a = Handshake::initiator(ca);
  auto b = Handshake::acceptor(cb);
  run(a, b);
  if (same || cookie_a == cookie_b) {
    RC_ASSERT(a.outcome().state == HandshakeState::established);
    RC_ASSERT(b.outcome().state == HandshakeState::established);
    RC_ASSERT(a.outcome().peer == nb);
    RC_ASSERT(b.outcome().peer == na);
  } else {
    RC_ASSERT(a.outcome().state == HandshakeState::rejected);
    RC_ASSERT(b.outcome().reason == RejectReason::bad_mac);
  }
}

}  // namespace
}  // namespace otp::protocol
