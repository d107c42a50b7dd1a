#include "otp/cluster/host_port.hpp"

#include <charconv>

namespace otp::cluster {

Result<HostPort> parse_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  const std::string_view host = colon == std::string_view::npos ? "" : text.substr(0, colon);
  const std::string_view port = colon == std::string_view::npos ? text : text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return Error(ErrorCode::bad_address,
                 "needs [HOST:]PORT with a port 0..65535, got '" + std::string(text) + "'");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

}  // namespace otp::cluster
