// HttpEndpoint: one io_context on one thread; a Session per connection reads one request with a
// bounded parser under a deadline, answers it, and closes.
#include "otp/cluster/http_endpoint.hpp"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <mutex>
#include <thread>
#include <utility>

#include "otp/cluster/cluster.hpp"
#include "otp/cluster/metrics.hpp"
#include "otp/cluster/stats_snapshot.hpp"

namespace otp::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

HttpHandler node_http_handler(Node& node, const Cluster& cluster) {
  return [&node, &cluster](std::string_view, std::string_view path) -> HttpResponse {
    if (path == "/health") {
      // Read first: a node that starts leaving between here and the body still says 503 next.
      const bool leaving = cluster.leaving();
      return HttpResponse{.status = leaving ? 503u : 200u,
                          .content_type = "application/json",
                          .body = std::string("{\"status\":\"") +
                                  (leaving ? "leaving" : "serving") + "\",\"node\":\"" +
                                  json_escape(cluster.self().full_name()) + "\"}\n"};
    }
    if (path == "/metrics") {
      return HttpResponse{.status = 200,
                          .content_type = std::string(kMetricsContentType),
                          .body = render_metrics(take_snapshot(node, cluster))};
    }
    return HttpResponse{.status = 404, .body = "not found\n"};
  };
}

class HttpEndpoint::Impl {
 public:
  Impl(HttpOptions options, HttpHandler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        work_(asio::make_work_guard(io_)),
        acceptor_(io_) {}

  Result<void> listen() {
    const std::string where = options_.host + ":" + std::to_string(options_.port);
    boost::system::error_code ec;
    tcp::resolver resolver(io_);
    auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || endpoints.empty())
      return Error(ErrorCode::unresolved,
                   "http: cannot resolve " + where + ": " + (ec ? ec.message() : "no address"));
    const tcp::endpoint endpoint = *endpoints.begin();
    if (acceptor_.open(endpoint.protocol(), ec) ||
        acceptor_.set_option(tcp::acceptor::reuse_address(true), ec) ||
        acceptor_.bind(endpoint, ec) ||
        acceptor_.listen(asio::socket_base::max_listen_connections, ec)) {
      return Error(ErrorCode::listen_failed, "http listen on " + where + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint(ec).port();
    return {};
  }

  void run() {
    accept_next();
    thread_ = std::thread([this] {
      for (;;) {
        try {
          io_.run();
          return;
        } catch (const std::exception&) {
          // A handler threw: that request is lost (its connection closes), the server goes on.
        }
      }
    });
  }

  void stop() {
    std::lock_guard<std::mutex> g(stop_mx_);
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      work_.reset();
      io_.stop();  // sessions still open are destroyed with the io_context
    });
    thread_.join();
  }

  uint16_t port() const { return port_; }

 private:
  /// One connection: read one request (bounded, under the deadline), answer, close.
  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(Impl& server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {
      ++server_.open_;
      parser_.header_limit(static_cast<uint32_t>(server_.options_.max_request_bytes));
      parser_.body_limit(server_.options_.max_request_bytes);
    }
    ~Session() { --server_.open_; }

    void start() {
      stream_.expires_after(server_.options_.request_timeout);
      http::async_read(
          stream_, buffer_, parser_,
          [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
    }

   private:
    void on_read(beast::error_code ec) {
      if (ec == http::error::header_limit || ec == http::error::body_limit ||
          ec == http::error::buffer_overflow) {
        respond(HttpResponse{.status = 413, .body = "request too large\n"}, false);
        return;
      }
      if (ec) return;  // closed, timed out, or not HTTP: the socket closes with this session
      const auto& request = parser_.get();
      const auto raw = request.target();
      const std::string_view target(raw.data(), raw.size());
      const std::string_view path = target.substr(0, target.find('?'));
      const bool head = request.method() == http::verb::head;
      if (request.method() != http::verb::get && !head) {
        respond(HttpResponse{.status = 405, .body = "only GET\n"}, false);
        return;
      }
      HttpResponse response;
      try {
        response = server_.handler_(head ? "HEAD" : "GET", path);
      } catch (const std::exception& e) {
        response = HttpResponse{.status = 500, .body = std::string(e.what()) + "\n"};
      }
      respond(std::move(response), head);
    }

    void respond(HttpResponse r, bool head) {
      response_.result(r.status);
      response_.version(11);
      response_.set(http::field::server, "otp-cluster");
      response_.set(http::field::content_type,
                    boost::beast::string_view(r.content_type.data(), r.content_type.size()));
      response_.keep_alive(false);
      response_.body() = std::move(r.body);
      response_.prepare_payload();
      if (head) response_.body().clear();  // Content-Length stays that of the GET
      stream_.expires_after(server_.options_.request_timeout);
      http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, size_t) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      });
    }

    Impl& server_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request_parser<http::string_body> parser_;
    http::response<http::string_body> response_;
  };

  void accept_next() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec && open_ < options_.max_connections) {
        std::make_shared<Session>(*this, std::move(socket))->start();
      }
      // An error (out of descriptors) or a full house: that socket closes here.
      accept_next();
    });
  }

  HttpOptions options_;
  HttpHandler handler_;
  // Before io_: sessions still pending when the io_context is destroyed count themselves out.
  size_t open_ = 0;  // sessions alive (endpoint thread only)
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex stop_mx_;
};

Result<std::unique_ptr<HttpEndpoint>> HttpEndpoint::start(HttpOptions options,
                                                          HttpHandler handler) {
  if (!handler) return Error(ErrorCode::badarg, "http endpoint: no handler");
  if (options.max_request_bytes == 0 || options.max_connections == 0 ||
      options.request_timeout <= std::chrono::milliseconds::zero())
    return Error(ErrorCode::badarg, "http endpoint: limits and timeout must be positive");
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  if (auto listening = impl->listen(); !listening) return listening.error();
  impl->run();
  return std::unique_ptr<HttpEndpoint>(new HttpEndpoint(std::move(impl)));
}

Result<std::unique_ptr<HttpEndpoint>> HttpEndpoint::start(HttpOptions options, Node& node,
                                                          const Cluster& cluster) {
  return start(std::move(options), node_http_handler(node, cluster));
}

HttpEndpoint::HttpEndpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpEndpoint::~HttpEndpoint() {
  stop();
}

uint16_t HttpEndpoint::port() const {
  return impl_->port();
}

void HttpEndpoint::stop() {
  impl_->stop();
}

}  // namespace otp::cluster
