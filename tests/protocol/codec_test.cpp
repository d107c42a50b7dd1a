// Codec unit tests: malformed input first, then the wire shapes both codecs promise.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "otp/protocol/codec.hpp"

namespace otp::protocol {
namespace {

using nlohmann::json;

const NodeId kNode{"a", "host", 3};
const Pid kPid{kNode, 42};

Bytes msgpack_of(const json& tree) {
  return json::to_msgpack(tree);
}
Bytes text_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

Call sample_call() {
  return Call{kPid, std::string("counter"), Ref{kNode, 7}, Payload{"counter.get", {{"x", 1}}}};
}

// -- decode: malformed input ------------------------------------------------------------------

TEST(Decode, EmptyInputIsMalformedInBothCodecs) {
  EXPECT_EQ(decode({}, Codec::msgpack).error().code(), ErrorCode::malformed);
  EXPECT_EQ(decode({}, Codec::json).error().code(), ErrorCode::malformed);
}

TEST(Decode, GarbageBytesAreMalformed) {
  const Bytes garbage{0xc1, 0xff, 0x00, 0x13};  // 0xc1 is never used in MessagePack
  EXPECT_EQ(decode(garbage, Codec::msgpack).error().code(), ErrorCode::malformed);
  EXPECT_EQ(decode(text_of("{\"type\": "), Codec::json).error().code(), ErrorCode::malformed);
  EXPECT_EQ(decode(text_of("hello"), Codec::json).error().code(), ErrorCode::malformed);
}

TEST(Decode, EveryTruncationOfAValidMessageIsAnError) {
  for (Codec codec : {Codec::msgpack, Codec::json}) {
    const Bytes full = encode(sample_call(), codec);
    for (size_t n = 0; n < full.size(); ++n) {
      auto r = decode(std::span(full.data(), n), codec);
      EXPECT_FALSE(r.ok()) << to_string(codec) << " prefix of " << n << " bytes decoded";
    }
  }
}

TEST(Decode, TrailingBytesAfterAMessageAreMalformed) {
  Bytes wire = encode(Ping{1}, Codec::msgpack);
  wire.push_back(0x00);
  EXPECT_EQ(decode(wire, Codec::msgpack).error().code(), ErrorCode::malformed);
}

TEST(Decode, NestingDeeperThanTheLimitIsRefusedWithoutRecursingIntoIt) {
  // 100k nested one-element arrays: would overflow the stack of a recursive parser.
  Bytes deep(100000, 0x91);
  deep.push_back(0xc0);
  EXPECT_EQ(decode(deep, Codec::msgpack).error().code(), ErrorCode::too_deep);
  std::string text(100000, '[');
  EXPECT_EQ(decode(text_of(text), Codec::json).error().code(), ErrorCode::too_deep);
}

TEST(Decode, DepthLimitIsConfigurable) {
  Send s{kPid, kPid, Payload{"t", json::array({json::array({json::array()})})}};
  const Bytes wire = encode(s, Codec::msgpack);
  EXPECT_TRUE(decode(wire, Codec::msgpack).ok());
  EXPECT_EQ(decode(wire, Codec::msgpack, {.max_depth = 4}).error().code(), ErrorCode::too_deep);
}

TEST(Decode, BinaryValuesAreNotJsonCompatibleAndRefused) {
  json tree = json::array({10, json::array({json::array({"a", "h", 1}), 1}), "to",
                           json::array({"t", json::binary({1, 2, 3})})});
  EXPECT_EQ(decode(msgpack_of(tree), Codec::msgpack).error().code(), ErrorCode::malformed);
}

TEST(Decode, UnknownMessageTypeIdIsReportedAsSuch) {
  auto r = decode(msgpack_of(json::array({250, 1})), Codec::msgpack);
  EXPECT_EQ(r.error().code(), ErrorCode::unknown_message);
  EXPECT_NE(r.error().context().find("250"), std::string::npos);
  auto j = decode(text_of(R"({"type": "teleport"})"), Codec::json);
  EXPECT_EQ(j.error().code(), ErrorCode::unknown_message);
}

TEST(Decode, NonArrayOrNonObjectMessagesAreBadFields) {
  EXPECT_EQ(decode(msgpack_of(json(5)), Codec::msgpack).error().code(), ErrorCode::bad_field);
  EXPECT_EQ(decode(msgpack_of(json::array()), Codec::msgpack).error().code(), ErrorCode::bad_field);
  EXPECT_EQ(decode(text_of("[1, 2]"), Codec::json).error().code(), ErrorCode::bad_field);
  EXPECT_EQ(decode(text_of(R"({"type": 20})"), Codec::json).error().code(), ErrorCode::bad_field);
}

TEST(Decode, AMissingFieldIsNamedWithItsPath) {
  // ping without its seq
  auto r = decode(msgpack_of(json::array({20})), Codec::msgpack);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::bad_field);
  EXPECT_EQ(r.error().context(), "ping.seq: missing (array has 1 elements)");
  auto j = decode(text_of(R"({"type": "link", "from": {"node": {"name": "a", "host": "h",
      "creation": 1}, "id": 1}})"),
                  Codec::json);
  EXPECT_EQ(j.error().context(), "link.to: missing");
}

