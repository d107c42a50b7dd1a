// otp-node --http and --log-format, black box: GET /health and /metrics from a real node (the
// metrics pass `promtool check metrics`; a missing promtool fails the test), /health turning 503
// while the node leaves on SIGTERM, and the event lines on stderr as text and as JSON.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "otp/testkit/process_cluster.hpp"
#include "support/eventually.hpp"
#include "support/http_get.hpp"
#include "support/promtool.hpp"
#include "support/time_scale.hpp"

namespace {

using namespace std::chrono_literals;
using otp::testkit::ProcessCluster;
using otp::testkit::wait_for_line;
using otp_test::http_get;
using otp_test::kTimeScale;

constexpr const char* kCookie = "observability-test-cookie";
constexpr auto kConverge = 20s * kTimeScale;

/// Two otp-nodes (n1, then n2 joining through it) serving HTTP on ports of their own; `own`:
/// flags of node i beyond that.
ProcessCluster http_nodes(std::function<std::vector<std::string>(size_t)> own = {}) {
  return ProcessCluster({.nodes = 2,
                         .program = OTP_NODE_BIN,
                         .cookie = kCookie,
                         .args = {"--http", "127.0.0.1:0"},
                         .node_args = std::move(own),
                         .max_seconds = 120});
}

/// The HTTP port node i's ready line names.
uint16_t http_port(ProcessCluster& c, size_t i) {
  for (const auto& l : c.process(i).lines()) {
    const auto at = l.find(" http=");
    if (l.rfind("ready ", 0) == 0 && at != std::string::npos) {
      return static_cast<uint16_t>(std::stoi(l.substr(at + 6)));
    }
  }
  throw std::runtime_error("no http port in the ready line:\n" + c.logs());
}

TEST(OtpNodeHttp, HealthIsServingAndMetricsPassPromtool) {
  ProcessCluster c = http_nodes();
  const std::string a = c.name(0), b = c.name(1);
  ASSERT_TRUE(
      wait_for_line(c.process(1), "nodeup " + a, std::chrono::steady_clock::now() + kConverge))
      << c.logs();

  auto health = http_get(http_port(c, 0), "/health");
  ASSERT_TRUE(health) << c.logs();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "{\"status\":\"serving\",\"node\":\"" + a + "\"}\n");

  auto metrics = http_get(http_port(c, 0), "/metrics");
  ASSERT_TRUE(metrics) << c.logs();
  ASSERT_EQ(metrics->status, 200);
  const std::string& text = metrics->body;
  EXPECT_NE(text.find("otp_node_info{node=\"" + a + "\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("otp_links_up 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("otp_link_bytes_sent_total{peer=\"" + b + "\"} "), std::string::npos) << text;
  EXPECT_NE(text.find("otp_members{state=\"alive\"} 2\n"), std::string::npos) << text;
  // The services supervisor and its children run on every node.
  EXPECT_EQ(text.find("otp_processes 0\n"), std::string::npos) << text;
  const auto verdict = otp_test::promtool_check_metrics(text);
  EXPECT_TRUE(verdict.ok) << verdict.output << "\n" << text;

  auto missing = http_get(http_port(c, 0), "/");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(OtpNodeHttp, HealthIs503WhileTheNodeLeavesOnSigterm) {
  // Slow gossip and a long leave bound on node 1: the leave lasts a few gossip rounds, while
  // /health is polled.
  ProcessCluster c = http_nodes([](size_t i) {
    return i == 0 ? std::vector<std::string>{"--gossip-interval-ms", "1000", "--leave-timeout-ms",
                                             "10000"}
                  : std::vector<std::string>{};
  });
  const std::string a = c.name(0), b = c.name(1);
  ASSERT_TRUE(
      wait_for_line(c.process(0), "nodeup " + b, std::chrono::steady_clock::now() + kConverge))
      << c.logs();
  const uint16_t port = http_port(c, 0);
  ASSERT_EQ(http_get(port, "/health")->status, 200);

  c.process(0).signal(SIGTERM);
  std::optional<otp_test::HttpReply> leaving;
  ASSERT_TRUE(otp_test::eventually(
      [&] {
        auto r = http_get(port, "/health");
        if (r && r->status == 503) leaving = r;
        return leaving.has_value() || !r;  // !r: the endpoint is gone, the leave is over
      },
      20s))
      << c.logs();
  ASSERT_TRUE(leaving) << "/health never said 503 before the node stopped\n" << c.logs();
  EXPECT_EQ(leaving->body, "{\"status\":\"leaving\",\"node\":\"" + a + "\"}\n");
  ASSERT_TRUE(
      wait_for_line(c.process(1), "member left " + a, std::chrono::steady_clock::now() + kConverge))
      << c.logs();
}

TEST(OtpNodeLogs, EventsGoToStderrAsTextOrJsonWithNodePeerAndReason) {
  ProcessCluster c = http_nodes([](size_t i) {
    return std::vector<std::string>{"--log-format", i == 0 ? "json" : "text"};
  });
  const std::string a = c.name(0), b = c.name(1);
  ASSERT_TRUE(
      wait_for_line(c.process(0), "nodeup " + b, std::chrono::steady_clock::now() + kConverge))
      << c.logs();
  ASSERT_TRUE(otp_test::eventually([&] {
    return c.process(0).stderr_text().find("\"node\":\"" + a +
                                           "\",\"event\":\"nodeup\",\"peer\":\"" + b + "\"") !=
           std::string::npos;
  })) << c.logs();
  ASSERT_TRUE(otp_test::eventually([&] {
    return c.process(1).stderr_text().find("node=" + b + " event=nodeup peer=" + a) !=
           std::string::npos;
  })) << c.logs();
  // stdout keeps its lines.
  EXPECT_TRUE(
      wait_for_line(c.process(1), "nodeup " + a, std::chrono::steady_clock::now() + kConverge));

  c.kill(1);
  ASSERT_TRUE(otp_test::eventually(
      [&] {
        const std::string err = c.process(0).stderr_text();
        return err.find("\"event\":\"nodedown\",\"peer\":\"" + b + "\",\"reason\":") !=
               std::string::npos;
      },
      kConverge))
      << c.logs();
}

}  // namespace
