// The transport against peers that are wrong or hostile: wrong cookie or cluster, garbage, a
// huge frame, silence before and after the handshake, a peer that never reads. Each closes (or
// refuses) only that connection, with the reason logged, and the node keeps serving others.
#include <gtest/gtest.h>

#include "transport_fixture.hpp"

namespace otp::cluster::test {
namespace {

using Kind = Probe::Event::Kind;
using protocol::RejectReason;

const NodeId kRaw{"raw", "127.0.0.1", 1};

size_t rejected(const Transport& t, RejectReason reason) {
  return t.stats().rejected[static_cast<size_t>(reason)];
}

/// a is healthy if a proper peer can still link to it and exchange a message.
void expect_serves_a_proper_peer(Transport& a, Probe& pa, Hub& hub) {
  Probe pb(hub);
  auto b = start(config("b", 1, pb), pb);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->connect(address(a)));
  ASSERT_TRUE(pb.wait_for(Kind::up, 1, a.self())) << pb.log_text() << pa.log_text();
  ASSERT_FALSE(b->send(a.self(), numbered(b->self(), 42)));
  ASSERT_TRUE(pa.wait_for(Kind::message, 1, b->self())) << pa.log_text();
}

// -- refused handshakes -------------------------------------------------------------------------

TEST(TransportHandshake, AWrongCookieIsRejectedWithTheReasonLoggedOnBothSides) {
  Hub hub;
  Probe pa(hub), pb(hub);
  auto a = start(config("a", 1, pa, "secret"), pa);
  auto b = start(config("b", 1, pb, "guess"), pb);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->connect(address(*b)));

  // b (the acceptor) checks a's proof first, refuses it and tells a why.
  ASSERT_TRUE(pb.wait_logged("handshake rejected: bad_mac")) << pb.log_text();
  ASSERT_TRUE(pa.wait_logged("handshake rejected by peer: bad_mac")) << pa.log_text();
  EXPECT_GE(rejected(*a, RejectReason::bad_mac), 1u);
  EXPECT_GE(rejected(*b, RejectReason::bad_mac), 1u);
  EXPECT_EQ(pa.count(Kind::up), 0u);
  EXPECT_EQ(pb.count(Kind::up), 0u);
  EXPECT_TRUE(a->peers().empty());
}

TEST(TransportHandshake, APeerOfAnotherClusterIsRejected) {
  Hub hub;
  Probe pa(hub), pb(hub);
  auto a = start(config("a", 1, pa, "secret", "blue"), pa);
  auto b = start(config("b", 1, pb, "secret", "green"), pb);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->connect(address(*b)));

  ASSERT_TRUE(pb.wait_logged("handshake rejected: cluster_mismatch")) << pb.log_text();
  ASSERT_TRUE(pa.wait_logged("handshake rejected by peer: cluster_mismatch")) << pa.log_text();
  EXPECT_GE(rejected(*b, RejectReason::cluster_mismatch), 1u);
  EXPECT_EQ(pa.count(Kind::up) + pb.count(Kind::up), 0u);
}

TEST(TransportHandshake, AClientThatSendsNothingIsClosedByTheHandshakeTimeout) {
  Hub hub;
  Probe pa(hub);
  auto ca = config("a", 1, pa);
  ca.handshake_timeout = 200ms;
  auto a = start(ca, pa);
  ASSERT_TRUE(a);

  const auto began = std::chrono::steady_clock::now();
  RawPeer silent(a->port());
  ASSERT_TRUE(silent.wait_closed());
  EXPECT_GE(std::chrono::steady_clock::now() - began, 150ms);
  // The close is logged just after the socket closes: wait for the line, do not race it.
  EXPECT_TRUE(pa.wait_logged("handshake not finished within 200 ms")) << pa.log_text();
  EXPECT_EQ(a->stats().handshake_timeouts, 1u);
  EXPECT_TRUE(hub.wait([&] { return a->stats().connections == 0; }));
  expect_serves_a_proper_peer(*a, pa, hub);
}

// -- garbage ------------------------------------------------------------------------------------

