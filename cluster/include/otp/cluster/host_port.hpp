// otp::cluster::parse_host_port: "[HOST:]PORT", how a node program's command line names where a
// socket listens (otp-node's and otp::testkit::node_main's --listen, --gossip, --http). HOST may be
// left out (the caller keeps its default host); PORT 0 means any free port.
//
//   auto a = otp::cluster::parse_host_port("127.0.0.1:7001");  // {"127.0.0.1", 7001}
//   auto b = otp::cluster::parse_host_port("0");               // {"", 0}
//   if (!a) std::cerr << a.error() << "\n";  // "bad_address: needs [HOST:]PORT with a port ..."
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "otp/error.hpp"

namespace otp::cluster {

/// A listening address as a command line gives it.
struct HostPort {
  std::string host;   // empty when the text names no host
  uint16_t port = 0;  // 0: any free port
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

/// Splits text at its last ':'. bad_address, saying what was expected and what came, when the
/// port is not a whole number in 0..65535.
Result<HostPort> parse_host_port(std::string_view text);

}  // namespace otp::cluster
