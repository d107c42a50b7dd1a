// MembershipDriver::Impl (private to otp_cluster): the Asio side of membership. One io_context
// run by one thread owns everything below; the core sits behind core_mx_ only so that the
// accessors (members(), stats()) can read it from other threads.
//
//   membership_driver.cpp          lifecycle, core steps, the timer, UDP, events, logging
//   membership_driver_stream.cpp   push-pull over TCP: the listener and both kinds of connection
//   membership_driver_resolve.cpp  seeds (parsing, periodic re-resolution), host name cache
//   membership_driver_address.cpp  this node's own address moving; members' names re-resolved
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "otp/cluster/membership_driver.hpp"
#include "otp/membership/membership.hpp"

namespace otp::cluster {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace detail {

/// A seed as configured: host (a name or an IP literal) and port.
struct SeedSpec {
  std::string host;
  uint16_t port = 0;
  bool literal = false;  // host is an IP address: no lookup needed
};

/// Parses "host:port" / "[v6]:port"; bad_address (saying what is wrong) when malformed.
Result<SeedSpec> parse_seed(const std::string& text);

class StreamConnection;

/// Whether ip is assigned to one of this host's interfaces now (true when that can not be told).
bool is_local_address(const asio::ip::address& ip);

}  // namespace detail

class MembershipDriver::Impl : public std::enable_shared_from_this<MembershipDriver::Impl> {
 public:
  explicit Impl(MembershipDriverOptions config);
  ~Impl();

  /// Binds both sockets (on the caller's thread). Errors: see MembershipDriver::start.
  Result<void> open();
  /// Starts the thread: resolution of named seeds, then join.
  void run();
  /// See MembershipDriver::stop().
  void stop();

  // -- accessors (any thread) --
  const protocol::NodeId& self() const { return config_.self; }
  uint16_t port() const { return port_; }
  membership::Address address() const {
    std::lock_guard<std::mutex> g(core_mx_);  // it changes when this node moves
    return address_;
  }
  std::vector<membership::Member> members() const;
  size_t alive_peers() const;
  membership::Stats stats() const;
  DriverStats driver_stats() const;
  SubscriptionId subscribe(Callback callback);
  void unsubscribe(SubscriptionId id);
  void update_metadata(membership::Metadata metadata);

  // -- for the stream connections and the resolver (driver thread) --
  asio::io_context& io() { return io_; }
  const GossipOptions& gossip() const { return config_.gossip; }
  /// Feeds a stream message to the core. With may_reply (a connection we accepted), stream
  /// packets of the output addressed to `from` are returned: the reply to write on that same
  /// connection. Everything else is handled.
  std::vector<std::vector<uint8_t>> on_stream_message(const membership::Address& from,
                                                      std::vector<uint8_t> bytes, bool may_reply);
  void log(std::string_view level, const std::string& text);
  /// Log a failure about peer unless one was logged less than send_error_log_interval ago.
  /// The next line logged says how many were not: "(3 more about <peer> ...)", or, with
  /// `suppressed` set, "(3 more <suppressed> ...)".
  void log_throttled(const std::string& peer, const std::string& text,
                     std::string_view suppressed = {});
  /// Why the core dropped the packet it was just given (its stats before and after), as an
  /// index for log_drop; -1 when it was not dropped.
  static int drop_reason(const membership::Stats& before, const membership::Stats& after);
  /// Logs a dropped packet (drop_reason >= 0), throttled per reason. Not under core_mx_: the
  /// log hook may read the driver.
  void log_drop(int reason, const membership::Address& from, membership::Channel channel);
  /// An endpoint for a member's address: IP literals at once, names from the cache (a miss
  /// starts a lookup and returns nullopt; the packet is dropped, the core retries).
  std::optional<asio::ip::address> lookup(const std::string& host);
  /// Stream connections open now (each counts itself in and out).
  size_t& open_streams() { return open_streams_; }
  bool stopping() const { return stopping_; }
  /// Whom the fault seam (MembershipDriverOptions::faults) is asked about for a push-pull
  /// message that came from `peer`: the member at that gossip address, or (for a connection we
  /// accepted, whose port says nothing, or an address not known yet) the source the message
  /// names. Empty without faults.
  std::string stream_peer(const membership::Address& peer, const std::vector<uint8_t>& message,
                          bool accepted) const;
  /// The fault seam's verdict for one push-pull message to or from that peer; {} without faults.
  FaultVerdict stream_fault(const std::string& peer);
  /// Runs then after delay on the driver thread, unless the driver stops first.
  void later(std::chrono::milliseconds delay, std::function<void()> then);

  struct Counters {
    std::atomic<uint64_t> datagrams_sent{0};
    std::atomic<uint64_t> datagrams_received{0};
    std::atomic<uint64_t> send_errors{0};
    std::atomic<uint64_t> receive_errors{0};
    std::atomic<uint64_t> unresolved_drops{0};
    std::atomic<uint64_t> streams_opened{0};
    std::atomic<uint64_t> streams_accepted{0};
    std::atomic<uint64_t> stream_failures{0};
    std::atomic<uint64_t> streams_refused{0};
    std::atomic<uint64_t> seed_resolutions{0};
    std::atomic<uint64_t> seed_resolve_failures{0};
  };
  Counters counters;