TEST(TransportGarbage, TextOnThePortIsLoggedAndClosedAndTheNodeServesOthers) {
  Hub hub;
  Probe pa(hub);
  auto a = start(config("a", 1, pa), pa);
  ASSERT_TRUE(a);

  // "GET " read as a length is ~1.2 GB: refused as soon as the four bytes are in.
  RawPeer http(a->port());
  http.write("GET / HTTP/1.1\r\nHost: example\r\n\r\n");
  ASSERT_TRUE(http.wait_closed());
  ASSERT_TRUE(pa.wait_logged("frame_too_large")) << pa.log_text();
  EXPECT_TRUE(pa.logged("connection from 127.0.0.1:")) << pa.log_text();
  EXPECT_EQ(a->stats().frames_too_large, 1u);
  expect_serves_a_proper_peer(*a, pa, hub);
}

TEST(TransportGarbage, AFrameThatDoesNotDecodeDuringTheHandshakeIsRejectedAsMalformed) {
  Hub hub;
  Probe pa(hub);
  auto a = start(config("a", 1, pa), pa);
  ASSERT_TRUE(a);

  RawPeer raw(a->port());
  const std::vector<uint8_t> junk{0, 0, 0, 4, 0xc1, 0xc1, 0xc1, 0xc1};  // 0xc1: never MessagePack
  raw.write(junk);
  auto answer = raw.read_message();
  ASSERT_TRUE(answer);
  ASSERT_TRUE(std::holds_alternative<protocol::Reject>(*answer));
  EXPECT_EQ(std::get<protocol::Reject>(*answer).reason, RejectReason::malformed);
  EXPECT_TRUE(raw.wait_closed());
  ASSERT_TRUE(pa.wait_logged("handshake rejected: malformed")) << pa.log_text();
  EXPECT_EQ(rejected(*a, RejectReason::malformed), 1u);
  expect_serves_a_proper_peer(*a, pa, hub);
}

TEST(TransportGarbage, AnUndecodableFrameAfterTheHandshakeIsDroppedAndTheLinkStaysUp) {
  Hub hub;
  Probe pa(hub);
  auto a = start(config("a", 1, pa), pa);
  ASSERT_TRUE(a);
  RawPeer raw(a->port());
  ASSERT_EQ(raw.handshake(kRaw), a->self());
  ASSERT_TRUE(pa.wait_for(Kind::up, 1, kRaw));

  raw.write(std::vector<uint8_t>{0, 0, 0, 2, 0xc1, 0xc1});
  raw.write_message(numbered(kRaw, 7));
  ASSERT_TRUE(pa.wait_for(Kind::message, 1, kRaw)) << pa.log_text();
  EXPECT_EQ(number_of(*pa.events().back().body), 7);
  EXPECT_EQ(a->stats().frames_dropped, 1u);
  EXPECT_TRUE(pa.logged("does not decode")) << pa.log_text();
  EXPECT_EQ(pa.count(Kind::down), 0u);
}

TEST(TransportGarbage, AnOversizedFrameClosesThatLinkOnlyAndOtherLinksCarryOn) {
  Hub hub;
  Probe pa(hub), pb(hub);
  auto a = start(config("a", 1, pa), pa);
  auto b = start(config("b", 1, pb), pb);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(b->connect(address(*a)));
  ASSERT_TRUE(pa.wait_for(Kind::up, 1, b->self()) && pb.wait_for(Kind::up, 1, a->self()));

  RawPeer raw(a->port());
  ASSERT_EQ(raw.handshake(kRaw), a->self());
  ASSERT_TRUE(pa.wait_for(Kind::up, 1, kRaw));
  raw.write(std::vector<uint8_t>{0x40, 0, 0, 0});  // announces a 1 GiB frame
  ASSERT_TRUE(raw.wait_closed());
  ASSERT_TRUE(pa.wait_for(Kind::down, 1, kRaw)) << pa.log_text();
  EXPECT_NE(pa.events().back().reason.find("frame_too_large"), std::string::npos);
  EXPECT_TRUE(pa.logged("link to raw@127.0.0.1#1")) << pa.log_text();

  EXPECT_EQ(pa.count(Kind::down, b->self()), 0u);
  ASSERT_FALSE(a->send(b->self(), numbered(a->self(), 1)));
  ASSERT_FALSE(b->send(a->self(), numbered(b->self(), 2)));
  ASSERT_TRUE(pb.wait_for(Kind::message, 1, a->self()));
  ASSERT_TRUE(pa.wait_for(Kind::message, 1, b->self()));
}

// -- liveness -----------------------------------------------------------------------------------

