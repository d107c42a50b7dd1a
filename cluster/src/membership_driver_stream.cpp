// MembershipDriver: push-pull over TCP. A message is a 4-byte big-endian length and that many
// bytes (at most Options::max_stream_size). An accepted connection carries one request and gets
// one reply; a dialed one sends a request and reads one reply. Each is bounded by stream_timeout
// from its start; anything that goes wrong closes it, counted and logged (throttled per peer),
// and the core retries on its own schedule.
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "membership_driver_impl.hpp"
#include "otp/protocol/framing.hpp"

namespace otp::cluster {

namespace detail {

/// One push-pull exchange on one TCP connection (either side).
class StreamConnection : public std::enable_shared_from_this<StreamConnection> {
 public:
  using Impl = MembershipDriver::Impl;

  /// An accepted connection from peer: read a request, write the core's reply, close.
  StreamConnection(Impl& impl, tcp::socket socket, membership::Address peer)
      : impl_(impl),
        socket_(std::move(socket)),
        deadline_(impl.io()),
        peer_(std::move(peer)),
        outgoing_(false) {}
  /// A connection to dial: write request, read the reply, hand it to the core, close.
  StreamConnection(Impl& impl, membership::Address peer, std::vector<uint8_t> request)
      : impl_(impl),
        socket_(impl.io()),
        deadline_(impl.io()),
        peer_(std::move(peer)),
        outgoing_(true) {
    set_out(request);
  }

  void serve() {
    start_deadline();
    read_message();
  }

  void dial(const tcp::endpoint& to) {
    start_deadline();
    socket_.async_connect(to, [self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return self->fail("connect", ec);
      self->write_then([self] { self->read_message(); });
    });
  }

 private:
  void set_out(const std::vector<uint8_t>& body) {
    const auto header = protocol::frame_header(static_cast<uint32_t>(body.size()));
    out_.assign(header.begin(), header.end());
    out_.insert(out_.end(), body.begin(), body.end());
  }

  void start_deadline() {
    deadline_.expires_after(impl_.gossip().stream_timeout);
    deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->closed_) return;
      self->timed_out_ = true;
      boost::system::error_code ignored;
      self->socket_.close(ignored);  // the pending operation completes with an error
    });
  }

  void read_message() {
    asio::async_read(socket_, asio::buffer(header_),
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       if (ec) return self->fail("read", ec);
                       const uint32_t size =
                           (uint32_t{self->header_[0]} << 24) | (uint32_t{self->header_[1]} << 16) |
                           (uint32_t{self->header_[2]} << 8) | uint32_t{self->header_[3]};
                       const size_t limit = self->impl_.gossip().membership.max_stream_size;
                       if (size == 0 || size > limit) {
                         return self->fail("message of " + std::to_string(size) + " bytes (limit " +
                                           std::to_string(limit) + ")");
                       }
                       self->body_.resize(size);
                       asio::async_read(self->socket_, asio::buffer(self->body_),
                                        [self](const boost::system::error_code& ec2, size_t) {
                                          if (ec2) return self->fail("read", ec2);
                                          self->on_message();
                                        });
                     });
  }

  void on_message() {
    if (impl_.stopping()) return close();
    // The fault seam: the message that came in (a request or a reply), as seen from here.
    fault_peer_ = impl_.stream_peer(peer_, body_, !outgoing_);
    const FaultVerdict verdict = impl_.stream_fault(fault_peer_);
    if (verdict.drop) return fail("cut off by fault injection");
    if (verdict.delay.count() > 0) {
      impl_.later(verdict.delay, [self = shared_from_this()] {
        if (!self->closed_) self->take_message();
      });
      return;
    }
    take_message();
  }

  void take_message() {
    auto replies = impl_.on_stream_message(peer_, std::move(body_), !outgoing_);
    if (outgoing_ || replies.empty()) return close();
    set_out(replies.front());
    // The reply going out passes the seam too (the request's source is the peer).
    const FaultVerdict verdict = impl_.stream_fault(fault_peer_);
    if (verdict.drop) return fail("cut off by fault injection");
    if (verdict.delay.count() > 0) {
      impl_.later(verdict.delay, [self = shared_from_this()] {
        if (!self->closed_) self->write_then([self] { self->close(); });
      });
      return;
    }
    write_then([self = shared_from_this()] { self->close(); });
  }

  template <class Then>
  void write_then(Then then) {
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this(), then = std::move(then)](
                          const boost::system::error_code& ec, size_t) {
                        if (ec) return self->fail("write", ec);
                        then();
                      });
  }

  void fail(const std::string& what, const boost::system::error_code& ec) {
    fail(what + ": " +
         (timed_out_
              ? "timed out after " + std::to_string(impl_.gossip().stream_timeout.count()) + " ms"
              : ec.message()));
  }

  void fail(const std::string& what) {
    if (closed_) return;
    if (!impl_.stopping()) {
      ++impl_.counters.stream_failures;
      impl_.log_throttled("stream " + peer_.to_string(),
                          std::string(outgoing_ ? "push-pull to " : "push-pull from ") +
                              peer_.to_string() + " dropped: " + what);
    }
    close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    deadline_.cancel();
    --impl_.open_streams();
  }

  Impl& impl_;
  tcp::socket socket_;
  asio::steady_timer deadline_;
  membership::Address peer_;
  bool outgoing_;
  std::array<uint8_t, protocol::kFrameHeaderSize> header_{};
  std::vector<uint8_t> body_;
  std::string fault_peer_;  // whom the fault seam is asked about (empty: nobody)
  std::vector<uint8_t> out_;
  bool closed_ = false;
  bool timed_out_ = false;
};

}  // namespace detail

