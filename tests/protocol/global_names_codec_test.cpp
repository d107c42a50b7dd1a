// The global-name messages (NameUpdate 22, NameSync 23) through both codecs: their exact wire
// layout (a reordered or inserted field fails here), round trips at the edges (no claims, many,
// unicode, big metadata, a part that is not the last), and refusals that name the bad field.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "otp/protocol/codec.hpp"

namespace otp::protocol {
namespace {

using nlohmann::json;

Bytes msgpack_of(const json& tree) {
  return json::to_msgpack(tree);
}
Bytes text_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

const NameClaim kClaim{"counter", 42, 1'700'000'000'123, 7, R"({"v":1})"};

/// A claim's positional form, as a peer writes it: [name, pid, stamp_ms, stamp_logical, metadata].
json claim_array(const NameClaim& c) {
  return json::array({c.name, c.pid, c.stamp_ms, c.stamp_logical, c.metadata});
}

/// n distinct claims, names and metadata growing with the index.
std::vector<NameClaim> claims(size_t n) {
  std::vector<NameClaim> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(NameClaim{"name-" + std::to_string(i), i, 1'700'000'000'000 + i,
                            static_cast<uint32_t>(i % 3), i % 2 == 0 ? "" : std::to_string(i)});
  }
  return out;
}

/// Decodes the encoding of m in codec, expecting m back.
void expect_round_trip(const Message& m, Codec codec) {
  auto back = decode(encode(m, codec), codec);
  ASSERT_TRUE(back.ok()) << to_string(codec) << ": " << back.error();
  EXPECT_EQ(back.value(), m) << to_string(codec);
}

void expect_round_trip_in_both(const Message& m) {
  expect_round_trip(m, Codec::msgpack);
  expect_round_trip(m, Codec::json);
  auto text = from_json_text(to_json_text(m));
  ASSERT_TRUE(text.ok()) << text.error();
  EXPECT_EQ(text.value(), m);
}

/// The context of the bad_field error decoding bytes gives ("" and a test failure otherwise).
std::string bad_field(const Bytes& bytes, Codec codec) {
  auto r = decode(bytes, codec);
  if (r.ok()) {
    ADD_FAILURE() << to_string(codec) << " decoded: " << to_json_text(r.value());
    return "";
  }
  EXPECT_EQ(r.error().code(), ErrorCode::bad_field) << r.error();
  return r.error().context();
}
std::string bad_msgpack(const json& tree) {
  return bad_field(msgpack_of(tree), Codec::msgpack);
}
std::string bad_json(std::string_view text) {
  return bad_field(text_of(text), Codec::json);
}

// -- wire layout --------------------------------------------------------------------------------

TEST(GlobalNamesWire, TypeIdsAndNamesArePinned) {
  EXPECT_EQ(static_cast<int>(MessageType::name_update), 22);
  EXPECT_EQ(static_cast<int>(MessageType::name_sync), 23);
  EXPECT_EQ(type_of(NameUpdate{}), MessageType::name_update);
  EXPECT_EQ(type_of(NameSync{}), MessageType::name_sync);
  EXPECT_STREQ(to_string(MessageType::name_update), "name_update");
  EXPECT_STREQ(to_string(MessageType::name_sync), "name_sync");
  // NameUpdateKind ids (ONLY APPEND)
  EXPECT_EQ(static_cast<int>(NameUpdateKind::add), 0);
  EXPECT_EQ(static_cast<int>(NameUpdateKind::remove), 1);
}

TEST(GlobalNamesWire, NameUpdateIsTypeKindThenTheClaimInFieldOrder) {
  const NameUpdate u{NameUpdateKind::remove, kClaim};
  EXPECT_EQ(json::from_msgpack(encode(u, Codec::msgpack)),
            json::parse(R"([22, 1, ["counter", 42, 1700000000123, 7, "{\"v\":1}"]])"));
  EXPECT_EQ(json::parse(to_json_text(u)), json::parse(R"({"type": "name_update", "kind": "remove",
      "claim": {"name": "counter", "pid": 42, "stamp_ms": 1700000000123, "stamp_logical": 7,
                "metadata": "{\"v\":1}"}})"));
}

TEST(GlobalNamesWire, NameSyncIsTypeClaimsThenLast) {
  const NameSync s{{kClaim, NameClaim{"b", 1, 2, 3, ""}}, false};
  EXPECT_EQ(json::from_msgpack(encode(s, Codec::msgpack)),
            json::parse(R"([23, [["counter", 42, 1700000000123, 7, "{\"v\":1}"],
                                 ["b", 1, 2, 3, ""]], false])"));
  EXPECT_EQ(json::parse(to_json_text(s)), json::parse(R"({"type": "name_sync", "claims": [
      {"name": "counter", "pid": 42, "stamp_ms": 1700000000123, "stamp_logical": 7,
       "metadata": "{\"v\":1}"},
      {"name": "b", "pid": 1, "stamp_ms": 2, "stamp_logical": 3, "metadata": ""}],
      "last": false})"));
}

