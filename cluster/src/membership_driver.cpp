// MembershipDriver: lifecycle, the core's steps, its timer, UDP datagrams, events and logging.
#include <boost/asio/post.hpp>
#include <iostream>
#include <iterator>
#include <random>

#include "membership_driver_impl.hpp"
#include "otp/protocol/gossip.hpp"

namespace otp::cluster {

namespace {

uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

/// A reason the core drops a packet for: its counter in membership::Stats and what it means.
struct DropReason {
  const char* name;
  uint64_t membership::Stats::*counter;
  const char* meaning;
};
constexpr DropReason kDropReasons[] = {
    {"oversized", &membership::Stats::dropped_oversized, "over the size limit"},
    {"malformed", &membership::Stats::dropped_malformed, "does not decode"},
    {"unsupported_version", &membership::Stats::dropped_unsupported_version,
     "another gossip version"},
    {"other_cluster", &membership::Stats::dropped_other_cluster, "another cluster's"},
    {"bad_mac", &membership::Stats::dropped_bad_mac, "wrong cookie, or tampered with"},
    {"wrong_channel", &membership::Stats::dropped_wrong_channel,
     "push-pull as a datagram, or a probe on a stream"},
    {"wrong_target", &membership::Stats::dropped_wrong_target,
     "a probe for another node or run of it"},
};

/// The sender a gossip packet from `from` names, for the fault seam: a ping's or a push-pull's
/// source, else the member that an alive update in it places at `from` (a node's first gossip
/// carries its own). Empty when it names none (an ack, a nack, news about others only).
/// Unauthenticated, but only to learn whom the seam is asked about: the core checks the packet.
std::string sender_named_in(const membership::Address& from, std::span<const uint8_t> bytes) {
  auto packet = protocol::gossip::decode(bytes);
  if (!packet) return {};
  if (const auto* ping = std::get_if<protocol::gossip::Ping>(&packet->body)) {
    return ping->source.full_name();
  }
  if (const auto* pp = std::get_if<protocol::gossip::PushPull>(&packet->body)) {
    return pp->source.full_name();
  }
  for (const auto& u : packet->updates) {
    if (u.kind == protocol::gossip::UpdateKind::alive && u.has_info && u.gossip == from) {
      return u.node.full_name();
    }
  }
  return {};
}

asio::ip::address unmapped(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  }
  return a;
}

}  // namespace

// -- MembershipDriver: forwards to Impl ---------------------------------------------------------

Result<std::unique_ptr<MembershipDriver>> MembershipDriver::start(MembershipDriverOptions config) {
  auto impl = std::make_shared<Impl>(std::move(config));
  if (auto opened = impl->open(); !opened) return opened.error();
  impl->run();
  return std::unique_ptr<MembershipDriver>(new MembershipDriver(std::move(impl)));
}

