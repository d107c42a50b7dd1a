// A member this node dials but never reaches (its advertised data address does not answer), then
// declared gone by membership: the dial is given up with it (Cluster asks the transport to stop
// dialing the member's address), so a dead member's address is not redialed forever. n2
// advertises 127.0.0.2 but listens on 127.0.0.1: n1 learns of it by n2's join, dials
// 127.0.0.2:<port> (refused every time) and probes 127.0.0.2 (no answer); n2 then leaves.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "otp/cluster/cluster.hpp"
#include "otp/otp.hpp"
#include "support/eventually.hpp"

namespace {

using namespace std::chrono_literals;

constexpr const char* kCookie = "member-dialer-test";

otp::cluster::ClusterOptions quiet(otp::cluster::ClusterOptions config) {
  config.transport.log = [](std::string_view, std::string_view) {};
  return config;
}

TEST(MemberDialer, AMemberGoneBeforeItsAddressEverAnsweredIsNotRedialed) {
  otp::Node n1({.name = "dialer_n1", .scheduler_threads = 1, .log_crashes = false});
  otp::cluster::ClusterOptions c1{.name = "n1", .cookie = kCookie};
  c1.gossip = otp::cluster::GossipOptions{};
  auto a = otp::cluster::Cluster::start(n1, quiet(c1));
  ASSERT_TRUE(a) << a.error();

  otp::Node n2({.name = "dialer_n2", .scheduler_threads = 1, .log_crashes = false});
  otp::cluster::ClusterOptions c2{
      .name = "n2", .host = "127.0.0.2", .listen_host = "127.0.0.1", .cookie = kCookie};
  c2.gossip =
      otp::cluster::GossipOptions{.seeds = {"127.0.0.1:" + std::to_string(*(*a)->gossip_port())}};
  auto b = otp::cluster::Cluster::start(n2, quiet(c2));
  ASSERT_TRUE(b) << b.error();

  // n1 ("n1@127.0.0.1" < "n2@127.0.0.2") dials n2's advertised address, which refuses.
  ASSERT_TRUE(otp_test::eventually(
      [&] { return (*a)->stats().dialers == 1 && (*a)->stats().dial_failures >= 1; }, 30s))
      << "dialers " << (*a)->stats().dialers << ", dial failures " << (*a)->stats().dial_failures;
  EXPECT_TRUE((*a)->nodes().empty());

  (*b)->stop();  // n2 leaves: n1 sees it left (or failed, if the leave is lost)
  EXPECT_TRUE(otp_test::eventually(
      [&] {
        for (const auto& m : (*a)->members()) {
          if (m.id.full_name() == "n2@127.0.0.2") {
            return m.state != otp::membership::MemberState::alive &&
                   m.state != otp::membership::MemberState::suspect && (*a)->stats().dialers == 0;
          }
        }
        return (*a)->stats().dialers == 0;  // already forgotten
      },
      60s))
      << "n1 still dials " << (*a)->stats().dialers << " address(es)";
  (*a)->stop();
}

}  // namespace
