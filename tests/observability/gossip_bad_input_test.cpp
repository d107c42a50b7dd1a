// Bad gossip input to a real MembershipDriver on loopback: random UDP datagrams, a push-pull
// with a garbage body, a peer with the wrong cookie. Each is dropped, counted by reason
// (membership::Stats, rendered as otp_gossip_packets_dropped_total) and logged, one line per
// reason per send_error_log_interval.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "otp/cluster/membership_driver.hpp"
#include "support/eventually.hpp"
#include "support/http_get.hpp"

namespace otp::cluster {
namespace {

using namespace std::chrono_literals;

/// Log lines a driver wrote, for the test to look at.
class LogSink {
 public:
  std::function<void(std::string_view, std::string_view)> hook() {
    return [this](std::string_view level, std::string_view text) {
      std::lock_guard<std::mutex> g(mx_);
      lines_.push_back(std::string(level) + ": " + std::string(text));
    };
  }
  /// Lines containing every one of parts.
  size_t count(std::initializer_list<std::string_view> parts) const {
    std::lock_guard<std::mutex> g(mx_);
    size_t n = 0;
    for (const auto& l : lines_) {
      bool all = true;
      for (auto p : parts) all = all && l.find(p) != std::string::npos;
      n += all ? 1 : 0;
    }
    return n;
  }
  std::string text() const {
    std::lock_guard<std::mutex> g(mx_);
    std::string t;
    for (const auto& l : lines_) t += "  " + l + "\n";
    return t;
  }

 private:
  mutable std::mutex mx_;
  std::vector<std::string> lines_;
};

std::unique_ptr<MembershipDriver> start_driver(const std::string& name, const std::string& cookie,
                                               LogSink& sink, std::vector<std::string> seeds = {}) {
  MembershipDriverOptions o;
  o.self = {name, "127.0.0.1", 0};
  o.gossip.seeds = std::move(seeds);
  o.gossip.membership.cookie = cookie;
  o.gossip.send_error_log_interval = std::chrono::hours(1);  // one line per reason in a test
  o.gossip.leave_timeout = 0ms;
  o.log = sink.hook();
  auto d = MembershipDriver::start(std::move(o));
  if (!d) throw std::runtime_error(d.error().to_string());
  return std::move(d).value();
}

uint64_t dropped(const membership::Stats& s) {
  return s.dropped_oversized + s.dropped_malformed + s.dropped_unsupported_version +
         s.dropped_other_cluster + s.dropped_bad_mac + s.dropped_wrong_channel +
         s.dropped_wrong_target;
}

void send_udp(uint16_t port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a),
            static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

TEST(GossipBadInput, RandomDatagramsAreCountedAndLoggedOncePerReason) {
  LogSink log;
  auto a = start_driver("a", "secret", log);
  const std::string garbage = "\x7f garbage that is no gossip packet \x01\x02\x03";
  send_udp(a->port(), garbage);
  ASSERT_TRUE(otp_test::eventually([&] { return dropped(a->stats()) == 1; }));
  ASSERT_TRUE(otp_test::eventually([&] {
    return log.count({"warning: gossip datagram from 127.0.0.1:", " dropped: "}) == 1;
  })) << log.text();
  for (int i = 0; i < 4; ++i) send_udp(a->port(), garbage);
  ASSERT_TRUE(otp_test::eventually([&] { return dropped(a->stats()) == 5; }));
  // The same reason again within the interval: counted, not logged.
  EXPECT_EQ(log.count({"gossip datagram from"}), 1u) << log.text();
}

TEST(GossipBadInput, APushPullWithAGarbageBodyIsCountedAndLogged) {
  LogSink log;
  auto a = start_driver("a", "secret", log);
  std::string message = {0, 0, 0, 24};  // the 4-byte length, then 24 bytes of nothing useful
  message += std::string(24, '\x5a');
  const int fd = otp_test::connect_loopback(a->port());
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::send(fd, message.data(), message.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(message.size()));
  ASSERT_TRUE(otp_test::eventually([&] { return dropped(a->stats()) == 1; }));
  ASSERT_TRUE(otp_test::eventually([&] {
    return log.count({"warning: push-pull message from 127.0.0.1:", " dropped: "}) == 1;
  })) << log.text();
  ::close(fd);
}

TEST(GossipBadInput, APeerWithTheWrongCookieIsDroppedAsBadMac) {
  LogSink log_a, log_b;
  auto a = start_driver("a", "secret", log_a);
  auto b = start_driver("b", "guess", log_b, {"127.0.0.1:" + std::to_string(a->port())});
  ASSERT_TRUE(otp_test::eventually([&] { return a->stats().dropped_bad_mac >= 1; }));
  ASSERT_TRUE(otp_test::eventually([&] {
    return log_a.count({"from 127.0.0.1:", "dropped: bad_mac (wrong cookie"}) == 1;
  })) << log_a.text();
  EXPECT_EQ(a->alive_peers(), 0u);
}

}  // namespace
}  // namespace otp::cluster