TEST(TransportLiveness, AFrozenPeerIsDeclaredDownWithinTheDeadLinkTimeout) {
  Hub hub;
  Probe pa(hub);
  auto ca = config("a", 1, pa);
  ca.heartbeat_interval = 50ms;
  ca.dead_link_timeout = 300ms;
  auto a = start(ca, pa);
  ASSERT_TRUE(a);

  // Taken before the handshake, so strictly before a last heard from the peer.
  const auto began = std::chrono::steady_clock::now();
  RawPeer frozen(a->port());
  ASSERT_EQ(frozen.handshake(kRaw), a->self());
  ASSERT_TRUE(pa.wait_for(Kind::up, 1, kRaw));
  // a pings the idle link every 50 ms; the frozen peer reads but never answers, until a closes
  // the link after 300 ms without a word from it: about 6 pings (fewer if the machine is slow,
  // since each ping is due 50 ms after the previous one was written), never many more. The count
  // is capped so that a link that is never closed ends the loop.
  constexpr size_t kPingsInTimeout = 300 / 50;
  size_t pings = 0;
  while (pings <= 2 * kPingsInTimeout) {
    auto m = frozen.read_message();
    if (!m) break;  // closed by a (checked below), or nothing for 5 s
    if (std::holds_alternative<protocol::Ping>(*m)) ++pings;
  }
  EXPECT_GE(pings, 1u);
  EXPECT_LE(pings, 2 * kPingsInTimeout) << "the link outlived its dead_link_timeout";

  ASSERT_TRUE(pa.wait_for(Kind::down, 1, kRaw)) << pa.log_text();
  EXPECT_GE(std::chrono::steady_clock::now() - began, 300ms);
  EXPECT_NE(pa.events().back().reason.find("heartbeat timeout"), std::string::npos);
  EXPECT_EQ(a->stats().heartbeat_timeouts, 1u);
  EXPECT_TRUE(frozen.closed()) << "the reads ended without a close";
}

TEST(TransportLiveness, AnIdleLinkBetweenLiveNodesStaysUp) {
  Hub hub;
  Probe pa(hub), pb(hub);
  auto ca = config("a", 1, pa);
  auto cb = config("b", 1, pb);
  ca.heartbeat_interval = cb.heartbeat_interval = 50ms;
  ca.dead_link_timeout = cb.dead_link_timeout = 500ms;
  auto a = start(ca, pa);
  auto b = start(cb, pb);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->connect(address(*b)));
  ASSERT_TRUE(pa.wait_for(Kind::up) && pb.wait_for(Kind::up));
  // Several dead-link timeouts of silence from the nodes: the heartbeats keep the link.
  EXPECT_FALSE(hub.wait([&] { return pa.count(Kind::down) + pb.count(Kind::down) > 0; }, 2s))
      << pa.log_text();
}

// -- overload -----------------------------------------------------------------------------------

TEST(TransportOverload, APeerThatNeverReadsGetsOverloadAndTheQueueStaysBounded) {
  Hub hub;
  Probe pa(hub);
  auto ca = config("a", 1, pa);
  ca.max_queue_bytes = 256 * 1024;
  auto a = start(ca, pa);
  ASSERT_TRUE(a);
  RawPeer sluggish(a->port());
  ASSERT_EQ(sluggish.handshake(kRaw), a->self());
  ASSERT_TRUE(pa.wait_for(Kind::up, 1, kRaw));

  // The kernel's socket buffers take some megabytes first; then the queue fills.
  std::optional<SendError> refused;
  size_t accepted = 0;
  while (!refused && accepted < 100'000) {
    refused = a->send(kRaw, numbered(a->self(), static_cast<int64_t>(accepted), 16 * 1024));
    if (!refused) ++accepted;
    const auto queued = a->stats().queued_bytes;
    ASSERT_LE(queued, ca.max_queue_bytes + 64 * 1024) << "after " << accepted << " messages";
  }
  ASSERT_EQ(refused, SendError::overload) << "after " << accepted << " messages";
  EXPECT_GE(a->stats().overloads, 1u);
  // Overload refuses the message, not the link.
  EXPECT_EQ(pa.count(Kind::down), 0u);
  EXPECT_EQ(a->peer("raw@127.0.0.1"), kRaw);
}

}  // namespace
}  // namespace otp::cluster::test