TEST(GlobalNamesWire, TheSmallestMessagesAreAFewBytes) {
  // [22, 0, ["", 0, 0, 0, ""]]: fixarray(3) 22 0 fixarray(5) "" 0 0 0 ""
  EXPECT_EQ(encode(NameUpdate{}, Codec::msgpack),
            (Bytes{0x93, 22, 0x00, 0x95, 0xa0, 0x00, 0x00, 0x00, 0xa0}));
  // [23, [], true]
  EXPECT_EQ(encode(NameSync{}, Codec::msgpack), (Bytes{0x93, 23, 0x90, 0xc3}));
}

// -- round trips --------------------------------------------------------------------------------

TEST(GlobalNamesCodec, NameUpdatesOfBothKindsRoundTrip) {
  expect_round_trip_in_both(NameUpdate{NameUpdateKind::add, kClaim});
  expect_round_trip_in_both(NameUpdate{NameUpdateKind::remove, NameClaim{"counter", 42, 5, 0, ""}});
  expect_round_trip_in_both(NameUpdate{});
}

TEST(GlobalNamesCodec, ExtremeIntegersRoundTrip) {
  constexpr auto kMax64 = std::numeric_limits<uint64_t>::max();
  constexpr auto kMax32 = std::numeric_limits<uint32_t>::max();
  expect_round_trip_in_both(
      NameUpdate{NameUpdateKind::add, NameClaim{"x", kMax64, kMax64, kMax32, ""}});
}

TEST(GlobalNamesCodec, ASyncWithNoClaimsRoundTripsLastOrNot) {
  expect_round_trip_in_both(NameSync{{}, true});
  expect_round_trip_in_both(NameSync{{}, false});
}

TEST(GlobalNamesCodec, APartThatIsNotTheLastKeepsLastFalse) {
  const NameSync part{claims(3), false};
  auto back = decode(encode(part, Codec::msgpack), Codec::msgpack);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_FALSE(std::get<NameSync>(back.value()).last);
  expect_round_trip_in_both(part);
}

