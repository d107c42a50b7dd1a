// Dialer: keeps one address (host:port, from Transport::connect) linked (private to otp_cluster).
// It resolves and dials, hands the connected socket to a new Link, and when that link fails or
// drops, dials again after reconnect_delay() (exponential backoff with jitter; the attempt count
// resets once a handshake succeeded). It learns the node name behind the address from the first
// handshake; while that node is linked through any link (e.g. the one it dialed us on), it does
// not dial, and the transport wakes it when that link goes down. It does not dial a node that
// the fault seam (TransportOptions::faults) cuts off. Runs on its own strand.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <memory>
#include <random>
#include <string>

namespace otp::cluster::detail {

class AsioTransport;

class Dialer : public std::enable_shared_from_this<Dialer> {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

  Dialer(AsioTransport& transport, std::string host, std::string port);

  // -- any thread --
  /// Dials now.
  void start();
  /// Stops for good: cancels what is pending and never dials again.
  void stop();
  /// A link this dialer made finished its handshake with node `full_name`.
  void established(std::string full_name);
  /// A link this dialer made closed; established: it had finished its handshake.
  void link_closed(bool established);
  /// The last link to the node behind this address went down (whoever dialed it).
  void peer_down();

  /// "host:port".
  const std::string& address() const { return address_; }
  /// True once stop() was called: a link of this dialer that finishes its handshake afterwards
  /// is closed (disconnect() raced with it).
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  /// The node name learned from the last handshake; empty before. Guarded by the transport's
  /// mutex (the transport finds dialers by it).
  std::string learned_name;

 private:
  enum class State {
    waiting,     // the retry timer runs
    resolving,   // async_resolve in flight
    connecting,  // async_connect in flight (the timer bounds it)
    linked,      // a link made by this dialer is open
    satisfied,   // the node is linked through another link; peer_down() wakes us
    stopped,
  };

  void dial();
  void on_resolved(const boost::system::error_code& ec,
                   const boost::asio::ip::tcp::resolver::results_type& endpoints);
  void on_connected(const boost::system::error_code& ec);
  void failed(const std::string& what);
  /// Arms the timer for the next dial; returns the delay.
  std::chrono::milliseconds retry_later();

  AsioTransport& transport_;
  Strand strand_;
  const std::string host_;
  const std::string port_;
  const std::string address_;

  // -- strand only --
  State state_ = State::waiting;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  unsigned attempt_ = 0;
  unsigned failures_in_a_row_ = 0;
  std::string peer_name_;  // strand copy of learned_name
  std::minstd_rand random_;
  bool timed_out_ = false;  // the connect attempt was cancelled by the timer

  std::atomic<bool> cancelled_{false};
};

}  // namespace otp::cluster::detail
