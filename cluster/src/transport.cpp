#include "otp/cluster/transport.hpp"

#include <algorithm>
#include <cmath>

#include "transport_asio.hpp"

namespace otp::cluster {

std::chrono::milliseconds reconnect_delay(const TransportOptions& config, unsigned attempt,
                                          double u) {
  const double cap =
      static_cast<double>(std::max(config.reconnect_max, config.reconnect_initial).count());
  double base = static_cast<double>(config.reconnect_initial.count());
  for (unsigned i = 0; i < attempt && base < cap; ++i) base *= 2;
  base = std::min(base, cap);
  const double factor = 1.0 + config.reconnect_jitter * (2.0 * std::clamp(u, 0.0, 1.0) - 1.0);
  return std::chrono::milliseconds(std::max<long long>(1, std::llround(base * factor)));
}

Result<std::unique_ptr<Transport>> Transport::start(TransportOptions config,
                                                    TransportListener& listener) {
  auto t = detail::AsioTransport::create(std::move(config), listener);
  if (!t) return t.error();
  return std::unique_ptr<Transport>(std::move(t).value());
}

}  // namespace otp::cluster
