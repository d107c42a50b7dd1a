// otp::cluster::HttpEndpoint: a small HTTP/1.1 server (Boost.Beast) on a thread of its own, for
// health checks and Prometheus scrapes of a node. Nothing it does runs on the node's scheduler,
// transport or membership threads, so a slow, stuck or garbage client costs the node nothing but
// a connection slot until its timeout.
//
// clang-format off
//   auto cluster = otp::cluster::Cluster::start(node, config).value();
//   auto http = otp::cluster::HttpEndpoint::start({.host = "0.0.0.0", .port = 9090}, node, *cluster);
//   if (!http) fail(http.error());     // "listen_failed: http listen on 0.0.0.0:9090: ..."
//   // GET /health  -> 200 {"status":"serving","node":"a@10.0.0.2"}
//   //                 503 {"status":"leaving","node":"a@10.0.0.2"} once cluster->stop() began
//   // GET /metrics -> the Prometheus text format (metrics.hpp)
//   ...
//   (*http)->stop();                   // before the Cluster and the Node go away
// clang-format on
//
// Any other path is 404, a method other than GET or HEAD 405. A request whose head or body is
// over max_request_bytes is answered 413 and closed, one that does not arrive whole within
// request_timeout is closed. Every response closes its connection (Connection: close). Beyond
// max_connections, new connections are closed at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "otp/error.hpp"
#include "otp/node.hpp"

namespace otp::cluster {

class Cluster;

/// Where and how the endpoint listens.
struct HttpOptions {
  /// The address to bind (an IP literal or a host name); "0.0.0.0" for every interface.
  std::string host = "127.0.0.1";
  /// 0: any free port (see HttpEndpoint::port()).
  uint16_t port = 0;
  /// Largest request head (and body) read; bigger requests get 413.
  size_t max_request_bytes = 8 * 1024;
  /// Bound on reading a request and writing its response; a slower client is disconnected.
  std::chrono::milliseconds request_timeout{5000};
  /// Connections served at once; more are closed on accept.
  size_t max_connections = 32;
};

/// What a handler answers.
struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// Answers one request: method ("GET", "HEAD") and path (the target without its query string).
/// Runs on the endpoint's thread: it may take locks briefly, but must not wait for long.
using HttpHandler = std::function<HttpResponse(std::string_view method, std::string_view path)>;

/// The handler of a cluster node: /health and /metrics (see above); 404 otherwise.
HttpHandler node_http_handler(Node& node, const Cluster& cluster);

/// A running endpoint (see above), made by start().
class HttpEndpoint {
 public:
  /// Binds and starts the thread. listen_failed / unresolved (with the OS's reason) when the
  /// address can not be bound; badarg for a null handler or a zero limit.
  static Result<std::unique_ptr<HttpEndpoint>> start(HttpOptions options, HttpHandler handler);
  /// start() with node_http_handler(node, cluster). node and cluster must outlive stop().
  static Result<std::unique_ptr<HttpEndpoint>> start(HttpOptions options, Node& node,
                                                     const Cluster& cluster);
  /// stop().
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  /// The port actually bound.
  uint16_t port() const;
  /// Closes the listener and every connection and joins the thread. Idempotent.
  void stop();

  /// The implementation (http_endpoint.cpp). Not for users.
  class Impl;

 private:
  explicit HttpEndpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace otp::cluster
