#include "cli/defaults.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace cli {
namespace {

/// "h:p" -> "h" ("[::1]:p" -> "::1"); the whole text when it has no port.
std::string host_of(const std::string& target) {
  if (!target.empty() && target.front() == '[') {
    auto close = target.find(']');
    return close == std::string::npos ? target : target.substr(1, close - 1);
  }
  auto colon = target.rfind(':');
  return colon == std::string::npos ? target : target.substr(0, colon);
}

std::string trim(const std::string& s) {
  const char* space = " \t\r\n\v\f";
  auto first = s.find_first_not_of(space);
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

std::string ipv4_text(const sockaddr* a) {
  char text[INET_ADDRSTRLEN] = {};
  const auto* in = reinterpret_cast<const sockaddr_in*>(a);
  if (!inet_ntop(AF_INET, &in->sin_addr, text, sizeof text)) return "";
  return text;
}

}  // namespace

std::string default_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "otp";
  return name;
}

std::string choose_host(const std::vector<std::string>& resolved,
                        const std::vector<std::string>& interfaces) {
  for (const auto* list : {&resolved, &interfaces}) {
    for (const auto& a : *list) {
      if (!a.empty() && a != "0.0.0.0" && !is_loopback(a)) return a;
    }
  }
  return "127.0.0.1";
}

std::string default_host() {
  std::vector<std::string> resolved;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(default_name().c_str(), nullptr, &hints, &found) == 0) {
    for (auto* a = found; a; a = a->ai_next) resolved.push_back(ipv4_text(a->ai_addr));
    freeaddrinfo(found);
  }
  std::vector<std::string> interfaces;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (auto* i = list; i; i = i->ifa_next) {
      if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET)
        interfaces.push_back(ipv4_text(i->ifa_addr));
    }
    freeifaddrs(list);
  }
  return choose_host(resolved, interfaces);
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::optional<std::string> loopback_warning(const std::string& advertised,
                                            const std::vector<std::string>& targets) {
  if (!is_loopback(advertised)) return std::nullopt;
  for (const auto& t : targets) {
    const std::string host = host_of(t);
    if (!host.empty() && !is_loopback(host)) {
      return "warning: this node advertises the loopback address " + advertised + " but " + t +
             " is not on loopback: the nodes there would dial their own loopback to reach it; "
             "give --host the address they can reach";
    }
  }
  return std::nullopt;
}

otp::Result<std::string> read_cookie_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return otp::Error(otp::ErrorCode::badarg,
                      "cookie file " + path + " can not be read: " + std::strerror(errno));
  }
  std::string line;
  std::getline(in, line);
  line = trim(line);
  if (line.empty()) {
    return otp::Error(otp::ErrorCode::badarg,
                      "cookie file " + path + " is empty (the cookie is its first line)");
  }
  return line;
}

otp::Result<std::string> resolve_cookie(const std::string& cookie, const std::string& cookie_file) {
  if (!cookie.empty()) return cookie;
  if (!cookie_file.empty()) return read_cookie_file(cookie_file);
  if (const char* f = std::getenv("OTP_COOKIE_FILE"); f && *f) return read_cookie_file(f);
  if (const char* c = std::getenv("OTP_COOKIE"); c && *c) return std::string(c);
  return otp::Error(otp::ErrorCode::badarg,
                    "no cookie: give --cookie, --cookie-file, $OTP_COOKIE_FILE or $OTP_COOKIE");
}

}  // namespace cli
