// AsioTransport: the Transport on Boost.Asio (private to otp_cluster). It owns the io_context and
// its threads, the listening socket, every open connection (Link) and every address being kept
// up (Dialer), and the table of peers by name. That table decides which link is *the* link of a
// node (simultaneous connects, restarted nodes) and in which order the listener hears of links:
//
//   current  the newest established link of that name; send() uses it.
//   owner    the link whose on_node_up was called (or is about to be) and whose on_node_down
//            was not yet. A link can only be reported up once the name has no owner, so the
//            down of an old link always comes before the up of its replacement; a replacement
//            that established while the old owner was still up waits ("parked") until then.
//
// Links and dialers reach the transport only through the section "for links and dialers".
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "otp/cluster/transport.hpp"
#include "refusal_log.hpp"

namespace otp::cluster::detail {

class Link;
class Dialer;

/// Hash and equality for maps keyed by "name@host" that a NodeId can look up without building
/// the string (send() does this per message).
struct NodeName {
  std::string_view name;
  std::string_view host;
};
struct NodeNameHash {
  using is_transparent = void;
  size_t operator()(std::string_view full_name) const noexcept;
  size_t operator()(const std::string& full_name) const noexcept {
    return (*this)(std::string_view(full_name));
  }
  size_t operator()(const NodeName& n) const noexcept;
};
struct NodeNameEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  bool operator()(const NodeName& n, std::string_view s) const noexcept;
  bool operator()(std::string_view s, const NodeName& n) const noexcept { return (*this)(n, s); }
};

/// The counters of TransportStats that are bumped from many threads.
struct TransportCounters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> dialed{0};
  std::atomic<uint64_t> dial_failures{0};
  std::array<std::atomic<uint64_t>, 8> rejected{};
  std::atomic<uint64_t> handshake_timeouts{0};
  std::atomic<uint64_t> heartbeat_timeouts{0};
  std::atomic<uint64_t> frames_too_large{0};
  std::atomic<uint64_t> frames_dropped{0};
  std::atomic<uint64_t> duplicate_links{0};
  std::atomic<uint64_t> overloads{0};
  std::atomic<uint64_t> messages_sent{0};
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> messages_received{0};
  std::atomic<size_t> links_up{0};

  static void bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
};

class AsioTransport final : public Transport {
 public:
  /// Validates config, binds, and starts the threads (errors: see Transport::start).
  static Result<std::unique_ptr<AsioTransport>> create(TransportOptions config,
                                                       TransportListener& listener);
  ~AsioTransport() override;

  // -- Transport --
  uint16_t port() const override { return port_; }
  const protocol::NodeId& self() const override { return config_.self; }
  Result<void> connect(const std::string& host_port) override;
  void disconnect(const std::string& name_or_address) override;
  void stop_dialing(const std::string& host_port, const std::string& full_name) override;
  void close_link(const protocol::NodeId& peer, const std::string& reason) override;
  std::optional<SendError> send(const protocol::NodeId& peer,
                                const protocol::Message& message) override;
  std::optional<SendError> send_queued(const protocol::NodeId& peer,
                                       const protocol::Message& message) override;
  std::optional<protocol::NodeId> peer(const std::string& full_name) const override;
  std::vector<protocol::NodeId> peers() const override;
  TransportStats stats() const override;
  void stop() override;

  // -- for links and dialers --
  const TransportOptions& config() const { return config_; }
  TransportListener& listener() { return listener_; }
  boost::asio::io_context& io() { return io_; }
  TransportCounters& counters() { return counters_; }
  void log(std::string_view level, const std::string& text) const { config_.log(level, text); }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  /// The refused handshakes of accepted links, per remote host (which to log).
  RefusalLog& refusals() { return refusals_; }

  /// Tracks a new connection and starts it; false (and the socket is dropped) when stopping.
  bool add_link(const std::shared_ptr<Link>& link);

  enum class Verdict {
    up,         // the link is the node's link: report it up now
    parked,     // the node's link, but an older link's down is still to be reported
    duplicate,  // another link to the same incarnation wins: close this one, no events
    refused,    // stopping: close this one, no events
  };
  struct Admission {
    Verdict verdict = Verdict::refused;
    std::string why;  // for duplicate: why this link lost (the link's close reason)
  };
  /// Called once by a link whose handshake succeeded (on its strand). Replaced links are told
  /// to close.
  Admission admit(const std::shared_ptr<Link>& link);
  /// Called once by every link, on its strand, when it closed. Reports the down if the link was
  /// reported up, then lets a parked successor come up and tells the dialers.
  void link_closed(const std::shared_ptr<Link>& link, bool was_up, const std::string& reason);
  /// Whether a link to that node name is established now (a dialer need not dial it).
  bool linked(const std::string& full_name) const;
  /// A link of dialer finished its handshake with full_name: the dialer learns the name (so
  /// disconnect() finds it), or is dropped when the address is this node itself.
  void dialer_reached(const std::shared_ptr<Dialer>& dialer, const std::string& full_name);

 private:
  /// send() and send_queued() (queued: never written on the calling thread).
  std::optional<SendError> send(const protocol::NodeId& peer, const protocol::Message& message,
                                bool queued);

  struct PeerEntry {
    std::shared_ptr<Link> current;
    std::shared_ptr<Link> owner;
  };

  AsioTransport(TransportOptions config, TransportListener& listener);
  Result<void> listen();
  void accept_next();
  void run_io();
  /// The first call closes the listener, every link and dialer; later calls do nothing.
  void close_everything();
  bool on_io_thread() const;
  /// Removes the dialers that led to full_name (under mx_); the caller stops them.
  std::vector<std::shared_ptr<Dialer>> take_dialers(const std::string& full_name);

  TransportOptions config_;
  TransportListener& listener_;
  TransportCounters counters_;
  RefusalLog refusals_;
  uint16_t port_ = 0;

  // Declared first among the Asio objects: destroyed last, after every socket and timer.
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::strand<boost::asio::io_context::executor_type> accept_strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  std::vector<std::thread> threads_;

  mutable std::shared_mutex mx_;  // guards what follows
  std::unordered_map<std::string, PeerEntry, NodeNameHash, NodeNameEqual> peers_;
  std::unordered_map<const Link*, std::shared_ptr<Link>> links_;      // every open connection
  std::unordered_map<std::string, std::shared_ptr<Dialer>> dialers_;  // by "host:port"
  std::atomic<bool> stopping_{false};

  std::mutex stop_mx_;  // serialises the join: a second stop() waits for the first
  bool joined_ = false;
};

}  // namespace otp::cluster::detail
