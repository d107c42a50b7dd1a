// EventLog: the text and JSON forms of a line, with quoting and escapes.
#include <gtest/gtest.h>

#include "otp/cluster/event_log.hpp"

namespace otp::cluster {
namespace {

TEST(EventLog, TextQuotesOnlyValuesThatNeedIt) {
  EventLog log(LogFormat::text, "a@127.0.0.1");
  EXPECT_EQ(
      log.line("T", "info", "nodedown", {{"peer", "b@127.0.0.1"}, {"reason", "heartbeat timeout"}}),
      "T info node=a@127.0.0.1 event=nodedown peer=b@127.0.0.1 reason=\"heartbeat timeout\"");
  EXPECT_EQ(log.line("T", "warning", "log", {{"msg", "say \"x=1\"\n"}}),
            "T warning node=a@127.0.0.1 event=log msg=\"say \\\"x=1\\\"\\n\"");
}

TEST(EventLog, JsonIsOneObjectWithEveryField) {
  EventLog log(LogFormat::json, "a@127.0.0.1");
  EXPECT_EQ(log.line("T", "info", "nodeup", {{"peer", "b@h"}, {"msg", "q\"\\\x01"}}),
            "{\"time\":\"T\",\"level\":\"info\",\"node\":\"a@127.0.0.1\",\"event\":\"nodeup\","
            "\"peer\":\"b@h\",\"msg\":\"q\\\"\\\\\\u0001\"}");
}

TEST(EventLog, ParsesItsFormatNames) {
  EXPECT_EQ(parse_log_format("text"), LogFormat::text);
  EXPECT_EQ(parse_log_format("json"), LogFormat::json);
  EXPECT_FALSE(parse_log_format("xml"));
}

}  // namespace
}  // namespace otp::cluster
