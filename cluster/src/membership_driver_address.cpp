// MembershipDriver: addresses that change while the node runs. A node whose advertised IP is no
// longer one of its own (a container disconnected and reconnected with a new IP, the process not
// restarted) announces the address it now reaches its peers from; without that it would keep
// refuting suspicions with the old address and flap between alive and failed in every other
// view. A member advertised by a host name is resolved again as soon as it turns suspect.
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "membership_driver_impl.hpp"

namespace otp::cluster {

namespace detail {

bool is_local_address(const asio::ip::address& ip) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return true;  // can not tell: assume nothing moved
  bool found = false;
  for (const ifaddrs* i = list; i != nullptr && !found; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET && ip.is_v4()) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      found = asio::ip::address_v4(ntohl(sin->sin_addr.s_addr)) == ip.to_v4();
    } else if (i->ifa_addr->sa_family == AF_INET6 && ip.is_v6()) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), sin6->sin6_addr.s6_addr, bytes.size());
      found = asio::ip::address_v6(bytes) == ip.to_v6();
    }
  }
  ::freeifaddrs(list);
  return found;
}

}  // namespace detail

using detail::is_local_address;

void MembershipDriver::Impl::schedule_address_check() {
  const auto every = config_.gossip.address_check_interval;
  if (every.count() <= 0 || stopping_) return;
  address_timer_.expires_after(every);
  address_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    check_own_address();
    schedule_address_check();
  });
}

void MembershipDriver::Impl::check_own_address() {
  if (leaving_ || !joined_) return;
  boost::system::error_code ec;
  const membership::Address current = address();
  const auto advertised = asio::ip::make_address(current.host, ec);
  // A host name is resolved by the others (again as soon as they suspect us: on_suspect).
  if (ec || advertised.is_unspecified() || advertised.is_loopback()) return;
  if (is_local_address(advertised)) {
    advertised_was_local_ = true;
    return;
  }
  // An address that never was ours is a NAT's or a proxy's (advertised on purpose): keep it.
  if (!advertised_was_local_) return;
  const auto bound = udp_.local_endpoint(ec);
  if (ec) return;
  if (!bound.address().is_unspecified()) {
    if (!moved_warned_) {
      moved_warned_ = true;
      log("error", "this node's address " + current.host +
                       " is no longer its own, and the gossip sockets are bound to it: the node "
                       "can not be reached until it restarts (listen on 0.0.0.0 to survive this)");
    }
    return;
  }
  const auto now_at = route_source();
  if (!now_at || *now_at == advertised || !is_local_address(*now_at)) return;

  const membership::Address gossip{now_at->to_string(), port_};
  membership::Output out;
  membership::Member me;
  {
    std::lock_guard<std::mutex> g(core_mx_);
    auto self_member = core_->member(config_.self.full_name());
    if (!self_member) return;
    membership::Metadata meta = self_member->meta;
    // The data address moves with us when it was advertised at the same IP.
    if (meta.data.host == current.host) meta.data.host = gossip.host;
    address_ = gossip;
    out = core_->update_address(gossip, std::move(meta), now());
    raised_incarnation();  // ours: not a refutation
    me = *core_->member(config_.self.full_name());
  }
  self_ips_.push_back(*now_at);
  advertised_was_local_ = true;  // route_source() gave a local address
  log("warning", "this node's address " + current.host + " is gone; it now announces " +
                     gossip.to_string() + " (data " + me.meta.data.to_string() + ", incarnation " +
                     std::to_string(me.incarnation) + ")");
  // Our own subscribers (the Cluster's links) learn it as the others do: `updated`.
  out.events.push_back(membership::Event{membership::EventKind::updated, std::move(me)});
  handle(std::move(out));
}

std::optional<asio::ip::address> MembershipDriver::Impl::route_source() {
  std::vector<membership::Member> known;
  {
    std::lock_guard<std::mutex> g(core_mx_);
    known = core_->members();
  }
  // Live members first: the address they can reach us at is the one that matters.
  std::stable_partition(known.begin(), known.end(), [](const membership::Member& m) {
    return m.state == membership::MemberState::alive;
  });
  boost::system::error_code ec;
  const auto family = udp_.local_endpoint(ec).protocol();
  if (ec) return std::nullopt;
  std::vector<membership::Address> targets;
  for (const auto& m : known) {
    if (m.id != config_.self) targets.push_back(m.gossip);
  }
  targets.insert(targets.end(), literal_seeds_.begin(), literal_seeds_.end());
  for (const auto& t : targets) {
    std::optional<asio::ip::address> ip;
    if (auto literal = asio::ip::make_address(t.host, ec); !ec) {
      ip = literal;
    } else if (auto cached = hosts_.find(t.host); cached != hosts_.end()) {
      ip = cached->second.ip;
    }
    if (!ip || ip->is_loopback() || ip->is_unspecified()) continue;
    // A connected UDP socket sends nothing; the kernel just picks the route and its source.
    udp::socket probe(io_);
    const udp::endpoint to(*ip, t.port);
    if (to.protocol() != family) continue;
    probe.open(to.protocol(), ec);
    if (!ec) probe.connect(to, ec);
    if (ec) continue;
    const auto from = probe.local_endpoint(ec);
    if (!ec && !from.address().is_unspecified()) return from.address();
  }
  return std::nullopt;
}

void MembershipDriver::Impl::on_suspect(const membership::Member& m) {
  boost::system::error_code ec;
  asio::ip::make_address(m.gossip.host, ec);
  if (!ec) return;  // an IP literal: nothing to re-resolve
  auto it = hosts_.find(m.gossip.host);
  if (it == hosts_.end() || it->second.pending) return;
  // Resolved a moment ago: that answer stands (one lookup per name per second at most).
  if (std::chrono::steady_clock::now() - it->second.resolved_at < std::chrono::seconds(1)) return;
  it->second.resolved_at = {};
  lookup(m.gossip.host);
}

}  // namespace otp::cluster
