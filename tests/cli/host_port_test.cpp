// "[HOST:]PORT" as otp-node's and node_main's --listen, --gossip and --http take it
// (otp/cluster/host_port.hpp).
#include "otp/cluster/host_port.hpp"

#include <gtest/gtest.h>

namespace {

using otp::cluster::HostPort;
using otp::cluster::parse_host_port;

TEST(ParseHostPort, TakesAPortAloneOrAHostAndAPort) {
  EXPECT_EQ(parse_host_port("7001").value(), (HostPort{"", 7001}));
  EXPECT_EQ(parse_host_port("0").value(), (HostPort{"", 0}));
  EXPECT_EQ(parse_host_port("127.0.0.1:7001").value(), (HostPort{"127.0.0.1", 7001}));
  EXPECT_EQ(parse_host_port("0.0.0.0:65535").value(), (HostPort{"0.0.0.0", 65535}));
  EXPECT_EQ(parse_host_port(":80").value(), (HostPort{"", 80}));
}

TEST(ParseHostPort, RefusesAPortThatIsNotAWholeNumberUpTo65535AndSaysWhatCame) {
  for (const char* bad : {"", "h:", "h:65536", "h:-1", "h:7x", "h:+7", "h: 7", "host"}) {
    auto r = parse_host_port(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), otp::ErrorCode::bad_address) << bad;
    EXPECT_EQ(r.error().context(),
              std::string("needs [HOST:]PORT with a port 0..65535, got '") + bad + "'");
  }
}

}  // namespace