MembershipDriver::MembershipDriver(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
MembershipDriver::~MembershipDriver() {
  impl_->stop();
}
const protocol::NodeId& MembershipDriver::self() const {
  return impl_->self();
}
uint16_t MembershipDriver::port() const {
  return impl_->port();
}
membership::Address MembershipDriver::address() const {
  return impl_->address();
}
std::vector<membership::Member> MembershipDriver::members() const {
  return impl_->members();
}
size_t MembershipDriver::alive_peers() const {
  return impl_->alive_peers();
}
membership::Stats MembershipDriver::stats() const {
  return impl_->stats();
}
DriverStats MembershipDriver::driver_stats() const {
  return impl_->driver_stats();
}
MembershipDriver::SubscriptionId MembershipDriver::subscribe(Callback callback) {
  return impl_->subscribe(std::move(callback));
}
void MembershipDriver::unsubscribe(SubscriptionId id) {
  impl_->unsubscribe(id);
}
void MembershipDriver::update_metadata(membership::Metadata metadata) {
  impl_->update_metadata(std::move(metadata));
}
void MembershipDriver::stop() {
  impl_->stop();
}

// -- lifecycle ----------------------------------------------------------------------------------

MembershipDriver::Impl::Impl(MembershipDriverOptions config)
    : config_(std::move(config)),
      work_(io_.get_executor()),
      udp_(io_),
      acceptor_(io_),
      timer_(io_),
      resolve_timer_(io_),
      leave_timer_(io_),
      address_timer_(io_),
      resolver_(io_),
      datagram_(64 * 1024) {
  GossipOptions& g = config_.gossip;
  if (config_.self.creation == 0) config_.self.creation = protocol::new_creation();
  if (g.host.empty()) g.host = config_.self.host;
  if (g.listen_host.empty()) g.listen_host = g.host;
  for (const auto& [k, v] : g.tags) config_.metadata.tags[k] = v;
  if (!config_.log) {
    const std::string who = config_.self.full_name();
    config_.log = [who](std::string_view level, std::string_view text) {
      if (level == "debug") return;
      std::cerr << "otp-membership " << who << ": " << level << ": " << text << "\n";
    };
  }
}

MembershipDriver::Impl::~Impl() {
  if (thread_.joinable()) {
    // Only reachable when the last owner lets go on the driver's own thread, which the
    // header forbids; detaching beats std::terminate.
    if (std::this_thread::get_id() == thread_.get_id()) {
      thread_.detach();
    } else {
      stop();
    }
  }
}

Result<void> MembershipDriver::Impl::open() {
  auto fail = [](ErrorCode code, std::string why) { return Error(code, std::move(why)); };
  const GossipOptions& g = config_.gossip;
  if (g.membership.cookie.empty()) return fail(ErrorCode::badarg, "gossip: a cookie is required");
  if (config_.self.name.empty() || config_.self.host.empty())
    return fail(ErrorCode::badarg, "gossip: the node needs a name and a host");
  for (const std::string& s : g.seeds) {
    auto spec = detail::parse_seed(s);
    if (!spec)
      return fail(ErrorCode::bad_address, "gossip seed '" + s + "': " + spec.error().context());
    if (spec->literal) {
      literal_seeds_.push_back({asio::ip::make_address(spec->host).to_string(), spec->port});
    }
    seeds_.push_back(std::move(*spec));
  }

  boost::system::error_code ec;
  asio::ip::address listen_ip = asio::ip::make_address(g.listen_host, ec);
  if (ec) {
    // A host name to bind to (a container's own name): resolved once, here.
    udp::resolver r(io_);
    auto found = r.resolve(g.listen_host, "", ec);
    if (ec || found.empty())
      return fail(ErrorCode::unresolved,
                  "gossip listen host '" + g.listen_host + "' does not resolve: " + ec.message());
    listen_ip = found.begin()->endpoint().address();
  }
  const std::string where = g.listen_host + ":" + std::to_string(g.port);
  // Port 0: the OS picks the UDP port; TCP must then get the same number, which another
  // program may hold: try a few times.
  for (int attempt = 0;; ++attempt) {
    udp_.close(ec);
    acceptor_.close(ec);
    udp::endpoint uep(listen_ip, g.port);
    udp_.open(uep.protocol(), ec);
    if (!ec) udp_.bind(uep, ec);
    if (ec)
      return fail(ErrorCode::listen_failed, "gossip bind " + where + " (udp): " + ec.message());
    port_ = udp_.local_endpoint().port();
    tcp::endpoint tep(listen_ip, port_);
    acceptor_.open(tep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(tep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) break;
    if (g.port != 0 || attempt >= 16) {
      return fail(ErrorCode::listen_failed, "gossip bind " + g.listen_host + ":" +
                                                std::to_string(port_) + " (tcp): " + ec.message());
    }
  }
  udp_.non_blocking(true, ec);
  if (ec) return fail(ErrorCode::listen_failed, "gossip socket: " + ec.message());
  if (!listen_ip.is_unspecified()) self_ips_.push_back(listen_ip);
  if (auto adv = asio::ip::make_address(g.host, ec); !ec) {
    self_ips_.push_back(adv);
    advertised_was_local_ = detail::is_local_address(adv);
  }
  // Literal seeds were checked against our address before the port was known.
  std::erase_if(literal_seeds_, [&](const membership::Address& a) {
    return is_self(asio::ip::make_address(a.host), a.port);
  });

  address_ = membership::Address{g.host, port_};
  core_ = std::make_unique<membership::Membership>(g.membership, config_.self, address_,
                                                   config_.metadata, random_seed());
  return {};
}

void MembershipDriver::Impl::run() {
  asio::post(io_, [this] {
    receive_datagram();
    accept_stream();
    join_when_resolved();
    schedule_address_check();
  });
  thread_ = std::thread([this] {
    thread_id_ = std::this_thread::get_id();
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        // Nothing in the driver throws; a throwing event callback would, and must not take
        // membership down with it.
        log("error", std::string("membership driver: exception in a handler: ") + e.what());
      }
    }
  });
}

