// Test support: a tiny blocking HTTP/1.1 client on a raw socket (loopback only), enough to GET a
// path from an endpoint that closes each connection after its response.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace otp_test {

struct HttpReply {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

/// A connected TCP socket to 127.0.0.1:port, or -1.
inline int connect_loopback(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Sends `request` as is and reads until the server closes (or the timeout passes); the reply
/// parsed, or nullopt when nothing came back.
inline std::optional<HttpReply> http_exchange(
    uint16_t port, const std::string& request,
    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const int fd = connect_loopback(port);
  if (fd < 0) return std::nullopt;
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early (413): read what it said
    sent += static_cast<size_t>(n);
  }
  std::string data;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  const auto end = data.find("\r\n\r\n");
  if (data.size() < 12 || end == std::string::npos) return std::nullopt;
  HttpReply r;
  r.status = std::stoi(data.substr(9, 3));
  r.head = data.substr(0, end);
  r.body = data.substr(end + 4);
  return r;
}

/// GET path.
inline std::optional<HttpReply> http_get(uint16_t port, const std::string& path) {
  return http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

}  // namespace otp_test