TEST(GlobalNamesCodec, ManyClaimsRoundTripAcrossEveryArrayHeaderSize) {
  // fixarray (<= 15), array 16 (<= 65535), array 32: the direct MessagePack writer must write
  // nlohmann's bytes for each, and the reader read them back.
  for (size_t n : {15u, 16u, 1000u, 65535u, 65536u}) {
    SCOPED_TRACE(n);
    const NameSync s{claims(n), true};
    const Bytes wire = encode(s, Codec::msgpack);
    EXPECT_EQ(json::to_msgpack(json::from_msgpack(wire)), wire);
    expect_round_trip(s, Codec::msgpack);
  }
  expect_round_trip(NameSync{claims(70'000), false}, Codec::json);
}

TEST(GlobalNamesCodec, UnicodeNamesAndMetadataRoundTrip) {
  const NameClaim c{"zähler-計数器-🧮", 7, 1, 0, R"({"ключ":"値","emoji":"🚀"})"};
  expect_round_trip_in_both(NameUpdate{NameUpdateKind::add, c});
  expect_round_trip_in_both(
      NameSync{{c, NameClaim{"\t\n\"quoted\\\u0001", 8, 1, 1, "\u007f"}}, true});
}

TEST(GlobalNamesCodec, NamesThatAreNotUtf8KeepTheirBytesInMessagePack) {
  // MessagePack carries bytes; JSON can only carry text and replaces them (U+FFFD).
  const NameUpdate u{NameUpdateKind::add, NameClaim{"\xff\xfe", 1, 1, 1, "\xc3"}};
  expect_round_trip(u, Codec::msgpack);
  auto text = from_json_text(to_json_text(u));
  ASSERT_TRUE(text.ok()) << text.error();
  EXPECT_EQ(std::get<NameUpdate>(text.value()).claim.name, "\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(GlobalNamesCodec, BigMetadataRoundTripsThroughEveryStringHeaderSize) {
  // fixstr (<= 31), str 8 (<= 255), str 16 (<= 65535), str 32
  for (size_t n : {31u, 32u, 255u, 256u, 65535u, 65536u, 1u << 20}) {
    SCOPED_TRACE(n);
    const NameUpdate u{NameUpdateKind::add,
                       NameClaim{std::string(n, 'n'), 1, 2, 3, "\"" + std::string(n, 'm') + "\""}};
    const Bytes wire = encode(u, Codec::msgpack);
    EXPECT_EQ(json::to_msgpack(json::from_msgpack(wire)), wire);
    expect_round_trip_in_both(u);
  }
}

TEST(GlobalNamesCodec, EveryTruncationOfASyncIsAnError) {
  const NameSync s{claims(4), false};
  for (Codec codec : {Codec::msgpack, Codec::json}) {
    const Bytes full = encode(s, codec);
    for (size_t n = 0; n < full.size(); ++n) {
      EXPECT_FALSE(decode(std::span(full.data(), n), codec).ok())
          << to_string(codec) << " prefix of " << n << " bytes decoded";
    }
  }
}

TEST(GlobalNamesCodec, FieldsAppendedByALaterVersionAreIgnored) {
  // In a claim, in the update and in the sync: MessagePack trailing elements, JSON unknown keys.
  auto u = decode(msgpack_of(json::array({22, 0, json::array({"n", 1, 2, 3, "", "later"}), 9})),
                  Codec::msgpack);
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(std::get<NameUpdate>(u.value()), (NameUpdate{NameUpdateKind::add, {"n", 1, 2, 3, ""}}));
  auto s = decode(msgpack_of(json::array(
                      {23, json::array({json::array({"n", 1, 2, 3, "", {}})}), true, "later"})),
                  Codec::msgpack);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(std::get<NameSync>(s.value()), (NameSync{{{"n", 1, 2, 3, ""}}, true}));
  auto j = from_json_text(R"({"type": "name_sync", "later": 1, "last": true, "claims": [
      {"name": "n", "pid": 1, "stamp_ms": 2, "stamp_logical": 3, "metadata": "", "later": []}]})");
  ASSERT_TRUE(j.ok()) << j.error();
  EXPECT_EQ(std::get<NameSync>(j.value()), (NameSync{{{"n", 1, 2, 3, ""}}, true}));
}

// -- refusals -----------------------------------------------------------------------------------

/// [23, [4 good claims, bad], true]: the bad claim is claims.4.
json sync_with_bad_claim(json bad) {
  json list = json::array();
  for (const auto& c : claims(4)) list.push_back(claim_array(c));
  list.push_back(std::move(bad));
  return json::array({23, std::move(list), true});
}

TEST(GlobalNamesRefusal, AClaimWithAMissingFieldNamesIt) {
  EXPECT_EQ(bad_msgpack(sync_with_bad_claim(json::array({"n", 1, 2, 3}))),
            "name_sync.claims.4.metadata: missing (array has 4 elements)");
  EXPECT_EQ(bad_msgpack(sync_with_bad_claim(json::array())),
            "name_sync.claims.4.name: missing (array has 0 elements)");
  EXPECT_EQ(bad_msgpack(json::array({22, 0, json::array({"n", 1})})),
            "name_update.claim.stamp_ms: missing (array has 2 elements)");
  EXPECT_EQ(bad_msgpack(json::array({22, 0})), "name_update.claim: missing (array has 2 elements)");
  EXPECT_EQ(bad_msgpack(json::array({23, json::array()})),
            "name_sync.last: missing (array has 2 elements)");
  EXPECT_EQ(bad_json(R"({"type": "name_sync", "last": true, "claims": [
      {"name": "a", "pid": 1, "stamp_ms": 2, "stamp_logical": 3, "metadata": ""},
      {"name": "b", "stamp_ms": 2, "stamp_logical": 3, "metadata": ""}]})"),
            "name_sync.claims.1.pid: missing");
  EXPECT_EQ(bad_json(R"({"type": "name_update", "kind": "add"})"), "name_update.claim: missing");
  EXPECT_EQ(bad_json(R"({"type": "name_sync", "claims": []})"), "name_sync.last: missing");
}

