// HttpEndpoint on loopback: routes, limits, slow and garbage clients (none of them holds up
// another request), and the node handler's /health and /metrics over a real Node and Cluster.
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "otp/cluster/cluster.hpp"
#include "otp/cluster/http_endpoint.hpp"
#include "support/http_get.hpp"

namespace otp::cluster {
namespace {

using namespace std::chrono_literals;
using otp_test::http_exchange;
using otp_test::http_get;

HttpHandler echo_path() {
  return [](std::string_view method, std::string_view path) {
    return HttpResponse{.body = std::string(method) + " " + std::string(path)};
  };
}

TEST(HttpEndpoint, AnswersWithTheHandlersResponseWithoutTheQueryString) {
  auto http = HttpEndpoint::start({}, echo_path());
  ASSERT_TRUE(http) << http.error();
  auto r = http_get((*http)->port(), "/some/path?x=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET /some/path");
  EXPECT_NE(r->head.find("Connection: close"), std::string::npos) << r->head;
}

TEST(HttpEndpoint, RefusesOtherMethodsAndOversizedRequests) {
  auto http = HttpEndpoint::start({.max_request_bytes = 1024}, echo_path());
  ASSERT_TRUE(http);
  auto post =
      http_exchange((*http)->port(), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  auto big =
      http_exchange((*http)->port(),
                    "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
}

TEST(HttpEndpoint, ASilentClientAndAGarbageClientDoNotHoldUpOthers) {
  auto http = HttpEndpoint::start({.request_timeout = 60s}, echo_path());
  ASSERT_TRUE(http);
  const int silent = otp_test::connect_loopback((*http)->port());  // connects, sends nothing
  ASSERT_GE(silent, 0);
  auto garbage = http_exchange((*http)->port(), std::string("\x01\x02 not http\r\n\r\n"));
  EXPECT_FALSE(garbage && garbage->status == 200);
  auto r = http_get((*http)->port(), "/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ::close(silent);
}

TEST(HttpEndpoint, ASlowClientIsDisconnectedAtTheRequestTimeout) {
  auto http = HttpEndpoint::start({.request_timeout = 200ms}, echo_path());
  ASSERT_TRUE(http);
  const int fd = otp_test::connect_loopback((*http)->port());
  ASSERT_GE(fd, 0);
  ASSERT_GT(::send(fd, "GET / HT", 8, MSG_NOSIGNAL), 0);
  // The server closes: recv returns 0 (or an error) instead of blocking forever.
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 30'000), 1);
  char c;
  EXPECT_LE(::recv(fd, &c, 1, 0), 0);
  ::close(fd);
}

TEST(HttpEndpoint, APortInUseIsListenFailed) {
  auto first = HttpEndpoint::start({}, echo_path());
  ASSERT_TRUE(first);
  auto second = HttpEndpoint::start({.port = (*first)->port()}, echo_path());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::listen_failed) << second.error();
}

TEST(NodeHttpHandler, HealthIsServingThenLeavingAndMetricsNameTheNode) {
  Node node({.name = "h", .scheduler_threads = 1});
  auto cluster = Cluster::start(node, {.name = "h", .host = "127.0.0.1", .cookie = "c"});
  ASSERT_TRUE(cluster) << cluster.error();
  auto http = HttpEndpoint::start({}, node, **cluster);
  ASSERT_TRUE(http);
  auto health = http_get((*http)->port(), "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "{\"status\":\"serving\",\"node\":\"h@127.0.0.1\"}\n");
  auto metrics = http_get((*http)->port(), "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->head.find("text/plain; version=0.0.4"), std::string::npos) << metrics->head;
  EXPECT_NE(metrics->body.find("otp_node_info{node=\"h@127.0.0.1\"} 1\n"), std::string::npos)
      << metrics->body;
  auto missing = http_get((*http)->port(), "/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  (*cluster)->stop();
  auto leaving = http_get((*http)->port(), "/health");
  ASSERT_TRUE(leaving);
  EXPECT_EQ(leaving->status, 503);
  EXPECT_EQ(leaving->body, "{\"status\":\"leaving\",\"node\":\"h@127.0.0.1\"}\n");
  (*http)->stop();
}

}  // namespace
}  // namespace otp::cluster
