#include "transport_asio.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <utility>

#include "otp/protocol/codec.hpp"
#include "transport_dialer.hpp"
#include "transport_link.hpp"

namespace otp::cluster::detail {

namespace asio = boost::asio;
using asio::ip::tcp;

// -- NodeName -----------------------------------------------------------------------------------

namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

uint64_t fnv(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) h = (h ^ c) * kFnvPrime;
  return h;
}

}  // namespace

size_t NodeNameHash::operator()(std::string_view full_name) const noexcept {
  return fnv(kFnvOffset, full_name);
}

size_t NodeNameHash::operator()(const NodeName& n) const noexcept {
  return fnv(fnv(fnv(kFnvOffset, n.name), "@"), n.host);
}

bool NodeNameEqual::operator()(const NodeName& n, std::string_view s) const noexcept {
  return s.size() == n.name.size() + 1 + n.host.size() && s.starts_with(n.name) &&
         s[n.name.size()] == '@' && s.ends_with(n.host);
}

// -- start and stop -----------------------------------------------------------------------------

namespace {

std::string check(const TransportOptions& c) {
  if (c.self.name.empty() || c.self.host.empty()) return "config.self needs a name and a host";
  if (c.cookie.empty()) return "config.cookie is empty: it is what authenticates the nodes";
  if (c.io_threads == 0) return "config.io_threads must be at least 1";
  if (c.handshake_timeout.count() <= 0) return "config.handshake_timeout must be positive";
  if (c.heartbeat_interval.count() <= 0) return "config.heartbeat_interval must be positive";
  if (c.dead_link_timeout <= c.heartbeat_interval) {
    return "config.dead_link_timeout must exceed heartbeat_interval, or idle links die";
  }
  if (c.reconnect_initial.count() <= 0 || c.reconnect_max < c.reconnect_initial) {
    return "config.reconnect_initial must be positive and at most reconnect_max";
  }
  if (!(c.reconnect_jitter >= 0.0 && c.reconnect_jitter < 1.0)) {
    return "config.reconnect_jitter must be in [0, 1)";
  }
  if (c.max_frame_size < 1024) return "config.max_frame_size must be at least 1024 bytes";
  if (c.max_queue_bytes == 0) return "config.max_queue_bytes must be positive";
  return {};
}

}  // namespace

AsioTransport::AsioTransport(TransportOptions config, TransportListener& listener)
    : config_(std::move(config)),
      listener_(listener),
      work_(asio::make_work_guard(io_)),
      accept_strand_(asio::make_strand(io_)),
      acceptor_(accept_strand_),
      accept_retry_(accept_strand_) {
  if (!config_.log) {
    config_.log = [prefix = "[otp.transport " + config_.self.to_string() + "] "](
                      std::string_view level, std::string_view text) {
      if (level == "debug") return;
      std::string line = prefix;
      line.append(level).append(": ").append(text).append("\n");
      std::fwrite(line.data(), 1, line.size(), stderr);
    };
  }
}

Result<std::unique_ptr<AsioTransport>> AsioTransport::create(TransportOptions config,
                                                             TransportListener& listener) {
  if (auto problem = check(config); !problem.empty()) return Error(ErrorCode::badarg, problem);
  std::unique_ptr<AsioTransport> t(new AsioTransport(std::move(config), listener));
  if (auto listening = t->listen(); !listening) return listening.error();
  t->accept_next();
  t->threads_.reserve(t->config_.io_threads);
  for (size_t i = 0; i < t->config_.io_threads; ++i) {
    t->threads_.emplace_back([raw = t.get()] { raw->run_io(); });
  }
  return t;
}