TEST(GlobalNamesRefusal, AMistypedFieldNamesItsPath) {
  EXPECT_EQ(bad_msgpack(sync_with_bad_claim(json::array({"n", "42", 2, 3, ""}))),
            "name_sync.claims.4.pid: expected an unsigned integer");
  EXPECT_EQ(bad_msgpack(sync_with_bad_claim(json::array({7, 1, 2, 3, ""}))),
            "name_sync.claims.4.name: expected a string");
  EXPECT_EQ(bad_msgpack(sync_with_bad_claim(json::array({"n", -1, 2, 3, ""}))),
            "name_sync.claims.4.pid: expected an unsigned integer");
  EXPECT_EQ(bad_msgpack(sync_with_bad_claim(json::array({"n", 1, 2.5, 3, ""}))),
            "name_sync.claims.4.stamp_ms: expected an unsigned integer");
  EXPECT_EQ(bad_msgpack(sync_with_bad_claim(json::array({"n", 1, 2, 3, nullptr}))),
            "name_sync.claims.4.metadata: expected a string");
  EXPECT_EQ(bad_msgpack(json::array({23, json::array(), 1})), "name_sync.last: expected a boolean");
  EXPECT_EQ(bad_msgpack(json::array({22, "add", claim_array(kClaim)})),
            "name_update.kind: expected an enum id");
  EXPECT_EQ(bad_json(R"({"type": "name_update", "kind": 0, "claim": {"name": "n", "pid": 1,
      "stamp_ms": 2, "stamp_logical": 3, "metadata": ""}})"),
            "name_update.kind: expected an enum name");
  EXPECT_EQ(bad_json(R"({"type": "name_update", "kind": "add", "claim": {"name": "n", "pid": 1,
      "stamp_ms": 2, "stamp_logical": 3, "metadata": {"v": 1}}})"),
            "name_update.claim.metadata: expected a string");
}

TEST(GlobalNamesRefusal, AStampLogicalAboveUint32IsOutOfRange) {
  const uint64_t too_big = uint64_t{std::numeric_limits<uint32_t>::max()} + 1;
  EXPECT_EQ(bad_msgpack(json::array({22, 0, json::array({"n", 1, 2, too_big, ""})})),
            "name_update.claim.stamp_logical: out of range: 4294967296");
  EXPECT_EQ(bad_msgpack(sync_with_bad_claim(json::array({"n", 1, 2, too_big, ""}))),
            "name_sync.claims.4.stamp_logical: out of range: 4294967296");
  EXPECT_EQ(bad_json(R"({"type": "name_sync", "last": true, "claims": [{"name": "n", "pid": 1,
      "stamp_ms": 2, "stamp_logical": 18446744073709551615, "metadata": ""}]})"),
            "name_sync.claims.0.stamp_logical: out of range: 18446744073709551615");
}

TEST(GlobalNamesRefusal, AnUnknownUpdateKindIsRefused) {
  EXPECT_EQ(bad_msgpack(json::array({22, 2, claim_array(kClaim)})),
            "name_update.kind: unknown value 2");
  EXPECT_EQ(bad_msgpack(json::array({22, 256, claim_array(kClaim)})),
            "name_update.kind: unknown value 256");
  EXPECT_EQ(bad_json(R"({"type": "name_update", "kind": "rename", "claim": {"name": "n",
      "pid": 1, "stamp_ms": 2, "stamp_logical": 3, "metadata": ""}})"),
            R"(name_update.kind: unknown value "rename")");
}