 private:
  // -- membership_driver.cpp --
  static membership::Time now();
  /// Runs one core step under the lock and handles its output.
  void step(const std::function<membership::Output(membership::Membership&)>& f);
  /// Whether the core raised its incarnation since the last call (a refutation, or our own
  /// update). Under core_mx_.
  bool raised_incarnation();
  void handle(membership::Output out);
  void deliver(const std::vector<membership::Event>& events);
  /// Through the fault seam, then transmit_datagram.
  void send_datagram(const membership::Outgoing& packet);
  void transmit_datagram(const membership::Outgoing& packet);
  void receive_datagram();
  /// A datagram that passed the fault seam: to the core.
  void on_datagram(const membership::Address& from, std::span<const uint8_t> bytes);
  /// The member whose gossip address this is ("name@host"), empty when none is known.
  std::string name_at(const membership::Address& address) const;
  /// Whom the fault seam is asked about for a datagram from `from`: the sender the datagram
  /// names (a ping's source, a member an alive update places at `from`), else the member known at
  /// that address. So a cut peer's datagrams are dropped whatever their kind, also from an
  /// address no event named yet, whenever the datagram tells who sent it.
  std::string datagram_peer(const membership::Address& from, std::span<const uint8_t> bytes) const;
  void arm_timer();
  void begin_leave();
  void finish();

  // -- membership_driver_stream.cpp --
  void accept_stream();
  /// Through the fault seam, then dial_push_pull.
  void push_pull(membership::Outgoing packet);
  void dial_push_pull(membership::Outgoing packet);

  // -- membership_driver_resolve.cpp --
  void join_when_resolved();
  void resolve_seeds();
  void seeds_resolved(std::vector<membership::Address> named);
  void schedule_resolution();
  bool is_self(const asio::ip::address& ip, uint16_t port) const;

  // -- membership_driver_address.cpp --
  void schedule_address_check();
  void check_own_address();
  /// The local address this host sends from to reach the members it knows, if any.
  std::optional<asio::ip::address> route_source();
  /// A member that turned suspect may have moved: resolve its host name again now.
  void on_suspect(const membership::Member& m);

  MembershipDriverOptions config_;
  membership::Address address_;
  uint16_t port_ = 0;

  asio::io_context io_;
  /// Keeps io_.run() going until finish(), whatever is (not yet) pending.
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  udp::socket udp_;
  tcp::acceptor acceptor_;
  asio::steady_timer timer_;          // the core's next deadline
  asio::steady_timer resolve_timer_;  // next seed re-resolution
  asio::steady_timer leave_timer_;    // bound on the graceful leave
  asio::steady_timer address_timer_;  // next check of our own address
  udp::resolver resolver_;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};

  mutable std::mutex core_mx_;
  std::unique_ptr<membership::Membership> core_;

  // driver thread only
  udp::endpoint from_;
  std::vector<uint8_t> datagram_;
  membership::Time armed_for_ = membership::Time::max();
  uint64_t timer_generation_ = 0;
  std::vector<detail::SeedSpec> seeds_;
  std::vector<membership::Address> literal_seeds_;
  bool joined_ = false;
  size_t lookups_pending_ = 0;
  uint64_t resolve_round_ = 0;
  std::vector<membership::Address> round_result_;
  std::vector<asio::ip::address> self_ips_;
  uint32_t known_incarnation_ = 0;  // under core_mx_
  bool moved_warned_ = false;
  /// The advertised IP was one of this host's at a check: only then can its loss mean a move
  /// (an IP that never was ours is a NAT's, advertised on purpose).
  bool advertised_was_local_ = false;  // "cannot move: sockets bound to the old address" said once
  struct CachedHost {
    std::optional<asio::ip::address> ip;
    std::chrono::steady_clock::time_point resolved_at{};
    bool pending = false;
  };
  std::unordered_map<std::string, CachedHost> hosts_;
  struct Throttle {
    std::chrono::steady_clock::time_point last{};
    uint64_t suppressed = 0;
  };
  std::unordered_map<std::string, Throttle> throttles_;
  size_t open_streams_ = 0;
  /// With a fault seam: member names by gossip address ("host:port"), from the events, so a
  /// datagram's address tells whom the seam is asked about.
  std::unordered_map<std::string, std::string> gossip_names_;
  bool leaving_ = false;
  bool stopping_ = false;

  // any thread
  std::mutex subscribers_mx_;
  std::map<SubscriptionId, std::shared_ptr<Callback>> subscribers_;
  SubscriptionId next_subscription_ = 1;
  std::atomic<bool> stop_requested_{false};
  std::mutex join_mx_;
};

}  // namespace otp::cluster