Result<void> AsioTransport::listen() {
  const std::string where = config_.listen_host + ":" + std::to_string(config_.listen_port);
  boost::system::error_code ec;
  tcp::resolver resolver(io_);
  auto endpoints = resolver.resolve(config_.listen_host, std::to_string(config_.listen_port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty())
    return Error(ErrorCode::unresolved,
                 "cannot resolve " + where + ": " + (ec ? ec.message() : "no address"));
  const tcp::endpoint endpoint = *endpoints.begin();
  // SO_REUSEADDR: a restarted node gets its port back while old connections are in TIME_WAIT.
  if (acceptor_.open(endpoint.protocol(), ec) ||
      acceptor_.set_option(tcp::acceptor::reuse_address(true), ec) ||
      acceptor_.bind(endpoint, ec) ||
      acceptor_.listen(asio::socket_base::max_listen_connections, ec)) {
    return Error(ErrorCode::listen_failed, "listen on " + where + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint(ec).port();
  return {};
}

void AsioTransport::run_io() {
  while (true) {
    try {
      io_.run();
      return;
    } catch (const std::exception& e) {
      // A listener threw. The handler that called it did not finish, so that link may stall
      // until its dead-link timeout closes it; the thread and the other links go on.
      log("error", std::string("a listener callback threw: ") + e.what());
    } catch (...) {
      log("error", "a listener callback threw a non-exception");
    }
  }
}

AsioTransport::~AsioTransport() {
  stop();
}

void AsioTransport::stop() {
  close_everything();
  // A listener callback can not join its own thread; the destructor (or a later stop()) does.
  if (on_io_thread()) return;
  std::lock_guard<std::mutex> serial(stop_mx_);  // a second caller waits for the join
  if (joined_) return;
  for (auto& t : threads_) t.join();
  joined_ = true;
}

void AsioTransport::close_everything() {
  std::vector<std::shared_ptr<Link>> links;
  std::vector<std::shared_ptr<Dialer>> dialers;
  bool first = false;
  {
    std::unique_lock<std::shared_mutex> lock(mx_);
    if (!stopping_.exchange(true)) {
      first = true;
      for (auto& [_, link] : links_) links.push_back(link);
      for (auto& [_, dialer] : dialers_) dialers.push_back(dialer);
      dialers_.clear();
    }
  }
  if (first) {
    // Each close runs on its link's strand and reports the down there; run() returns once
    // every socket, timer and resolver has finished, and nothing new starts while stopping.
    for (auto& link : links) link->close("stop");
    for (auto& dialer : dialers) dialer->stop();
    asio::post(accept_strand_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      accept_retry_.cancel();
    });
    work_.reset();
  }
}

bool AsioTransport::on_io_thread() const {
  const auto me = std::this_thread::get_id();
  return std::any_of(threads_.begin(), threads_.end(),
                     [me](const std::thread& t) { return t.get_id() == me; });
}

// -- accepting ----------------------------------------------------------------------------------

void AsioTransport::accept_next() {
  auto strand = asio::make_strand(io_);
  acceptor_.async_accept(
      strand, [this, strand](const boost::system::error_code& ec, tcp::socket socket) {
        if (stopping() || ec == asio::error::operation_aborted) return;
        if (ec) {
          // Out of descriptors, typically: retrying at once would spin.
          log("warning", "accept on port " + std::to_string(port_) + " failed: " + ec.message() +
                             "; retrying in 100 ms");
          accept_retry_.expires_after(std::chrono::milliseconds(100));
          accept_retry_.async_wait([this](const boost::system::error_code& e) {
            if (!e && !stopping()) accept_next();
          });
          return;
        }
        TransportCounters::bump(counters_.accepted);
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        add_link(std::make_shared<Link>(*this, strand, std::move(socket), Link::Role::acceptor,
                                        nullptr));
        accept_next();
      });
}

bool AsioTransport::add_link(const std::shared_ptr<Link>& link) {
  {
    std::unique_lock<std::shared_mutex> lock(mx_);
    if (stopping()) return false;
    links_.emplace(link.get(), link);
  }
  link->start();
  return true;
}

// -- the peer table -----------------------------------------------------------------------------

AsioTransport::Admission AsioTransport::admit(const std::shared_ptr<Link>& link) {
  const protocol::NodeId& peer = link->peer();
  std::shared_ptr<Link> replaced;
  std::string replaced_reason;
  Admission admission;
  {
    std::unique_lock<std::shared_mutex> lock(mx_);
    if (stopping()) return {Verdict::refused, {}};
    auto& entry = peers_[peer.full_name()];
    if (entry.current && entry.current->peer() == peer) {
      // The same incarnation twice: both nodes dialed at once. Both ends apply the same rule:
      // keep the link that the smaller NodeId initiated.
      const protocol::NodeId& smaller = std::min(config_.self, peer);
      auto initiated_by_smaller = [&](const Link& l) {
        return (l.role() == Link::Role::initiator ? config_.self : l.peer()) == smaller;
      };
      if (!initiated_by_smaller(*link) || initiated_by_smaller(*entry.current)) {
        return {Verdict::duplicate, "duplicate link to " + peer.to_string() + ": the link " +
                                        smaller.to_string() +
                                        " initiated is kept (both nodes dialed at once)"};
      }
      replaced = entry.current;
      replaced_reason =
          "replaced by the link " + smaller.to_string() + " initiated (both nodes dialed at once)";
    } else if (entry.current) {
      replaced = entry.current;
      replaced_reason = "replaced by a new incarnation, " + peer.to_string();
    }
    entry.current = link;
    if (entry.owner) {
      admission.verdict = Verdict::parked;
    } else {
      entry.owner = link;
      admission.verdict = Verdict::up;
    }
  }
  if (replaced) replaced->close(std::move(replaced_reason));
  return admission;
}

void AsioTransport::link_closed(const std::shared_ptr<Link>& link, bool was_up,
                                const std::string& reason) {
  const bool established = !link->peer().name.empty();
  const std::string name = established ? link->peer().full_name() : std::string();
  if (established) {
    // send() stops finding it before the down is reported.
    std::unique_lock<std::shared_mutex> lock(mx_);
    auto it = peers_.find(name);
    if (it != peers_.end() && it->second.current == link) it->second.current.reset();
  }
  if (was_up) {
    listener_.on_node_down(link->peer(), reason);
    counters_.links_up.fetch_sub(1, std::memory_order_relaxed);
  }
  // Only now may another link of this name come up: its up follows this down.
  std::shared_ptr<Link> promoted;
  std::vector<std::shared_ptr<Dialer>> to_wake;
  {
    std::unique_lock<std::shared_mutex> lock(mx_);
    links_.erase(link.get());
    auto it = established ? peers_.find(name) : peers_.end();
    if (it != peers_.end()) {
      auto& entry = it->second;
      if (entry.owner == link) {
        entry.owner = entry.current;
        promoted = entry.current;
      }
      if (!entry.owner && !entry.current) {
        peers_.erase(it);
        for (auto& [_, dialer] : dialers_) {
          if (dialer->learned_name == name && dialer != link->dialer()) to_wake.push_back(dialer);
        }
      }
    }
  }
  if (promoted) promoted->activate();
  if (link->dialer()) link->dialer()->link_closed(established, link->handshake_failure());
  for (auto& dialer : to_wake) dialer->peer_down();
}

bool AsioTransport::linked(const std::string& full_name) const {
  std::shared_lock<std::shared_mutex> lock(mx_);
  auto it = peers_.find(full_name);
  return it != peers_.end() && it->second.current;
}

void AsioTransport::dialer_reached(const std::shared_ptr<Dialer>& dialer,
                                   const std::string& full_name) {
  if (full_name == config_.self.full_name()) {
    {
      std::unique_lock<std::shared_mutex> lock(mx_);
      auto it = dialers_.find(dialer->address());
      if (it != dialers_.end() && it->second == dialer) dialers_.erase(it);
    }
    dialer->stop();
    log("warning", dialer->address() + " is this node itself; not dialing it again");
    return;
  }
  {
    std::unique_lock<std::shared_mutex> lock(mx_);
    dialer->learned_name = full_name;
  }
  dialer->established(full_name);
}

std::vector<std::shared_ptr<Dialer>> AsioTransport::take_dialers(const std::string& full_name) {
  std::vector<std::shared_ptr<Dialer>> taken;
  for (auto it = dialers_.begin(); it != dialers_.end();) {
    if (it->second->learned_name == full_name) {
      taken.push_back(std::move(it->second));
      it = dialers_.erase(it);
    } else {
      ++it;
    }
  }
  return taken;
}

// -- the Transport API --------------------------------------------------------------------------

Result<void> AsioTransport::connect(const std::string& host_port) {
  auto fail = [](std::string text) { return Error(ErrorCode::bad_address, std::move(text)); };
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return fail("expected host:port, got '" + host_port + "'");
  std::string host = host_port.substr(0, colon);
  const std::string port = host_port.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:7001
  }
  if (host.empty()) return fail("no host in '" + host_port + "'");
  const bool digits =
      !port.empty() && port.size() <= 5 &&
      std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || std::stoul(port) == 0 || std::stoul(port) > 65535) {
    return fail("'" + port + "' in '" + host_port + "' is not a port number (1-65535)");
  }
  std::shared_ptr<Dialer> dialer;
  {
    std::unique_lock<std::shared_mutex> lock(mx_);
    if (stopping())
      return Error(ErrorCode::shutting_down,
                   "connect to " + host_port + ": the transport is stopped");
    auto [it, inserted] = dialers_.try_emplace(host_port);
    if (!inserted) return {};  // already kept up
    it->second = dialer = std::make_shared<Dialer>(*this, host, port);
  }
  dialer->start();
  return {};
}