TEST(GlobalNamesRefusal, ClaimsMustBeAnArrayOfClaims) {
  EXPECT_EQ(bad_msgpack(json::array({23, json::object({{"0", claim_array(kClaim)}}), true})),
            "name_sync.claims: expected an array");
  EXPECT_EQ(bad_msgpack(json::array({23, "claims", true})), "name_sync.claims: expected an array");
  EXPECT_EQ(bad_msgpack(json::array({23, nullptr, true})), "name_sync.claims: expected an array");
  EXPECT_EQ(bad_json(R"({"type": "name_sync", "claims": {}, "last": true})"),
            "name_sync.claims: expected an array");
  // an element that is not a claim
  EXPECT_EQ(bad_msgpack(sync_with_bad_claim(5)), "name_sync.claims.4: expected an array");
  EXPECT_EQ(bad_msgpack(sync_with_bad_claim("counter")), "name_sync.claims.4: expected an array");
  EXPECT_EQ(bad_msgpack(json::array({23, json::array({nullptr}), true})),
            "name_sync.claims.0: expected an array");
  EXPECT_EQ(bad_json(R"({"type": "name_sync", "claims": [[]], "last": true})"),
            "name_sync.claims.0: expected an object");
  EXPECT_EQ(bad_msgpack(json::array({22, 0, "counter"})), "name_update.claim: expected an array");
}

TEST(GlobalNamesRefusal, OnlyTheFirstBadClaimIsReported) {
  // A claim after the first bad one is not read (nor is an error about it reported).
  json tree = sync_with_bad_claim(json::array({"n", true, 2, 3, ""}));
  tree[1].push_back(json::array({1, 2, 3}));
  EXPECT_EQ(bad_msgpack(tree), "name_sync.claims.4.pid: expected an unsigned integer");
}

// -- decode limits ------------------------------------------------------------------------------

TEST(GlobalNamesLimits, DeeplyNestedClaimsAreTooDeepNotAStackOverflow) {
  // [23, [[[[...100k levels...]]]], true]: the parser stops at the depth limit.
  Bytes deep{0x93, 23};
  deep.insert(deep.end(), 100'000, 0x91);
  deep.push_back(0xc0);
  EXPECT_EQ(decode(deep, Codec::msgpack).error().code(), ErrorCode::too_deep);
  std::string text = R"({"type": "name_sync", "last": true, "claims": )";
  text.append(100'000, '[');
  EXPECT_EQ(decode(text_of(text), Codec::json).error().code(), ErrorCode::too_deep);
}

TEST(GlobalNamesLimits, NestingWithinTheLimitIsABadFieldNotACrash) {
  // claims.0.name is an array 100 deep: parsed (under 128), refused by the reader.
  json nested = "x";
  for (int i = 0; i < 100; ++i) nested = json::array({std::move(nested)});
  EXPECT_EQ(bad_msgpack(json::array({23, json::array({json::array({nested, 1, 2, 3, ""})}), true})),
            "name_sync.claims.0.name: expected a string");
  EXPECT_EQ(bad_msgpack(json::array({23, json::array({nested}), true})),
            "name_sync.claims.0.name: expected a string");
}

TEST(GlobalNamesLimits, ASyncIsThreeLevelsDeep) {
  // envelope, claims, claim: the depth limit counts all three.
  const Bytes wire = encode(NameSync{claims(2), true}, Codec::msgpack);
  EXPECT_TRUE(decode(wire, Codec::msgpack, {.max_depth = 3}).ok());
  EXPECT_EQ(decode(wire, Codec::msgpack, {.max_depth = 2}).error().code(), ErrorCode::too_deep);
  const Bytes empty = encode(NameSync{}, Codec::msgpack);
  EXPECT_TRUE(decode(empty, Codec::msgpack, {.max_depth = 2}).ok());
  const Bytes update = encode(NameUpdate{}, Codec::json);
  EXPECT_TRUE(decode(update, Codec::json, {.max_depth = 2}).ok());
  EXPECT_EQ(decode(update, Codec::json, {.max_depth = 1}).error().code(), ErrorCode::too_deep);
}

TEST(GlobalNamesLimits, AHugeArrayOfNonClaimsIsRefusedAtItsFirstElement) {
  // A frame-sized array of nils (1 byte each): refused at claims.0, without reading the rest.
  constexpr uint32_t n = 1'000'000;
  Bytes wire{0x93, 23, 0xdd};  // [23, array 32 of n nils, true]
  for (int shift = 24; shift >= 0; shift -= 8) wire.push_back(static_cast<uint8_t>(n >> shift));
  wire.insert(wire.end(), n, 0xc0);
  wire.push_back(0xc3);
  EXPECT_EQ(bad_field(wire, Codec::msgpack), "name_sync.claims.0: expected an array");
}

}  // namespace
}  // namespace otp::protocol