void MembershipDriver::Impl::stop() {
  if (!stop_requested_.exchange(true)) asio::post(io_, [this] { begin_leave(); });
  if (std::this_thread::get_id() == thread_id_) return;
  std::lock_guard<std::mutex> g(join_mx_);
  if (thread_.joinable()) thread_.join();
}

void MembershipDriver::Impl::begin_leave() {
  if (leaving_ || stopping_) return;
  leaving_ = true;
  const auto bound = config_.gossip.leave_timeout;
  if (bound.count() <= 0 || !joined_) {
    finish();
    return;
  }
  leave_timer_.expires_after(bound);
  leave_timer_.async_wait([this, bound](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    log("info", "leave not fully propagated after " + std::to_string(bound.count()) +
                    " ms; stopping anyway");
    finish();
  });
  step([](membership::Membership& core) { return core.leave(now()); });
}

void MembershipDriver::Impl::finish() {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ec;
  udp_.close(ec);
  acceptor_.close(ec);
  timer_.cancel();
  resolve_timer_.cancel();
  leave_timer_.cancel();
  address_timer_.cancel();
  resolver_.cancel();
  work_.reset();
  // Open push-pull connections are abandoned: their handlers are destroyed with io_.
  io_.stop();
}

// -- accessors ----------------------------------------------------------------------------------

std::vector<membership::Member> MembershipDriver::Impl::members() const {
  std::lock_guard<std::mutex> g(core_mx_);
  return core_->members();
}

size_t MembershipDriver::Impl::alive_peers() const {
  std::lock_guard<std::mutex> g(core_mx_);
  size_t n = 0;
  for (const membership::Member& m : core_->members()) {
    if (m.state == membership::MemberState::alive && m.id != config_.self) ++n;
  }
  return n;
}

membership::Stats MembershipDriver::Impl::stats() const {
  std::lock_guard<std::mutex> g(core_mx_);
  return core_->stats();
}

DriverStats MembershipDriver::Impl::driver_stats() const {
  const Counters& c = counters;
  return DriverStats{
      .datagrams_sent = c.datagrams_sent.load(),
      .datagrams_received = c.datagrams_received.load(),
      .send_errors = c.send_errors.load(),
      .receive_errors = c.receive_errors.load(),
      .unresolved_drops = c.unresolved_drops.load(),
      .streams_opened = c.streams_opened.load(),
      .streams_accepted = c.streams_accepted.load(),
      .stream_failures = c.stream_failures.load(),
      .streams_refused = c.streams_refused.load(),
      .seed_resolutions = c.seed_resolutions.load(),
      .seed_resolve_failures = c.seed_resolve_failures.load(),
  };
}

