// One Membership core driven by hand: what it answers, what it drops (and counts), the size
// of what it sends. Whole-cluster behaviour is in simulation_test.cpp.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <chrono>

#include "otp/membership/membership.hpp"
#include "otp/protocol/gossip.hpp"

namespace otp::membership {
namespace {

namespace gossip = protocol::gossip;
using namespace std::chrono_literals;

const Options kConfig{.cluster = "prod", .cookie = "c00kie"};
const gossip::Key kKey{"prod", "c00kie"};
const Address kPeer{"10.0.0.2", 7946};

Membership make_core() {
  Membership m(kConfig, protocol::NodeId{"a", "10.0.0.1", 5}, Address{"10.0.0.1", 7946}, {}, 1);
  (void)m.join({}, Time{});
  return m;
}

std::vector<uint8_t> ping_for(protocol::NodeId target, uint32_t seq = 1) {
  return gossip::encode(gossip::Packet{gossip::Ping{seq, std::move(target), {"b", "h", 1}}, {}},
                        kKey);
}

TEST(OnPacket, APingForThisRunIsAnsweredWithAnAckOfTheSameSequence) {
  Membership m = make_core();
  Output out = m.on_packet(kPeer, ping_for(m.self(), 77), Channel::datagram, Time{10ms});
  ASSERT_EQ(out.packets.size(), 1u);
  EXPECT_EQ(out.packets[0].to, kPeer);
  EXPECT_EQ(out.packets[0].channel, Channel::datagram);
  auto ack = gossip::decode(out.packets[0].bytes);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(std::get<gossip::Ack>(ack->body).seq, 77u);
}

TEST(OnPacket, APingForAnEarlierRunOfThisNodeIsNotAnswered) {
  Membership m = make_core();
  protocol::NodeId previous = m.self();
  previous.creation = 4;
  EXPECT_TRUE(
      m.on_packet(kPeer, ping_for(previous), Channel::datagram, Time{10ms}).packets.empty());
  EXPECT_EQ(m.stats().dropped_wrong_target, 1u);
}

TEST(OnPacket, BadPacketsAreDroppedAndCountedByReason) {
  Membership m = make_core();
  const auto expect_dropped = [&](std::vector<uint8_t> bytes, Channel ch) {
    Output out = m.on_packet(kPeer, bytes, ch, Time{10ms});
    EXPECT_TRUE(out.empty());
  };
  expect_dropped({}, Channel::datagram);
  expect_dropped(std::vector<uint8_t>(100, 0xff), Channel::datagram);
  expect_dropped(gossip::encode({gossip::Ping{1, m.self(), m.self()}, {}}, {"prod", "wrong"}),
                 Channel::datagram);
  expect_dropped(gossip::encode({gossip::Ping{1, m.self(), m.self()}, {}}, {"other", "c00kie"}),
                 Channel::datagram);
  expect_dropped(std::vector<uint8_t>(2000, 0), Channel::datagram);
  // a push-pull as a datagram, a ping on the stream channel
  expect_dropped(gossip::encode({gossip::PushPull{}, {}}, kKey), Channel::datagram);
  expect_dropped(ping_for(m.self()), Channel::stream);
  const Stats s = m.stats();
  EXPECT_EQ(s.dropped_malformed, 2u);
  EXPECT_EQ(s.dropped_bad_mac, 1u);
  EXPECT_EQ(s.dropped_other_cluster, 1u);
  EXPECT_EQ(s.dropped_oversized, 1u);
  EXPECT_EQ(s.dropped_wrong_channel, 2u);
  EXPECT_TRUE(m.members().size() == 1);
}

TEST(OnPacket, ASuspicionOfThisNodeIsRefutedWithAHigherIncarnation) {
  Membership m = make_core();
  gossip::Update suspect{.kind = gossip::UpdateKind::suspect, .node = m.self(), .incarnation = 3};
  suspect.accuser = "b@h";
  Output out = m.on_packet(kPeer, gossip::encode({gossip::Ack{5}, {suspect}}, kKey),
                           Channel::datagram, Time{10ms});
  EXPECT_EQ(m.incarnation(), 4u);
  EXPECT_EQ(m.stats().refutations, 1u);
  EXPECT_EQ(m.stats().awareness, 1u);
}

TEST(OnPacket, APushPullRequestIsMergedAndAnsweredWithTheFullStateOnTheStream) {
  Membership m = make_core();
  gossip::PushPull pp{false, true, {"b", "h", 1}, {}};
  for (int i = 0; i < 5; ++i) {
    gossip::Update u{.kind = gossip::UpdateKind::alive, .node = {"n" + std::to_string(i), "h", 1}};
    u.has_info = true;
    u.gossip = Address{"h", static_cast<uint16_t>(9000 + i)};
    pp.members.push_back(u);
  }
  Output out = m.on_packet(kPeer, gossip::encode({pp, {}}, kKey), Channel::stream, Time{10ms});
  EXPECT_EQ(out.events.size(), 5u);
  for (const Event& e : out.events) EXPECT_EQ(e.kind, EventKind::joined);
  ASSERT_EQ(out.packets.size(), 1u);
  EXPECT_EQ(out.packets[0].channel, Channel::stream);
  EXPECT_EQ(out.packets[0].to, kPeer);
  auto reply = gossip::decode(out.packets[0].bytes);
  ASSERT_TRUE(reply.ok());
  const auto& state = std::get<gossip::PushPull>(reply->body);
  EXPECT_TRUE(state.reply);
  EXPECT_EQ(state.members.size(), 6u);  // the five and self
  EXPECT_EQ(m.live_peers(), 5u);
}

TEST(Sending, DatagramsStayWithinTheBudgetWhenManyUpdatesAreQueued) {
  Membership m = make_core();
  gossip::PushPull pp{false, false, {"b", "h", 1}, {}};
  for (int i = 0; i < 300; ++i) {
    gossip::Update u{.kind = gossip::UpdateKind::alive,
                     .node = {"node-with-a-long-name-" + std::to_string(i), "host.example", 1}};
    u.has_info = true;
    u.gossip = Address{"host.example", static_cast<uint16_t>(9000 + i)};
    u.meta.tags = {{"role", "worker"}, {"zone", "eu-west-1a"}};
    pp.members.push_back(u);
  }
  (void)m.on_packet(kPeer, gossip::encode({pp, {}}, kKey), Channel::stream, Time{10ms});
  size_t datagrams = 0;
  size_t updates = 0;
  for (Time t{10ms}; t < Time{3s}; t += 10ms) {
    for (const Outgoing& p : m.tick(t).packets) {
      if (p.channel != Channel::datagram) continue;
      ++datagrams;
      EXPECT_LE(p.bytes.size(), kConfig.max_datagram_size);
      updates += gossip::decode(p.bytes)->updates.size();
    }
  }
  EXPECT_GT(datagrams, 10u);
  EXPECT_GT(updates, 300u);  // everything went out, retransmitted
}

TEST(Timers, NextDeadlineIsNoLaterThanTheFirstProbeAndNeverBeforeStart) {
  Membership m = make_core();
  EXPECT_LE(m.next_deadline(), Time(kConfig.probe_interval));
  Membership idle(kConfig, protocol::NodeId{"z", "h", 1}, Address{"h", 1}, {}, 1);
  EXPECT_EQ(idle.next_deadline(), Time::max());  // not started: nothing to do
}

RC_GTEST_PROP(MembershipProperty, ArbitraryPacketsNeverCrashTheCore,
              (const std::vector<std::vector<uint8_t>>& packets)) {
  Membership m = make_core();
  Time now{};
  for (const auto& p : packets) {
    now += 7ms;
    (void)m.on_packet(kPeer, p, Channel::datagram, now);
    (void)m.on_packet(kPeer, p, Channel::stream, now);
    (void)m.tick(now);
  }
  RC_ASSERT(m.members().size() == 1u);
}

}  // namespace
}  // namespace otp::membership
