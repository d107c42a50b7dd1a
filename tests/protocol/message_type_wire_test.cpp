// Message kinds on the wire: every MessageType's numeric id (MessagePack) and name (JSON) is
// pinned here, one by one, so renumbering, renaming or reusing one fails this test; an id or
// name that is not pinned is an unknown message.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "otp/protocol/codec.hpp"

namespace otp::protocol {
namespace {

using nlohmann::json;

struct PinnedType {
  Message sample;
  uint8_t id;
  const char* name;
};

// ONLY APPEND: these are the wire ids. Never edit a line.
const std::vector<PinnedType> kPinnedTypes = {
    {Hello{}, 1, "hello"},          {Proof{}, 2, "proof"},
    {Reject{}, 3, "reject"},        {Send{}, 10, "send"},
    {Call{}, 11, "call"},           {Reply{}, 12, "reply"},
    {Cast{}, 13, "cast"},           {Monitor{}, 14, "monitor"},
    {Demonitor{}, 15, "demonitor"}, {Down{}, 16, "down"},
    {Link{}, 17, "link"},           {Unlink{}, 18, "unlink"},
    {Exit{}, 19, "exit"},           {Ping{}, 20, "ping"},
    {Pong{}, 21, "pong"},           {NameUpdate{}, 22, "name_update"},
    {NameSync{}, 23, "name_sync"},
};

TEST(MessageTypeWire, EveryKindKeepsItsIdAndName) {
  for (const auto& pin : kPinnedTypes) {
    SCOPED_TRACE(pin.name);
    EXPECT_EQ(static_cast<int>(type_of(pin.sample)), pin.id);
    EXPECT_STREQ(to_string(type_of(pin.sample)), pin.name);
    EXPECT_EQ(json::from_msgpack(encode(pin.sample, Codec::msgpack))[0], pin.id);
    EXPECT_EQ(json::parse(to_json_text(pin.sample))["type"], pin.name);
  }
}

TEST(MessageTypeWire, EveryKindIsPinned) {
  // A Message alternative appended without a line in kPinnedTypes fails here.
  std::set<size_t> alternatives;
  for (const auto& pin : kPinnedTypes) alternatives.insert(pin.sample.index());
  EXPECT_EQ(alternatives.size(), kPinnedTypes.size()) << "a kind is pinned twice";
  EXPECT_EQ(alternatives.size(), std::variant_size_v<Message>)
      << "a Message kind is not pinned in kPinnedTypes";
}

TEST(MessageTypeWire, AnIdOrNameThatIsNotPinnedIsAnUnknownMessage) {
  std::set<int> pinned;
  for (const auto& pin : kPinnedTypes) pinned.insert(pin.id);
  for (int id = 0; id < 256; ++id) {
    // [id] alone: a pinned kind is missing its fields, any other is unknown
    auto r = decode(json::to_msgpack(json::array({id})), Codec::msgpack);
    ASSERT_FALSE(r.ok()) << id;
    EXPECT_EQ(r.error().code() == ErrorCode::unknown_message, !pinned.contains(id))
        << "id " << id << ": " << r.error();
  }
  for (const char* name : {"name_updates", "NameSync", "global", ""}) {
    auto r = from_json_text(json::object({{"type", name}}).dump());
    EXPECT_EQ(r.error().code(), ErrorCode::unknown_message) << name;
  }
}

}  // namespace
}  // namespace otp::protocol
