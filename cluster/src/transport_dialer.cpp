#include "transport_dialer.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <utility>

#include "transport_asio.hpp"
#include "transport_link.hpp"

namespace otp::cluster::detail {

namespace asio = boost::asio;
using asio::ip::tcp;

Dialer::Dialer(AsioTransport& transport, std::string host, std::string port)
    : transport_(transport),
      strand_(asio::make_strand(transport.io())),
      host_(std::move(host)),
      port_(std::move(port)),
      address_(host_ + ":" + port_),
      resolver_(strand_),
      socket_(strand_),
      timer_(strand_),
      random_(std::random_device{}()) {}

// -- any thread ---------------------------------------------------------------------------------

void Dialer::start() {
  asio::post(strand_, [self = shared_from_this()] { self->dial(); });
}

void Dialer::stop() {
  cancelled_.store(true, std::memory_order_release);
  asio::post(strand_, [self = shared_from_this()] {
    self->state_ = State::stopped;
    boost::system::error_code ignored;
    self->resolver_.cancel();
    self->socket_.close(ignored);
    self->timer_.cancel();
  });
}

void Dialer::established(std::string full_name) {
  asio::post(strand_, [self = shared_from_this(), name = std::move(full_name)]() mutable {
    self->peer_name_ = std::move(name);
    self->attempt_ = 0;
    self->failures_in_a_row_ = 0;
  });
}

void Dialer::link_closed(bool established) {
  asio::post(strand_, [self = shared_from_this(), established] {
    if (self->state_ != State::linked) return;
    if (established) self->attempt_ = 0;
    self->retry_later();
  });
}

void Dialer::peer_down() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->state_ == State::satisfied) self->retry_later();
  });
}

// -- strand -------------------------------------------------------------------------------------

void Dialer::dial() {
  if (state_ == State::stopped || cancelled() || transport_.stopping()) return;
  if (!peer_name_.empty() && transport_.linked(peer_name_)) {
    state_ = State::satisfied;
    return;
  }
  if (const auto& faults = transport_.config().faults;
      faults && !peer_name_.empty() && faults->cut(peer_name_)) {
    // The fault seam cuts that node off: no dial, as if it did not answer; looked at again soon
    // (no backoff), so a healed cut relinks at once.
    attempt_ = 0;
    retry_later();
    return;
  }
  state_ = State::resolving;
  resolver_.async_resolve(
      host_, port_, tcp::resolver::numeric_service,
      [self = shared_from_this()](const boost::system::error_code& ec,
                                  const tcp::resolver::results_type& endpoints) {
        self->on_resolved(ec, endpoints);
      });
}

void Dialer::on_resolved(const boost::system::error_code& ec,
                         const tcp::resolver::results_type& endpoints) {
  if (state_ != State::resolving) return;
  if (ec) {
    failed("cannot resolve " + host_ + ": " + ec.message());
    return;
  }
  state_ = State::connecting;
  timed_out_ = false;
  // The socket is bound to the strand of the link it will become; completions come back here.
  auto link_strand = asio::make_strand(transport_.io());
  socket_ = tcp::socket(link_strand);
  timer_.expires_after(transport_.config().handshake_timeout);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->state_ != State::connecting) return;
    self->timed_out_ = true;
    boost::system::error_code ignored;
    self->socket_.close(ignored);
  });
  asio::async_connect(
      socket_, endpoints,
      asio::bind_executor(strand_, [self = shared_from_this(), link_strand](
                                       const boost::system::error_code& ec, const tcp::endpoint&) {
        if (self->state_ != State::connecting) return;
        self->timer_.cancel();
        if (ec) {
          const auto limit = self->transport_.config().handshake_timeout;
          self->failed(self->timed_out_
                           ? "no answer within " + std::to_string(limit.count()) + " ms"
                           : ec.message());
          return;
        }
        boost::system::error_code ignored;
        self->socket_.set_option(tcp::no_delay(true), ignored);
        TransportCounters::bump(self->transport_.counters().dialed);
        self->state_ = State::linked;
        auto link = std::make_shared<Link>(self->transport_, link_strand, std::move(self->socket_),
                                           Link::Role::initiator, self);
        self->socket_ = tcp::socket(self->strand_);
        if (!self->transport_.add_link(link)) self->state_ = State::stopped;
      }));
}

void Dialer::failed(const std::string& what) {
  TransportCounters::bump(transport_.counters().dial_failures);
  const auto delay = retry_later();
  // A peer that stays away would fill the log: the first failure of a streak is a warning.
  transport_.log(failures_in_a_row_++ == 0 ? "warning" : "debug",
                 "dialing " + address_ + " failed: " + what + "; retrying in " +
                     std::to_string(delay.count()) + " ms");
}

std::chrono::milliseconds Dialer::retry_later() {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto delay = reconnect_delay(transport_.config(), attempt_, unit(random_));
  if (attempt_ < 64) ++attempt_;
  state_ = State::waiting;
  timer_.expires_after(delay);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && self->state_ == State::waiting) self->dial();
  });
  return delay;
}

}  // namespace otp::cluster::detail
