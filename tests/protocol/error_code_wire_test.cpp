// otp::ErrorCode on the wire: every code's numeric id is pinned here, one by one, so renumbering
// or reusing an id fails this test; a remote error keeps its code in both codecs, including
// codes appended after the runtime's; an id this build does not know is a decode error.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "otp/error.hpp"
#include "otp/protocol/codec.hpp"

namespace otp::protocol {
namespace {

using nlohmann::json;

struct PinnedId {
  ErrorCode code;
  uint16_t id;
  const char* name;
};

// ONLY APPEND: these are the wire ids. Never edit a line.
const std::vector<PinnedId> kPinnedIds = {
    {ErrorCode::noproc, 0, "noproc"},
    {ErrorCode::timeout, 1, "timeout"},
    {ErrorCode::exit, 2, "exit"},
    {ErrorCode::bad_call, 3, "bad_call"},
    {ErrorCode::bad_reply, 4, "bad_reply"},
    {ErrorCode::already_started, 5, "already_started"},
    {ErrorCode::ignored, 6, "ignored"},
    {ErrorCode::init_failed, 7, "init_failed"},
    {ErrorCode::max_children, 8, "max_children"},
    {ErrorCode::not_found, 9, "not_found"},
    {ErrorCode::running, 10, "running"},
    {ErrorCode::restarting, 11, "restarting"},
    {ErrorCode::calling_self, 12, "calling_self"},
    {ErrorCode::would_block, 13, "would_block"},
    {ErrorCode::shutting_down, 14, "shutting_down"},
    {ErrorCode::nodedown, 15, "nodedown"},
    {ErrorCode::badarg, 16, "badarg"},
    {ErrorCode::overload, 17, "overload"},
    {ErrorCode::malformed, 18, "malformed"},
    {ErrorCode::too_deep, 19, "too_deep"},
    {ErrorCode::unknown_message, 20, "unknown_message"},
    {ErrorCode::bad_field, 21, "bad_field"},
    {ErrorCode::frame_too_large, 22, "frame_too_large"},
    {ErrorCode::internal, 23, "internal"},
    {ErrorCode::bad_address, 24, "bad_address"},
    {ErrorCode::unresolved, 25, "unresolved"},
    {ErrorCode::listen_failed, 26, "listen_failed"},
    {ErrorCode::unknown_error, 27, "unknown_error"},
    {ErrorCode::already_registered, 28, "already_registered"},
    {ErrorCode::not_owner, 29, "not_owner"},
};

const NodeId kNode{"a", "host", 3};

Reply error_reply(ErrorCode code) {
  return Reply{Pid{kNode, 1}, Ref{kNode, 2},
               CallError{CallErrorCode::error, "lookup of user 7", {}, code}};
}

TEST(ErrorCodeWire, EveryCodeKeepsItsId) {
  for (const auto& pin : kPinnedIds) {
    SCOPED_TRACE(pin.name);
    EXPECT_EQ(static_cast<uint16_t>(pin.code), pin.id);
    EXPECT_STREQ(to_string(pin.code), pin.name);
    EXPECT_EQ(error_code_from_id(pin.id), pin.code);
  }
}

TEST(ErrorCodeWire, EveryKnownIdIsPinned) {
  // A code appended to the enum without a line in kPinnedIds fails here.
  EXPECT_EQ(error_code_from_id(kPinnedIds.size()), std::nullopt)
      << "ErrorCode " << kPinnedIds.size() << " exists: pin it in kPinnedIds";
  EXPECT_EQ(error_code_from_id(65535), std::nullopt);
  EXPECT_EQ(error_code_from_id(1u << 20), std::nullopt);
}

TEST(ErrorCodeWire, EveryCodeRoundTripsInBothCodecs) {
  for (const auto& pin : kPinnedIds) {
    SCOPED_TRACE(pin.name);
    for (Codec codec : {Codec::msgpack, Codec::json}) {
      auto back = decode(encode(error_reply(pin.code), codec), codec);
      ASSERT_TRUE(back.ok()) << back.error();
      EXPECT_EQ(std::get<CallError>(std::get<Reply>(back.value()).result).error_code, pin.code);
    }
  }
}

TEST(ErrorCodeWire, IsTheNumericIdInJsonToo) {
  const json tree = json::parse(to_json_text(error_reply(ErrorCode::bad_address)));
  EXPECT_EQ(tree["result"]["error"]["error_code"], 24);
  const json positional =
      json::from_msgpack(encode(error_reply(ErrorCode::bad_address), Codec::msgpack));
  EXPECT_EQ(positional[3][1][3], 24);  // [type, to, ref, [1, [code, detail, reason, id]]]
}

TEST(ErrorCodeWire, AnIdFromANewerPeerIsAnUnknownErrorThatKeepsItsText) {
  // The reply is kept, so the caller gets an error at once instead of waiting for its timeout.
  json tree = json::from_msgpack(encode(error_reply(ErrorCode::noproc), Codec::msgpack));
  tree[3][1][3] = 999;
  auto r = decode(json::to_msgpack(tree), Codec::msgpack);
  ASSERT_TRUE(r.ok()) << r.error();
  const auto& e = std::get<CallError>(std::get<Reply>(r.value()).result);
  EXPECT_EQ(e.error_code, ErrorCode::unknown_error);
  EXPECT_EQ(e.detail, "lookup of user 7");
}

TEST(ErrorCodeWire, AnIdBeyondTheEnumsRangeOrANameIsABadFieldNotACrash) {
  json tree = json::from_msgpack(encode(error_reply(ErrorCode::noproc), Codec::msgpack));
  tree[3][1][3] = 1u << 20;
  auto r = decode(json::to_msgpack(tree), Codec::msgpack);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), ErrorCode::bad_field);
  EXPECT_NE(r.error().context().find("error_code: unknown value 1048576"), std::string::npos)
      << r.error();

  json named = json::parse(to_json_text(error_reply(ErrorCode::noproc)));
  named["result"]["error"]["error_code"] = "noproc";  // a name is not an id
  auto j = from_json_text(named.dump());
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error(), ErrorCode::bad_field);
}

}  // namespace
}  // namespace otp::protocol
