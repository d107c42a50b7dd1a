// otp-node --http and --log-format, black box: GET /health and /metrics from a real node (the
// metrics pass `promtool check metrics`; a missing promtool fails the test), /health turning 503
// while the node leaves on SIGTERM, and the event lines on stderr as text and as JSON.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "cluster/gossip_node.hpp"
#include "otp/testkit/child_process.hpp"
#include "support/eventually.hpp"
#include "support/http_get.hpp"
#include "support/promtool.hpp"
#include "support/time_scale.hpp"

namespace {

using namespace std::chrono_literals;
using otp_test::http_get;
using otp_test::kTimeScale;
using NodeSpec = otp_test::GossipNodeSpec;

constexpr const char* kCookie = "observability-test-cookie";
constexpr auto kConverge = 20s * kTimeScale;

class HttpNode : public otp_test::GossipNode {
 public:
  explicit HttpNode(NodeSpec spec)
      : otp_test::GossipNode({"--cookie", kCookie, "--max-seconds", "120"}, with_http(spec)) {
    for (const auto& l : process().lines()) {
      const auto at = l.find(" http=");
      if (l.rfind("ready ", 0) == 0 && at != std::string::npos) {
        http_port_ = static_cast<uint16_t>(std::stoi(l.substr(at + 6)));
      }
    }
    if (http_port_ == 0) throw std::runtime_error("no http port in the ready line:\n" + output());
  }
  uint16_t http_port() const { return http_port_; }

 private:
  static NodeSpec with_http(NodeSpec s) {
    s.extra.insert(s.extra.end(), {"--http", "127.0.0.1:0"});
    return s;
  }
  uint16_t http_port_ = 0;
};

TEST(OtpNodeHttp, HealthIsServingAndMetricsPassPromtool) {
  HttpNode a({.name = "a"});
  HttpNode b({.name = "b", .seeds = {a.gossip_address()}});
  ASSERT_TRUE(wait_for_line(b.process(), "nodeup a@127.0.0.1",
                            std::chrono::steady_clock::now() + kConverge))
      << b.output();

  auto health = http_get(a.http_port(), "/health");
  ASSERT_TRUE(health) << a.output();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "{\"status\":\"serving\",\"node\":\"a@127.0.0.1\"}\n");

  auto metrics = http_get(a.http_port(), "/metrics");
  ASSERT_TRUE(metrics) << a.output();
  ASSERT_EQ(metrics->status, 200);
  const std::string& text = metrics->body;
  EXPECT_NE(text.find("otp_node_info{node=\"a@127.0.0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("otp_links_up 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("otp_link_bytes_sent_total{peer=\"b@127.0.0.1\"} "), std::string::npos)
      << text;
  EXPECT_NE(text.find("otp_members{state=\"alive\"} 2\n"), std::string::npos) << text;
  // The services supervisor and its children run on every node.
  EXPECT_EQ(text.find("otp_processes 0\n"), std::string::npos) << text;
  const auto verdict = otp_test::promtool_check_metrics(text);
  EXPECT_TRUE(verdict.ok) << verdict.output << "\n" << text;

  auto missing = http_get(a.http_port(), "/");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(OtpNodeHttp, HealthIs503WhileTheNodeLeavesOnSigterm) {
  // Slow gossip and a long leave bound: the leave lasts a few gossip rounds, while /health is
  // polled.
  HttpNode a(
      {.name = "a", .extra = {"--gossip-interval-ms", "1000", "--leave-timeout-ms", "10000"}});
  HttpNode b({.name = "b", .seeds = {a.gossip_address()}});
  ASSERT_TRUE(wait_for_line(a.process(), "nodeup b@127.0.0.1",
                            std::chrono::steady_clock::now() + kConverge))
      << a.output();
  ASSERT_EQ(http_get(a.http_port(), "/health")->status, 200);

  a.process().signal(SIGTERM);
  std::optional<otp_test::HttpReply> leaving;
  ASSERT_TRUE(otp_test::eventually(
      [&] {
        auto r = http_get(a.http_port(), "/health");
        if (r && r->status == 503) leaving = r;
        return leaving.has_value() || !r;  // !r: the endpoint is gone, the leave is over
      },
      20s))
      << a.output();
  ASSERT_TRUE(leaving) << "/health never said 503 before the node stopped\n" << a.output();
  EXPECT_EQ(leaving->body, "{\"status\":\"leaving\",\"node\":\"a@127.0.0.1\"}\n");
  ASSERT_TRUE(wait_for_line(b.process(), "member left a@127.0.0.1",
                            std::chrono::steady_clock::now() + kConverge))
      << b.output();
}

TEST(OtpNodeLogs, EventsGoToStderrAsTextOrJsonWithNodePeerAndReason) {
  HttpNode a({.name = "a", .extra = {"--log-format", "json"}});
  HttpNode b({.name = "b", .seeds = {a.gossip_address()}, .extra = {"--log-format", "text"}});
  ASSERT_TRUE(wait_for_line(a.process(), "nodeup b@127.0.0.1",
                            std::chrono::steady_clock::now() + kConverge))
      << a.output();
  ASSERT_TRUE(otp_test::eventually([&] {
    return a.process().stderr_text().find(
               "\"node\":\"a@127.0.0.1\",\"event\":\"nodeup\",\"peer\":\"b@127.0.0.1\"") !=
           std::string::npos;
  })) << a.output();
  ASSERT_TRUE(otp_test::eventually([&] {
    return b.process().stderr_text().find("node=b@127.0.0.1 event=nodeup peer=a@127.0.0.1") !=
           std::string::npos;
  })) << b.output();
  // stdout keeps its lines.
  EXPECT_TRUE(wait_for_line(b.process(), "nodeup a@127.0.0.1",
                            std::chrono::steady_clock::now() + kConverge));

  b.process().kill_now();
  ASSERT_TRUE(otp_test::eventually(
      [&] {
        const std::string err = a.process().stderr_text();
        return err.find("\"event\":\"nodedown\",\"peer\":\"b@127.0.0.1\",\"reason\":") !=
               std::string::npos;
      },
      kConverge))
      << a.output();
}

}  // namespace