void AsioTransport::disconnect(const std::string& name_or_address) {
  std::vector<std::shared_ptr<Dialer>> dialers;
  std::vector<std::shared_ptr<Link>> links;
  {
    std::unique_lock<std::shared_mutex> lock(mx_);
    std::string full_name = name_or_address;
    if (name_or_address.find('@') == std::string::npos) {
      // "host:port" as given to connect(): its dialer, which may never have reached a node (a
      // wrong cookie, nobody listening), and the link to the node it reached, if any.
      auto dialer = dialers_.find(name_or_address);
      if (dialer == dialers_.end()) return;
      full_name = dialer->second->learned_name;
      dialers.push_back(std::move(dialer->second));
      dialers_.erase(dialer);
    } else {
      dialers = take_dialers(full_name);
    }
    auto it = full_name.empty() ? peers_.end() : peers_.find(full_name);
    if (it != peers_.end()) {
      if (it->second.current) links.push_back(it->second.current);
      if (it->second.owner && it->second.owner != it->second.current) {
        links.push_back(it->second.owner);
      }
    }
  }
  for (auto& dialer : dialers) dialer->stop();
  for (auto& link : links) link->close("disconnected");
}

void AsioTransport::stop_dialing(const std::string& host_port, const std::string& full_name) {
  std::shared_ptr<Dialer> dialer;
  {
    std::unique_lock<std::shared_mutex> lock(mx_);
    auto it = dialers_.find(host_port);
    if (it == dialers_.end()) return;
    const std::string& reached = it->second->learned_name;
    if (!reached.empty() && reached != full_name) return;  // another node answers there now
    dialer = std::move(it->second);
    dialers_.erase(it);
  }
  dialer->stop();
}