MembershipDriver::SubscriptionId MembershipDriver::Impl::subscribe(Callback callback) {
  std::lock_guard<std::mutex> g(subscribers_mx_);
  const SubscriptionId id = next_subscription_++;
  subscribers_.emplace(id, std::make_shared<Callback>(std::move(callback)));
  return id;
}

void MembershipDriver::Impl::unsubscribe(SubscriptionId id) {
  std::lock_guard<std::mutex> g(subscribers_mx_);
  subscribers_.erase(id);
}

void MembershipDriver::Impl::update_metadata(membership::Metadata metadata) {
  for (const auto& [k, v] : config_.gossip.tags) metadata.tags.try_emplace(k, v);
  asio::post(io_, [this, metadata = std::move(metadata)]() mutable {
    if (leaving_ || stopping_) return;
    step([&](membership::Membership& core) {
      return core.update_metadata(std::move(metadata), now());
    });
  });
}

// -- core steps ---------------------------------------------------------------------------------

membership::Time MembershipDriver::Impl::now() {
  return std::chrono::time_point_cast<membership::Duration>(std::chrono::steady_clock::now());
}

void MembershipDriver::Impl::step(
    const std::function<membership::Output(membership::Membership&)>& f) {
  membership::Output out;
  bool refuted = false;
  {
    std::lock_guard<std::mutex> g(core_mx_);
    out = f(*core_);
    refuted = raised_incarnation();
  }
  handle(std::move(out));
  // Suspected: maybe because we moved and the others probe our old address.
  if (refuted) check_own_address();
}

bool MembershipDriver::Impl::raised_incarnation() {
  const uint32_t incarnation = core_->incarnation();
  const bool raised = incarnation > known_incarnation_;
  known_incarnation_ = incarnation;
  return raised;
}

void MembershipDriver::Impl::handle(membership::Output out) {
  if (stopping_) return;
  for (const membership::Outgoing& p : out.packets) {
    if (p.channel == membership::Channel::datagram) {
      send_datagram(p);
    } else {
      push_pull(p);
    }
  }
  deliver(out.events);
  bool propagated = false;
  {
    std::lock_guard<std::mutex> g(core_mx_);
    propagated = leaving_ && core_->leave_propagated();
  }
  if (propagated) {
    finish();
    return;
  }
  arm_timer();
}

std::vector<std::vector<uint8_t>> MembershipDriver::Impl::on_stream_message(
    const membership::Address& from, std::vector<uint8_t> bytes, bool may_reply) {
  membership::Output out;
  bool refuted = false;
  int dropped = -1;
  {
    std::lock_guard<std::mutex> g(core_mx_);
    const membership::Stats before = core_->stats();
    out = core_->on_packet(from, bytes, membership::Channel::stream, now());
    dropped = drop_reason(before, core_->stats());
    refuted = raised_incarnation();
  }
  log_drop(dropped, from, membership::Channel::stream);
  std::vector<std::vector<uint8_t>> replies;
  if (may_reply) {
    std::erase_if(out.packets, [&](membership::Outgoing& p) {
      if (p.channel != membership::Channel::stream || p.to != from) return false;
      replies.push_back(std::move(p.bytes));
      return true;
    });
  }
  handle(std::move(out));
  if (refuted) check_own_address();
  return replies;
}

void MembershipDriver::Impl::deliver(const std::vector<membership::Event>& events) {
  if (events.empty()) return;
  std::vector<std::shared_ptr<Callback>> subscribers;
  {
    std::lock_guard<std::mutex> g(subscribers_mx_);
    for (const auto& [id, cb] : subscribers_) subscribers.push_back(cb);
  }
  for (const membership::Event& e : events) {
    if (config_.faults) gossip_names_[e.member.gossip.to_string()] = e.member.id.full_name();
    if (e.kind == membership::EventKind::suspect) on_suspect(e.member);
    try {
      if (config_.on_event) config_.on_event(e);
      for (const auto& cb : subscribers) (*cb)(e);
    } catch (const std::exception& ex) {
      log("error", std::string("membership event callback threw: ") + ex.what());
    }
  }
}

