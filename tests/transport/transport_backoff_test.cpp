// reconnect_delay: the redial backoff as a pure function of the attempt and a random draw.
#include <gtest/gtest.h>

#include "otp/cluster/transport.hpp"

namespace otp::cluster {
namespace {

using std::chrono::milliseconds;

TransportOptions backoff(milliseconds initial, milliseconds max, double jitter) {
  TransportOptions c;
  c.reconnect_initial = initial;
  c.reconnect_max = max;
  c.reconnect_jitter = jitter;
  return c;
}

TEST(TransportReconnectDelay, DoublesFromTheInitialDelayUpToTheMaximum) {
  const auto c = backoff(milliseconds(100), milliseconds(1000), 0.0);
  EXPECT_EQ(reconnect_delay(c, 0, 0.5), milliseconds(100));
  EXPECT_EQ(reconnect_delay(c, 1, 0.5), milliseconds(200));
  EXPECT_EQ(reconnect_delay(c, 2, 0.5), milliseconds(400));
  EXPECT_EQ(reconnect_delay(c, 3, 0.5), milliseconds(800));
  EXPECT_EQ(reconnect_delay(c, 4, 0.5), milliseconds(1000));
  EXPECT_EQ(reconnect_delay(c, 1000, 0.5), milliseconds(1000));  // no overflow
}

TEST(TransportReconnectDelay, JitterSpreadsTheDelayByTheConfiguredFractionEitherWay) {
  const auto c = backoff(milliseconds(100), milliseconds(1000), 0.2);
  EXPECT_EQ(reconnect_delay(c, 0, 0.0), milliseconds(80));
  EXPECT_EQ(reconnect_delay(c, 0, 0.5), milliseconds(100));
  EXPECT_EQ(reconnect_delay(c, 0, 0.999999), milliseconds(120));
  EXPECT_EQ(reconnect_delay(c, 10, 0.0), milliseconds(800));
  EXPECT_EQ(reconnect_delay(c, 10, 0.999999), milliseconds(1200));
}

TEST(TransportReconnectDelay, IsNeverBelowOneMillisecond) {
  const auto c = backoff(milliseconds(1), milliseconds(1), 0.9);
  EXPECT_EQ(reconnect_delay(c, 0, 0.0), milliseconds(1));
}

TEST(TransportSendErrorNames, AreTheEnumeratorNames) {
  EXPECT_STREQ(to_string(SendError::nodedown), "nodedown");
  EXPECT_STREQ(to_string(SendError::stale), "stale");
  EXPECT_STREQ(to_string(SendError::overload), "overload");
  EXPECT_STREQ(to_string(SendError::too_large), "too_large");
}

}  // namespace
}  // namespace otp::cluster