void AsioTransport::close_link(const protocol::NodeId& peer, const std::string& reason) {
  std::shared_ptr<Link> link;
  {
    std::shared_lock<std::shared_mutex> lock(mx_);
    auto it = peers_.find(NodeName{peer.name, peer.host});
    if (it == peers_.end() || !it->second.current) return;
    link = it->second.current;
  }
  if (link->peer() == peer) link->close(reason);
}

std::optional<SendError> AsioTransport::send(const protocol::NodeId& peer,
                                             const protocol::Message& message) {
  return send(peer, message, false);
}

std::optional<SendError> AsioTransport::send_queued(const protocol::NodeId& peer,
                                                    const protocol::Message& message) {
  return send(peer, message, true);
}

std::optional<SendError> AsioTransport::send(const protocol::NodeId& peer,
                                             const protocol::Message& message, bool queued) {
  std::shared_ptr<Link> link;
  {
    std::shared_lock<std::shared_mutex> lock(mx_);
    auto it = peers_.find(NodeName{peer.name, peer.host});
    if (it == peers_.end() || !it->second.current) return SendError::nodedown;
    link = it->second.current;
  }
  if (link->peer().creation != peer.creation) return SendError::stale;
  auto body = protocol::encode(message, protocol::Codec::msgpack);
  if (body.size() > config_.max_frame_size) return SendError::too_large;
  auto refused = link->enqueue(std::move(body), false, queued);
  if (!refused) {
    TransportCounters::bump(counters_.messages_sent);
  } else if (*refused == SendError::overload) {
    TransportCounters::bump(counters_.overloads);
  }
  return refused;
}

std::optional<protocol::NodeId> AsioTransport::peer(const std::string& full_name) const {
  std::shared_lock<std::shared_mutex> lock(mx_);
  auto it = peers_.find(full_name);
  // A link that waits for its predecessor's down is not up yet.
  if (it == peers_.end() || !it->second.current || it->second.current != it->second.owner) {
    return std::nullopt;
  }
  return it->second.current->peer();
}

std::vector<protocol::NodeId> AsioTransport::peers() const {
  std::vector<protocol::NodeId> out;
  std::shared_lock<std::shared_mutex> lock(mx_);
  for (const auto& [_, entry] : peers_) {
    if (entry.current && entry.current == entry.owner) out.push_back(entry.current->peer());
  }
  return out;
}

TransportStats AsioTransport::stats() const {
  TransportStats s;
  {
    std::shared_lock<std::shared_mutex> lock(mx_);
    s.connections = links_.size();
    s.dialers = dialers_.size();
    for (const auto& [_, link] : links_) s.queued_bytes += link->queued_bytes();
    for (const auto& [_, entry] : peers_) {
      if (entry.current && entry.current == entry.owner) s.links.push_back(entry.current->stats());
    }
  }
  std::sort(s.links.begin(), s.links.end(), [](const LinkStats& a, const LinkStats& b) {
    return a.peer.full_name() < b.peer.full_name();
  });
  auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  s.links_up = counters_.links_up.load(std::memory_order_relaxed);
  s.accepted = get(counters_.accepted);
  s.dialed = get(counters_.dialed);
  s.dial_failures = get(counters_.dial_failures);
  for (size_t i = 0; i < s.rejected.size(); ++i) s.rejected[i] = get(counters_.rejected[i]);
  s.handshake_timeouts = get(counters_.handshake_timeouts);
  s.heartbeat_timeouts = get(counters_.heartbeat_timeouts);
  s.frames_too_large = get(counters_.frames_too_large);
  s.frames_dropped = get(counters_.frames_dropped);
  s.duplicate_links = get(counters_.duplicate_links);
  s.overloads = get(counters_.overloads);
  s.messages_sent = get(counters_.messages_sent);
  s.writes = get(counters_.writes);
  s.messages_received = get(counters_.messages_received);
  return s;
}

}  // namespace otp::cluster::detail