void MembershipDriver::Impl::arm_timer() {
  if (stopping_) return;
  membership::Time deadline;
  {
    std::lock_guard<std::mutex> g(core_mx_);
    deadline = core_->next_deadline();
  }
  if (deadline >= armed_for_) return;  // the pending wait fires early enough
  armed_for_ = deadline;
  const uint64_t generation = ++timer_generation_;
  // Never further than an hour ahead (next_deadline is "never" while nothing is scheduled).
  const membership::Time limit = now() + std::chrono::hours(1);
  timer_.expires_at(std::min(deadline, limit));
  timer_.async_wait([this, generation](const boost::system::error_code& ec) {
    if (ec || stopping_ || generation != timer_generation_) return;
    armed_for_ = membership::Time::max();
    step([](membership::Membership& core) { return core.tick(now()); });
  });
}

// -- UDP ----------------------------------------------------------------------------------------

void MembershipDriver::Impl::send_datagram(const membership::Outgoing& packet) {
  if (config_.faults && config_.faults->any()) {
    const FaultVerdict verdict = config_.faults->datagram(name_at(packet.to));
    if (verdict.drop) return;
    if (verdict.delay.count() > 0) {
      later(verdict.delay, [this, packet] { transmit_datagram(packet); });
      return;
    }
  }
  transmit_datagram(packet);
}

void MembershipDriver::Impl::transmit_datagram(const membership::Outgoing& packet) {
  auto ip = lookup(packet.to.host);
  if (!ip) {
    ++counters.unresolved_drops;
    return;
  }
  const udp::endpoint to(*ip, packet.to.port);
  boost::system::error_code ec;
  if (to.protocol() != udp_.local_endpoint(ec).protocol()) {
    ++counters.send_errors;
    log_throttled(packet.to.to_string(), "gossip to " + packet.to.to_string() +
                                             ": address family differs from the gossip socket's "
                                             "(bound to " +
                                             config_.gossip.listen_host + ")");
    return;
  }
  udp_.send_to(asio::buffer(packet.bytes), to, 0, ec);
  if (ec) {
    ++counters.send_errors;
    std::string hint;
    if (ec == boost::system::errc::operation_not_permitted) hint = " (a firewall OUTPUT rule?)";
    if (ec == asio::error::would_block) hint = " (socket send buffer full)";
    log_throttled(packet.to.to_string(), "gossip datagram to " + packet.to.to_string() +
                                             " not sent: " + ec.message() + hint);
    return;
  }
  ++counters.datagrams_sent;
}

void MembershipDriver::Impl::receive_datagram() {
  udp_.async_receive_from(
      asio::buffer(datagram_), from_, [this](const boost::system::error_code& ec, size_t n) {
        if (stopping_ || ec == asio::error::operation_aborted) return;
        if (ec) {
          // ICMP errors of earlier sends surface here on some systems: not fatal.
          ++counters.receive_errors;
          log_throttled("udp receive", "gossip receive failed: " + ec.message());
        } else {
          ++counters.datagrams_received;
          const membership::Address from{unmapped(from_.address()).to_string(), from_.port()};
          const std::span<const uint8_t> bytes(datagram_.data(), n);
          FaultVerdict verdict;
          if (config_.faults && config_.faults->any()) {
            verdict = config_.faults->datagram(datagram_peer(from, bytes));
          }
          if (verdict.delay.count() > 0) {
            later(verdict.delay,
                  [this, from, copy = std::vector<uint8_t>(bytes.begin(), bytes.end())] {
                    on_datagram(from, copy);
                  });
          } else if (!verdict.drop) {
            on_datagram(from, bytes);
          }
        }
        receive_datagram();
      });
}

