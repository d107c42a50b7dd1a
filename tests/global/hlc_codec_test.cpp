// The hybrid logical clock's guarantees, and the table's messages on the wire: protocol::NameUpdate
// and protocol::NameSync (to_wire / from_wire), encoded by the protocol's MessagePack codec.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "otp/global/hlc.hpp"
#include "otp/global/messages.hpp"
#include "otp/protocol/codec.hpp"

namespace otp::global {
namespace {

TEST(Hlc, FollowsTheWallClockAndNeverGoesBack) {
  Hlc clock;
  EXPECT_EQ(clock.tick(Time(100)), (Stamp{100, 0}));
  EXPECT_EQ(clock.tick(Time(100)), (Stamp{100, 1}));
  EXPECT_EQ(clock.tick(Time(90)), (Stamp{100, 2}));  // the wall clock went back
  EXPECT_EQ(clock.tick(Time(150)), (Stamp{150, 0}));
}

TEST(Hlc, AReceivedStampOrdersEverythingAfterIt) {
  Hlc clock;
  (void)clock.tick(Time(100));
  EXPECT_EQ(clock.receive(Stamp{500, 7}, Time(110)), (Stamp{500, 8}));  // a peer ahead of us
  EXPECT_EQ(clock.tick(Time(120)), (Stamp{500, 9}));
  EXPECT_EQ(clock.receive(Stamp{10, 0}, Time(600)), (Stamp{600, 0}));  // a peer behind
}

RC_GTEST_PROP(HlcProperty, EveryStampExceedsEveryEarlierOneAndEveryReceivedOne,
              (std::vector<std::pair<bool, uint32_t>> steps)) {
  Hlc clock;
  Stamp last{};
  for (const auto& [receive, t] : steps) {
    const Time now(t % 1000);
    Stamp s;
    if (receive) {
      const Stamp remote{*rc::gen::inRange<uint64_t>(0, 1000), *rc::gen::inRange<uint32_t>(0, 5)};
      s = clock.receive(remote, now);
      RC_ASSERT(s > remote);
    } else {
      s = clock.tick(now);
    }
    RC_ASSERT(s > last);
    RC_ASSERT(s.physical_ms >= static_cast<uint64_t>(now.count()));
    last = s;
  }
}

const protocol::NodeId kSender{"a", "10.0.0.1", 42};

Claim arbitrary_claim() {
  return Claim{*rc::gen::arbitrary<std::string>(),
               protocol::Pid{kSender, *rc::gen::arbitrary<uint64_t>()},
               Stamp{*rc::gen::arbitrary<uint64_t>(), *rc::gen::arbitrary<uint32_t>()},
               *rc::gen::arbitrary<std::string>()};
}

Message arbitrary_message() {
  if (*rc::gen::arbitrary<bool>()) {
    return Update{*rc::gen::element(UpdateKind::add, UpdateKind::remove), arbitrary_claim()};
  }
  Sync s;
  const int n = *rc::gen::inRange(0, 20);
  for (int i = 0; i < n; ++i) s.claims.push_back(arbitrary_claim());
  return s;
}

const Claim kClaim{"counter", protocol::Pid{kSender, 1234}, Stamp{1'764'000'000'000, 3},
                   R"({"v":1})"};

RC_GTEST_PROP(MessagesProperty, UpdatesAndSyncsRoundTrip, ()) {
  const Message m = arbitrary_message();
  const std::optional<Message> back = decode(encode(m), kSender);
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == m);
}

RC_GTEST_PROP(MessagesProperty, EncodeIsTheProtocolsMsgpackOfToWire, ()) {
  const Message m = arbitrary_message();
  RC_ASSERT(encode(m) == protocol::encode(to_wire(m), protocol::Codec::msgpack));
}

RC_GTEST_PROP(MessagesProperty, ToWireAndFromWireRoundTrip, ()) {
  const Message m = arbitrary_message();
  const protocol::Message wire = to_wire(m);
  if (const auto* u = std::get_if<Update>(&m)) {
    const auto* w = std::get_if<protocol::NameUpdate>(&wire);
    RC_ASSERT(w != nullptr);
    RC_ASSERT(from_wire(*w, kSender) == *u);
  } else {
    const auto* w = std::get_if<protocol::NameSync>(&wire);
    RC_ASSERT(w != nullptr);
    RC_ASSERT(w->last);  // one Sync is one part: the last
    const auto& claims = std::get<Sync>(m).claims;
    RC_ASSERT(w->claims.size() == claims.size());
    for (size_t i = 0; i < claims.size(); ++i) {
      RC_ASSERT(from_wire(w->claims[i], kSender) == claims[i]);
    }
  }
}

RC_GTEST_PROP(MessagesProperty, ArbitraryBytesGiveAMessageOrNothingNeverACrash,
              (std::vector<uint8_t> bytes)) {
  (void)decode(bytes, kSender);
}

TEST(Messages, ToWireCarriesEveryFieldButTheOwnersNode) {
  const auto wire = to_wire(Message{Update{UpdateKind::remove, kClaim}});
  EXPECT_EQ(std::get<protocol::NameUpdate>(wire),
            (protocol::NameUpdate{protocol::NameUpdateKind::remove,
                                  {"counter", 1234, 1'764'000'000'000, 3, R"({"v":1})"}}));
  const auto sync = to_wire(Message{Sync{{kClaim, kClaim}}});
  EXPECT_EQ(std::get<protocol::NameSync>(sync),
            (protocol::NameSync{{{"counter", 1234, 1'764'000'000'000, 3, R"({"v":1})"},
                                 {"counter", 1234, 1'764'000'000'000, 3, R"({"v":1})"}},
                                true}));
}

TEST(Messages, TheSenderIsTheNodeOfEveryClaim) {
  const protocol::NodeId other{"b", "10.0.0.2", 7};
  const auto back = decode(encode(Message{Sync{{kClaim}}}), other);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(std::get<Sync>(*back).claims.at(0).owner, (protocol::Pid{other, 1234}));
  const Update u =
      from_wire(protocol::NameUpdate{protocol::NameUpdateKind::add, {"n", 9, 1, 2, ""}}, other);
  EXPECT_EQ(u, (Update{UpdateKind::add, Claim{"n", protocol::Pid{other, 9}, Stamp{1, 2}, ""}}));
}

TEST(Messages, ASyncPartThatIsNotTheLastDecodesToNothing) {
  // The node's registry gathers the parts of a sync; the core only ever sees a whole one.
  protocol::NameSync part = std::get<protocol::NameSync>(to_wire(Message{Sync{{kClaim}}}));
  part.last = false;
  EXPECT_FALSE(decode(protocol::encode(part, protocol::Codec::msgpack), kSender).has_value());
  part.last = true;
  EXPECT_TRUE(decode(protocol::encode(part, protocol::Codec::msgpack), kSender).has_value());
  EXPECT_FALSE(
      decode(protocol::encode(protocol::NameSync{{}, false}, protocol::Codec::msgpack), kSender)
          .has_value());
}

TEST(Messages, AnythingButANameUpdateOrANameSyncDecodesToNothing) {
  const protocol::Pid p{kSender, 1};
  for (const protocol::Message& m :
       {protocol::Message{protocol::Ping{1}}, protocol::Message{protocol::Pong{1}},
        protocol::Message{protocol::Link{p, p}},
        protocol::Message{protocol::Send{p, std::string("counter"), {"t", nullptr}}}}) {
    EXPECT_FALSE(decode(protocol::encode(m, protocol::Codec::msgpack), kSender).has_value())
        << protocol::to_json_text(m);
  }
  // nor does the JSON codec's form of a NameUpdate: the wire between nodes is MessagePack
  EXPECT_FALSE(decode(protocol::encode(to_wire(Message{Update{UpdateKind::add, kClaim}}),
                                       protocol::Codec::json),
                      kSender)
                   .has_value());
  // a malformed NameUpdate: kind 2 does not exist
  std::vector<uint8_t> wire = encode(Message{Update{UpdateKind::add, kClaim}});
  ASSERT_EQ(wire.at(2), 0x00);  // [22, kind, claim]
  wire[2] = 0x02;
  EXPECT_FALSE(decode(wire, kSender).has_value());
}

TEST(Messages, DeepNestingAndTrailingBytesAreRefused) {
  EXPECT_FALSE(decode(std::vector<uint8_t>(1'000'000, 0x91), kSender).has_value());  // [[[[...
  std::vector<uint8_t> wire = encode(Message{Sync{}});
  ASSERT_TRUE(decode(wire, kSender).has_value());
  wire.push_back(0xc0);
  EXPECT_FALSE(decode(wire, kSender).has_value());
  EXPECT_FALSE(decode(std::vector<uint8_t>{0x92, 0x01, 0xc4, 0x00}, kSender).has_value());  // bin
}

TEST(Messages, AnUpdateCostsItsNameAndMetadataPlusNineteenBytes) {
  // [22, 0, ["counter", 1234, 1764000000000, 3, ""]]: array header 1, type 1, kind 1, claim
  // header 1, name 1 + 7, pid 3 (uint16), stamp_ms 9 (uint64), stamp_logical 1, metadata 1 + 0.
  const Update u{UpdateKind::add,
                 Claim{"counter", protocol::Pid{kSender, 1234}, Stamp{1'764'000'000'000, 3}, ""}};
  const size_t size = encode(Message{u}).size();
  EXPECT_EQ(size, std::string("counter").size() + 19);
  RecordProperty("update_bytes", static_cast<int>(size));
}

TEST(Messages, ASyncCostsFourBytesPlusItsClaims) {
  // [23, [claim...], true]: array header 1, type 1, claims header 1 (up to 15 claims), last 1;
  // each claim as in an update: its header 1, then 7 + 15 bytes for this one.
  const Claim c{"counter", protocol::Pid{kSender, 1234}, Stamp{1'764'000'000'000, 3}, ""};
  EXPECT_EQ(encode(Message{Sync{}}).size(), 4u);
  EXPECT_EQ(encode(Message{Sync{{c}}}).size(), 4u + 23u);
  EXPECT_EQ(encode(Message{Sync{{c, c, c}}}).size(), 4u + 3 * 23u);
}

}  // namespace
}  // namespace otp::global
