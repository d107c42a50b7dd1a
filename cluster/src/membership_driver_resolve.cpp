// MembershipDriver: seeds and host names. Literal seeds are joined at once; named ones
// (docker-compose service names) are resolved asynchronously, first before the join (bounded by
// initial_resolve_wait), then again every resolve_interval_alone while this node knows no live
// peer and every resolve_interval otherwise, and handed to the core with set_seeds. Member
// addresses that are names go through a small cache refreshed in the background, so the driver
// thread never waits for DNS.
#include <algorithm>
#include <charconv>

#include "membership_driver_impl.hpp"

namespace otp::cluster {

namespace detail {

Result<SeedSpec> parse_seed(const std::string& text) {
  auto fail = [](std::string why) { return Error(ErrorCode::bad_address, std::move(why)); };
  SeedSpec spec;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return fail("expected [ipv6]:port");
    spec.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return fail("expected host:port");
    spec.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (spec.host.find(':') != std::string::npos) return fail("write IPv6 seeds as [addr]:port");
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
    return fail("port '" + port + "' is not a number in 1..65535");
  spec.port = static_cast<uint16_t>(value);
  boost::system::error_code bad;
  asio::ip::make_address(spec.host, bad);
  spec.literal = !bad;
  return spec;
}

}  // namespace detail

bool MembershipDriver::Impl::is_self(const asio::ip::address& ip, uint16_t port) const {
  if (port != port_) return false;
  if (std::find(self_ips_.begin(), self_ips_.end(), ip) != self_ips_.end()) return true;
  // Bound to every interface: a loopback seed with our port is us.
  boost::system::error_code ec;
  const auto bound = udp_.local_endpoint(ec);
  return !ec && bound.address().is_unspecified() && ip.is_loopback();
}

void MembershipDriver::Impl::join_when_resolved() {
  const bool named = std::any_of(seeds_.begin(), seeds_.end(),
                                 [](const detail::SeedSpec& s) { return !s.literal; });
  auto join = [this](std::vector<membership::Address> seeds) {
    joined_ = true;
    step([&](membership::Membership& core) { return core.join(std::move(seeds), now()); });
  };
  if (!named) {
    join(literal_seeds_);
    return;
  }
  resolve_seeds();
  // Joins with the literal seeds if the names take longer than initial_resolve_wait (a
  // resolution that completes first joins with everything and cancels this wait).
  resolve_timer_.expires_after(config_.gossip.initial_resolve_wait);
  resolve_timer_.async_wait([this, join](const boost::system::error_code&) {
    if (stopping_) return;
    if (!joined_) {
      log("info", "seed names not resolved within " +
                      std::to_string(config_.gossip.initial_resolve_wait.count()) +
                      " ms; joining with the others, they are tried again as they resolve");
      join(literal_seeds_);
    }
    schedule_resolution();
  });
}

void MembershipDriver::Impl::schedule_resolution() {
  if (stopping_) return;
  const auto interval =
      alive_peers() == 0 ? config_.gossip.resolve_interval_alone : config_.gossip.resolve_interval;
  resolve_timer_.expires_after(interval);
  resolve_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    resolve_seeds();
    schedule_resolution();
  });
}

void MembershipDriver::Impl::resolve_seeds() {
  const uint64_t round = ++resolve_round_;  // results of an older round still pending are dropped
  round_result_.clear();
  lookups_pending_ = 0;
  for (const detail::SeedSpec& s : seeds_) {
    if (s.literal) continue;
    ++lookups_pending_;
    ++counters.seed_resolutions;
    resolver_.async_resolve(
        s.host, std::to_string(s.port), udp::resolver::numeric_service,
        [this, round, s](const boost::system::error_code& ec, udp::resolver::results_type found) {
          if (stopping_ || round != resolve_round_) return;
          const std::string name = s.host + ":" + std::to_string(s.port);
          if (ec) {
            ++counters.seed_resolve_failures;
            log_throttled("seed " + name,
                          "seed " + name + " does not resolve (yet): " + ec.message());
          }
          boost::system::error_code lec;
          const auto family = udp_.local_endpoint(lec).protocol();
          for (const auto& entry : found) {
            const udp::endpoint ep = entry.endpoint();
            if (ep.protocol() != family || is_self(ep.address(), s.port)) continue;
            membership::Address a{ep.address().to_string(), s.port};
            if (std::find(round_result_.begin(), round_result_.end(), a) == round_result_.end())
              round_result_.push_back(std::move(a));
          }
          if (--lookups_pending_ == 0) seeds_resolved(round_result_);
        });
  }
}

void MembershipDriver::Impl::seeds_resolved(std::vector<membership::Address> named) {
  std::vector<membership::Address> all = literal_seeds_;
  for (auto& a : named) {
    if (std::find(all.begin(), all.end(), a) == all.end()) all.push_back(std::move(a));
  }
  if (!joined_) {
    joined_ = true;
    step([&](membership::Membership& core) { return core.join(std::move(all), now()); });
    resolve_timer_.cancel();  // the initial wait's handler now only schedules the next round
    return;
  }
  std::lock_guard<std::mutex> g(core_mx_);
  core_->set_seeds(std::move(all));
}

std::optional<asio::ip::address> MembershipDriver::Impl::lookup(const std::string& host) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (!ec) return ip;
  const auto t = std::chrono::steady_clock::now();
  CachedHost& c = hosts_[host];
  const bool stale = c.resolved_at == std::chrono::steady_clock::time_point{} ||
                     t - c.resolved_at > config_.gossip.resolve_interval;
  if (stale && !c.pending) {
    c.pending = true;
    resolver_.async_resolve(
        host, "",
        [this, host](const boost::system::error_code& rec, udp::resolver::results_type found) {
          if (stopping_) return;
          CachedHost& entry = hosts_[host];
          entry.pending = false;
          entry.resolved_at = std::chrono::steady_clock::now();
          boost::system::error_code lec;
          const auto family = udp_.local_endpoint(lec).protocol();
          for (const auto& r : found) {
            if (r.endpoint().protocol() == family) {
              entry.ip = r.endpoint().address();
              return;
            }
          }
          log_throttled("host " + host, "member host " + host + " does not resolve: " +
                                            (rec ? rec.message() : "no address of our family"));
        });
  }
  return c.ip;
}

}  // namespace otp::cluster