TEST(Decode, AMistypedNestedFieldIsNamedWithItsPath) {
  json tree = json::array({17, json::array({json::array({"a", "h", -1}), 1}),
                           json::array({json::array({"a", "h", 1}), 2})});
  auto r = decode(msgpack_of(tree), Codec::msgpack);
  EXPECT_EQ(r.error().code(), ErrorCode::bad_field);
  EXPECT_EQ(r.error().context(), "link.from.node.creation: expected an unsigned integer");
}

TEST(Decode, OutOfRangeIntegersAndUnknownEnumValuesAreBadFields) {
  // A name claim's stamp_logical is 32 bits.
  json too_big = json::array({22, 0, json::array({"n", 1, 2, 1ULL << 40, ""})});
  EXPECT_NE(decode(msgpack_of(too_big), Codec::msgpack).error().context().find("out of range"),
            std::string::npos);
  json bad_reason = json::array({3, 99, "why"});
  EXPECT_EQ(decode(msgpack_of(bad_reason), Codec::msgpack).error().context(),
            "reject.reason: unknown value 99");
  EXPECT_EQ(decode(text_of(R"({"type": "reject", "reason": "grumpy", "detail": ""})"), Codec::json)
                .error()
                .context(),
            "reject.reason: unknown value \"grumpy\"");
}

TEST(Decode, ChallengesMustBeExactly64HexDigits) {
  json tree = json::array({2, "abcd"});
  EXPECT_EQ(decode(msgpack_of(tree), Codec::msgpack).error().context(),
            "proof.mac: expected 64 lowercase hex digits");
  json upper = json::array({2, std::string(64, 'A')});
  EXPECT_EQ(decode(msgpack_of(upper), Codec::msgpack).error().code(), ErrorCode::bad_field);
}

TEST(Decode, AReplyResultMustBeOkOrError) {
  json r = json::array({12, json::array({json::array({"a", "h", 1}), 1}),
                        json::array({json::array({"a", "h", 1}), 2}), json::array({2, nullptr})});
  EXPECT_EQ(decode(msgpack_of(r), Codec::msgpack).error().context(),
            "reply.result: expected [0, value] or [1, error]");
}

// -- forward compatibility --------------------------------------------------------------------

TEST(Decode, ExtraTrailingFieldsAndUnknownKeysAreIgnored) {
  auto r = decode(msgpack_of(json::array({20, 5, "from a later version"})), Codec::msgpack);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(std::get<Ping>(r.value()).seq, 5u);
  auto j = from_json_text(R"({"type": "pong", "seq": 6, "later": true})");
  ASSERT_TRUE(j.ok()) << j.error();
  EXPECT_EQ(std::get<Pong>(j.value()).seq, 6u);
}

// -- wire shapes ------------------------------------------------------------------------------

TEST(Encode, MsgpackIsPositionalWithTheTypeIdFirst) {
  const json tree = json::from_msgpack(encode(Ping{9}, Codec::msgpack));
  EXPECT_EQ(tree, json::array({20, 9}));
}

TEST(Encode, JsonIsNamedAndReadable) {
  const json tree = json::parse(to_json_text(sample_call()));
  EXPECT_EQ(tree["type"], "call");
  EXPECT_EQ(tree["to"], "counter");
  EXPECT_EQ(tree["from"]["node"]["name"], "a");
  EXPECT_EQ(tree["from"]["id"], 42);
  EXPECT_EQ(tree["request"]["type"], "counter.get");
  EXPECT_EQ(tree["request"]["value"]["x"], 1);
}

TEST(Encode, AToolCanWriteACallAsPlainJson) {
  auto m = from_json_text(R"({"type": "cast",
      "from": {"node": {"name": "ctl", "host": "laptop", "creation": 1}, "id": 1},
      "to": "counter", "request": {"type": "counter.increment", "value": {"by": 5}}})");
  ASSERT_TRUE(m.ok()) << m.error();
  const auto& cast = std::get<Cast>(m.value());
  EXPECT_EQ(std::get<std::string>(cast.to), "counter");
  EXPECT_EQ(cast.request.value["by"], 5);
}

TEST(Encode, InvalidUtf8IsReplacedInJsonInsteadOfThrowing) {
  Send s{kPid, std::string("\xff\xfe"), Payload{"t", "\xc3"}};
  const std::string text = to_json_text(s);
  EXPECT_NE(text.find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD
  EXPECT_TRUE(from_json_text(text).ok());
}

TEST(Encode, ReplyErrorsCarryCodeDetailAndReason) {
  Reply r{kPid, Ref{kNode, 1},
          CallError{CallErrorCode::exit, "call to counter", {ReasonKind::error, "boom"}}};
  const json tree = json::parse(to_json_text(r));
  EXPECT_EQ(tree["result"]["error"]["code"], "exit");
  EXPECT_EQ(tree["result"]["error"]["reason"]["kind"], "error");
  auto back = decode(encode(r, Codec::msgpack), Codec::msgpack);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(std::get<Reply>(back.value()), r);
}

}  // namespace
}  // namespace otp::protocol
