// The hybrid logical clock's guarantees, and the draft wire form of the table's messages.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "otp/global/hlc.hpp"
#include "otp/global/messages.hpp"

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

RC_GTEST_PROP(MessagesProperty, UpdatesAndSyncsRoundTrip, ()) {
  Message m;
  if (*rc::gen::arbitrary<bool>()) {
    m = Update{*rc::gen::element(UpdateKind::add, UpdateKind::remove), arbitrary_claim()};
  } else {
    Sync s;
    const int n = *rc::gen::inRange(0, 20);
    for (int i = 0; i < n; ++i) s.claims.push_back(arbitrary_claim());
    m = std::move(s);
  }
  const std::optional<Message> back = decode(encode(m), kSender);
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == m);
}

RC_GTEST_PROP(MessagesProperty, ArbitraryBytesGiveAMessageOrNothingNeverACrash,
              (std::vector<uint8_t> bytes)) {
  (void)decode(bytes, kSender);
}

TEST(Messages, DeepNestingAndTrailingBytesAreRefused) {
  EXPECT_FALSE(decode(std::vector<uint8_t>(1'000'000, 0x91), kSender).has_value());  // [[[[...
  std::vector<uint8_t> wire = encode(Message{Sync{}});
  ASSERT_TRUE(decode(wire, kSender).has_value());
  wire.push_back(0xc0);
  EXPECT_FALSE(decode(wire, kSender).has_value());
  EXPECT_FALSE(decode(std::vector<uint8_t>{0x92, 0x01, 0xc4, 0x00}, kSender).has_value());  // bin
}

TEST(Messages, AnUpdateCostsAboutItsNameAndMetadataPlusTwentyBytes) {
  const Update u{UpdateKind::add,
                 Claim{"counter", protocol::Pid{kSender, 1234}, Stamp{1'764'000'000'000, 3}, ""}};
  const size_t size = encode(Message{u}).size();
  EXPECT_LE(size, std::string("counter").size() + 25);
  RecordProperty("update_bytes", static_cast<int>(size));
}

}  // namespace
}  // namespace otp::global