void MembershipDriver::Impl::on_datagram(const membership::Address& from,
                                         std::span<const uint8_t> bytes) {
  int dropped = -1;
  step([&](membership::Membership& core) {
    const membership::Stats before = core.stats();
    auto out = core.on_packet(from, bytes, membership::Channel::datagram, now());
    dropped = drop_reason(before, core.stats());
    return out;
  });
  log_drop(dropped, from, membership::Channel::datagram);
}

// -- the fault seam -----------------------------------------------------------------------------

std::string MembershipDriver::Impl::name_at(const membership::Address& address) const {
  auto it = gossip_names_.find(address.to_string());
  return it == gossip_names_.end() ? std::string() : it->second;
}

std::string MembershipDriver::Impl::stream_peer(const membership::Address& peer,
                                                const std::vector<uint8_t>& message,
                                                bool accepted) const {
  if (!config_.faults || !config_.faults->any()) return {};
  std::string name = accepted ? std::string() : name_at(peer);
  return name.empty() ? sender_named_in(peer, message) : name;
}

std::string MembershipDriver::Impl::datagram_peer(const membership::Address& from,
                                                  std::span<const uint8_t> bytes) const {
  // The message first: its address may be one no event told us of yet (a new node, a restarted
  // one's new port), or one a member left and another took since.
  std::string name = sender_named_in(from, bytes);
  return name.empty() ? name_at(from) : name;
}

FaultVerdict MembershipDriver::Impl::stream_fault(const std::string& peer) {
  if (!config_.faults || peer.empty()) return {};
  return config_.faults->stream(peer);
}

void MembershipDriver::Impl::later(std::chrono::milliseconds delay, std::function<void()> then) {
  auto timer = std::make_shared<asio::steady_timer>(io_, delay);
  timer->async_wait([this, timer, then = std::move(then)](const boost::system::error_code& ec) {
    if (!ec && !stopping_) then();
  });
}

// -- logging ------------------------------------------------------------------------------------

void MembershipDriver::Impl::log(std::string_view level, const std::string& text) {
  try {
    config_.log(level, text);
  } catch (...) {
    // A log hook that throws loses its line, nothing more.
  }
}

int MembershipDriver::Impl::drop_reason(const membership::Stats& before,
                                        const membership::Stats& after) {
  for (size_t i = 0; i < std::size(kDropReasons); ++i) {
    if (after.*kDropReasons[i].counter != before.*kDropReasons[i].counter)
      return static_cast<int>(i);
  }
  return -1;
}

void MembershipDriver::Impl::log_drop(int reason, const membership::Address& from,
                                      membership::Channel channel) {
  if (reason < 0) return;
  const DropReason& r = kDropReasons[reason];
  // Throttled per reason, not per sender: a flood from many addresses is still one line per
  // interval.
  const std::string what = std::string("gossip packets dropped as ") + r.name;
  log_throttled(what,
                std::string(channel == membership::Channel::datagram ? "gossip datagram"
                                                                     : "push-pull message") +
                    " from " + from.to_string() + " dropped: " + r.name + " (" + r.meaning + ")",
                what);
}

void MembershipDriver::Impl::log_throttled(const std::string& peer, const std::string& text,
                                           std::string_view suppressed) {
  if (stopping_) return;
  const auto t = std::chrono::steady_clock::now();
  if (throttles_.size() > 4096) throttles_.clear();  // bounded whatever peers come and go
  Throttle& th = throttles_[peer];
  if (th.last != std::chrono::steady_clock::time_point{} &&
      t - th.last < config_.gossip.send_error_log_interval) {
    ++th.suppressed;
    return;
  }
  std::string line = text;
  if (th.suppressed > 0) {
    line += " (" + std::to_string(th.suppressed) + " more " +
            (suppressed.empty() ? "about " + peer : std::string(suppressed)) +
            " since the last report)";
  }
  th.last = t;
  th.suppressed = 0;
  log("warning", line);
}

}  // namespace otp::cluster