void MembershipDriver::Impl::accept_stream() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (stopping_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors, typically: try again a little later rather than spin.
      log_throttled("tcp accept", "push-pull accept failed: " + ec.message());
      auto retry = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
      retry->async_wait([this, retry](const boost::system::error_code& e) {
        if (!e && !stopping_) accept_stream();
      });
      return;
    }
    boost::system::error_code rec;
    const tcp::endpoint remote = socket.remote_endpoint(rec);
    if (rec) {
      accept_stream();
      return;
    }
    auto ip = remote.address();
    if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
      ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
    }
    const membership::Address peer{ip.to_string(), remote.port()};
    if (open_streams_ >= config_.gossip.max_stream_connections) {
      ++counters.streams_refused;
      log_throttled("stream limit", "push-pull from " + peer.to_string() + " refused: " +
                                        std::to_string(open_streams_) + " connections open");
      socket.close(rec);
    } else {
      ++counters.streams_accepted;
      ++open_streams_;
      std::make_shared<detail::StreamConnection>(*this, std::move(socket), peer)->serve();
    }
    accept_stream();
  });
}

void MembershipDriver::Impl::push_pull(membership::Outgoing packet) {
  const FaultVerdict verdict =
      stream_fault(config_.faults && config_.faults->any() ? name_at(packet.to) : std::string());
  if (verdict.drop) return;  // as a dial that gets no answer
  if (verdict.delay.count() > 0) {
    later(verdict.delay, [this, packet = std::move(packet)] { dial_push_pull(packet); });
    return;
  }
  dial_push_pull(std::move(packet));
}

void MembershipDriver::Impl::dial_push_pull(membership::Outgoing packet) {
  if (open_streams_ >= config_.gossip.max_stream_connections) {
    ++counters.streams_refused;
    log_throttled("stream limit", "push-pull to " + packet.to.to_string() + " not started: " +
                                      std::to_string(open_streams_) + " connections open");
    return;
  }
  auto ip = lookup(packet.to.host);
  if (!ip) {
    ++counters.unresolved_drops;
    return;
  }
  ++counters.streams_opened;
  ++open_streams_;
  const tcp::endpoint to(*ip, packet.to.port);
  std::make_shared<detail::StreamConnection>(*this, packet.to, std::move(packet.bytes))->dial(to);
}

}  // namespace otp::cluster
