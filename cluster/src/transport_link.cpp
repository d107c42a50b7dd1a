#include "transport_link.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <type_traits>
#include <utility>
#include <variant>

#include "transport_asio.hpp"
#include "transport_dialer.hpp"

namespace otp::cluster::detail {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

/// Frames with a body up to this size are copied into one contiguous buffer before a write, so
/// a burst of small messages costs one syscall; bigger ones are written from where they are.
constexpr size_t kCoalesceBelow = 2048;
/// An unauthenticated peer may make us buffer this much, not max_frame_size: the handshake
/// messages are a few hundred bytes.
constexpr size_t kHandshakeMaxBuffered = 64 * 1024;
/// Write buffers that grew past these during a burst are released once it is written.
constexpr size_t kKeepCoalescedBytes = 1024 * 1024;
constexpr size_t kKeepFrames = 4096;
/// An idle link writes a message on the sender's thread (no wake-up of the io thread), but at
/// most one per this interval: the messages of a burst queue behind it and coalesce into one
/// gathered write on the strand, as a request/response exchange (spaced by a round trip) does
/// not.
constexpr std::chrono::microseconds kDirectWriteGap{10};

std::string endpoint_text(const asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (ec) return "unknown address (" + ec.message() + ")";
  const auto addr = ep.address();
  return (addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string()) + ":" +
         std::to_string(ep.port());
}

std::string millis(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

}  // namespace

Link::Link(AsioTransport& transport, Strand strand, asio::ip::tcp::socket socket, Role role,
           std::shared_ptr<Dialer> dialer)
    : transport_(transport),
      strand_(std::move(strand)),
      socket_(std::move(socket)),
      role_(role),
      dialer_(std::move(dialer)),
      address_(endpoint_text(socket_)),
      fd_(socket_.native_handle()),
      decoder_(protocol::FrameLimits{transport.config().max_frame_size}),
      handshake_timer_(strand_),
      heartbeat_timer_(strand_),
      held_in_timer_(strand_),
      held_out_timer_(strand_),
      faults_(transport.config().faults) {}

// -- any thread ---------------------------------------------------------------------------------

void Link::start() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->state_ != State::handshaking) return;
    const auto& config = self->transport_.config();
    self->last_read_ = self->last_write_ = Clock::now();
    protocol::HandshakeOptions hs{.cluster = config.cluster,
                                  .self = config.self,
                                  .cookie = config.cookie,
                                  .hidden = config.hidden};
    self->handshake_.emplace(self->role_ == Role::initiator
                                 ? protocol::Handshake::initiator(std::move(hs))
                                 : protocol::Handshake::acceptor(std::move(hs)));
    self->handshake_timer_.expires_after(config.handshake_timeout);
    self->handshake_timer_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec) self->on_handshake_deadline();
    });
    if (self->role_ == Role::initiator) {
      auto step = self->handshake_->start();
      for (const auto& m : step.send) self->send_control(m);
      if (step.outcome.state == protocol::HandshakeState::rejected) {
        self->refused(step.outcome);
        return;
      }
    }
    self->read_more();
  });
}

void Link::close(std::string reason) {
  asio::post(strand_, [self = shared_from_this(), reason = std::move(reason)] {
    self->do_close(reason, "info");
  });
}

void Link::activate() {
  asio::post(strand_, [self = shared_from_this()] {
    // When stopping, the close that stop() posted follows; a link never reported up stays
    // silent.
    if (self->state_ != State::parked || self->transport_.stopping()) return;
    self->report_up();
    self->process_frames();  // what arrived while parked
    if (self->state_ == State::up) self->read_more();
  });
}

std::optional<SendError> Link::enqueue(protocol::Bytes body, bool control, bool queued) {
  const size_t max_queue = transport_.config().max_queue_bytes;
  QueuedFrame frame{protocol::frame_header(static_cast<uint32_t>(body.size())), std::move(body)};
  const size_t frame_size = frame.header.size() + frame.body.size();
  // Memory, not wire bytes: what a peer that does not read makes us hold.
  const size_t cost = sizeof(QueuedFrame) + frame.body.capacity();
  if (faults_ && established_.load(std::memory_order_acquire)) {
    std::optional<SendError> error;
    switch (hold_outgoing(frame, cost, control, error)) {
      case Hold::pass:
        break;
      case Hold::held:
        return error;
      case Hold::cut:
        close(cut_reason(peer_));
        return error;
    }
  }
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(queue_mx_);
    if (!accepting_) return SendError::nodedown;
    if (!write_scheduled_ && !queued) {
      // Idle: nothing queued, in flight or about to be written by the strand. Unless a burst is
      // going on, write here; the lock keeps any other write and the close out meanwhile.
      const auto now = Clock::now().time_since_epoch().count();
      const auto gap = std::chrono::duration_cast<Clock::duration>(kDirectWriteGap).count();
      if (now - last_direct_write_.load(std::memory_order_relaxed) >= gap) {
        last_direct_write_.store(now, std::memory_order_relaxed);
        TransportCounters::bump(transport_.counters().writes);
        frame.written = write_now(frame);
        if (frame.written == frame_size) return std::nullopt;
        // The rest goes first in the queue (which is empty, so it is accepted below).
      }
    }
    // One frame is always accepted into an empty queue, so a message above max_queue_bytes
    // (but within max_frame_size) can still be sent to a peer that keeps up.
    if (!control && queued_bytes_ > 0 && queued_bytes_ + cost > max_queue) {
      return SendError::overload;
    }
    queue_.push_back(std::move(frame));
    queued_bytes_ += cost;
    wake = !write_scheduled_;
    write_scheduled_ = true;
  }
  if (wake) asio::post(strand_, [self = shared_from_this()] { self->write_queued(); });
  return std::nullopt;
}

size_t Link::write_now(const QueuedFrame& frame) {
  iovec iov[2] = {
      {const_cast<uint8_t*>(frame.header.data()), frame.header.size()},
      {const_cast<uint8_t*>(frame.body.data()), frame.body.size()},
  };
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = frame.body.empty() ? 1 : 2;
  ssize_t n = 0;
  do {
    n = ::sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  // EAGAIN: the strand waits for room. Another error: the strand's write reports it.
  if (n <= 0) return 0;
  bytes_out_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
  return static_cast<size_t>(n);
}

size_t Link::queued_bytes() const {
  std::lock_guard<std::mutex> lock(queue_mx_);
  return queued_bytes_;
}

LinkStats Link::stats() const {
  LinkStats s;
  s.peer = peer_;
  s.hidden = hidden_;
  s.bytes_in = bytes_in_.load(std::memory_order_relaxed);
  s.bytes_out = bytes_out_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(queue_mx_);
  s.queued_bytes = queued_bytes_;
  s.queued_messages = queue_.size();
  return s;
}

// -- reading ------------------------------------------------------------------------------------

void Link::read_more() {
  socket_.async_read_some(asio::buffer(read_buffer_),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      size_t n) { self->on_read(ec, n); });
}

void Link::on_read(const boost::system::error_code& ec, size_t n) {
  if (state_ == State::closed) return;
  if (ec) {
    const bool handshaking = state_ == State::handshaking;
    std::string reason =
        ec == asio::error::eof ? "connection closed by the peer" : "read failed: " + ec.message();
    if (handshaking) reason += " during the handshake";
    // A hidden peer (otp-ctl) closing its link is how its session ends: no news either.
    const bool session_over = hidden_ && state_ == State::up && ec == asio::error::eof;
    do_close(reason, session_over                         ? "debug"
                     : handshaking || state_ == State::up ? "warning"
                                                          : "info");
    return;
  }
  last_read_ = Clock::now();
  bytes_in_.store(bytes_in_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  decoder_.feed(std::span<const uint8_t>(read_buffer_.data(), n));
  process_frames();
  if (state_ == State::handshaking && decoder_.buffered() > kHandshakeMaxBuffered) {
    transport_.counters().rejected[static_cast<size_t>(protocol::RejectReason::malformed)]++;
    do_close("more than " + std::to_string(kHandshakeMaxBuffered) +
                 " bytes without a complete handshake message",
             "warning");
    return;
  }
  if (state_ == State::handshaking || state_ == State::up) read_more();
}

void Link::process_frames() {
  while (state_ == State::handshaking || state_ == State::up) {
    auto frame = decoder_.next();
    if (!frame) {
      TransportCounters::bump(transport_.counters().frames_too_large);
      if (state_ == State::handshaking) {
        transport_.counters().rejected[static_cast<size_t>(protocol::RejectReason::malformed)]++;
      }
      do_close(frame.error().to_string(), "warning");
      return;
    }
    if (!frame.value()) return;
    on_frame(*frame.value());
  }
}

void Link::on_frame(const std::vector<uint8_t>& frame) {
  if (faults_ && state_ != State::handshaking && (faults_->any() || !held_in_.empty())) {
    const FaultVerdict verdict = faults_->stream(peer_.full_name());
    if (verdict.drop) {
      do_close(cut_reason(peer_), "info");
      return;
    }
    if (verdict.delay.count() > 0 || !held_in_.empty()) {
      auto at = Clock::now() + verdict.delay;
      if (!held_in_.empty()) at = std::max(at, held_in_.back().at);
      held_in_.push_back({at, frame});
      if (held_in_.size() == 1) {
        held_in_timer_.expires_at(at);
        held_in_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
          if (!ec) self->release_incoming();
        });
      }
      return;
    }
  }
  deliver_frame(frame);
}

void Link::deliver_frame(const std::vector<uint8_t>& frame) {
  auto message = protocol::decode(frame, protocol::Codec::msgpack);
  if (state_ == State::handshaking) {
    on_handshake_frame(std::move(message));
  } else if (!message) {
    TransportCounters::bump(transport_.counters().frames_dropped);
    transport_.log("warning", "dropped a frame from " + who() +
                                  " that does not decode: " + message.error().to_string());
  } else {
    on_link_message(std::move(message).value());
  }
}

void Link::on_handshake_frame(Result<protocol::Message> message) {
  auto step = message ? handshake_->on_message(message.value())
                      : handshake_->on_decode_error(message.error());
  // The fault seam: a cut peer gets nothing more from the moment its Hello names it, not our
  // Hello (acceptor) nor our Proof (initiator), so its handshake never completes either: a link
  // up for an instant would be a nodeup and a nodedown no cut network shows.
  if (faults_ && step.outcome.state != protocol::HandshakeState::rejected) {
    const auto& claimed = handshake_->claimed_peer();
    if (!claimed.name.empty() && faults_->cut(claimed.full_name())) {
      do_close(cut_reason(claimed), "info");  // as a cut network: no Reject reaches the peer
      return;
    }
  }
  for (const auto& m : step.send) send_control(m);
  switch (step.outcome.state) {
    case protocol::HandshakeState::in_progress:
      return;
    case protocol::HandshakeState::rejected:
      refused(step.outcome);
      return;
    case protocol::HandshakeState::established:
      on_established();
      return;
  }
}

void Link::on_established() {
  // Closing here goes through close_after_flush: the acceptor's Proof is still queued, and the
  // initiator must see the handshake succeed (to learn whom it reached) before the close.
  peer_ = handshake_->outcome().peer;
  hidden_ = handshake_->outcome().peer_hidden || transport_.config().hidden;
  const auto& self = transport_.config().self;
  if (dialer_) transport_.dialer_reached(dialer_, peer_.full_name());
  if (peer_.full_name() == self.full_name()) {
    close_after_flush(peer_ == self ? "this node reached itself"
                                    : "the peer claims this node's name");
    return;
  }
  if (dialer_ && dialer_->cancelled()) {
    close_after_flush("its address was disconnected", "info");
    return;
  }
  established_.store(true, std::memory_order_release);
  state_ = State::parked;  // until admitted
  auto admission = transport_.admit(shared_from_this());
  switch (admission.verdict) {
    case AsioTransport::Verdict::up:
      handshake_timer_.cancel();
      report_up();
      return;
    case AsioTransport::Verdict::parked:
      handshake_timer_.cancel();
      return;  // activate() follows the old link's down
    case AsioTransport::Verdict::duplicate:
      TransportCounters::bump(transport_.counters().duplicate_links);
      close_after_flush(std::move(admission.why), "info");
      return;
    case AsioTransport::Verdict::refused:
      do_close("stop", "debug");
      return;
  }
}

void Link::refused(const protocol::HandshakeOutcome& outcome) {
  const auto reason = static_cast<size_t>(outcome.reason);
  if (reason < transport_.counters().rejected.size()) transport_.counters().rejected[reason]++;
  std::string text = "handshake " + outcome.to_string();
  std::string_view level = "warning";
  if (dialer_) {
    // Its Dialer logs the streak (do_close below records it).
    handshake_failure_.key = std::string(outcome.by_peer ? "rejected by peer: " : "rejected: ") +
                             protocol::to_string(outcome.reason);
  } else {
    // A peer dialing with a wrong cookie comes back every few seconds from a new port: one line
    // per reason and host, then one a minute with the count.
    const auto host = address_.substr(0, address_.rfind(':'));
    const auto verdict =
        transport_.refusals().refused(host, protocol::to_string(outcome.reason), Clock::now());
    if (!verdict.log) level = "debug";
    text += verdict.repeated ? repeat_suffix(verdict)
                             : " (repeats from " + host + " are logged once a minute)";
  }
  if (outcome.by_peer) {
    do_close(text, level);
  } else {
    close_after_flush(std::move(text), level);  // our Reject tells the peer why
  }
}

void Link::report_up() {
  state_ = State::up;
  up_reported_ = true;
  last_read_ = last_write_ = Clock::now();
  transport_.counters().links_up.fetch_add(1, std::memory_order_relaxed);
  // A hidden peer (otp-ctl, every few seconds from a healthcheck) is no news: debug only.
  transport_.log(hidden_ ? "debug" : "info",
                 who() + (hidden_ ? " up, hidden (" : " up (") +
                     (role_ == Role::initiator ? "we dialed" : "the peer dialed") + ")");
  transport_.listener().on_node_up(peer_, hidden_);
  arm_heartbeat();
}

void Link::on_link_message(protocol::Message&& message) {
  if (const auto* ping = std::get_if<protocol::Ping>(&message)) {
    send_control(protocol::Pong{ping->seq});
  } else if (std::holds_alternative<protocol::Pong>(message)) {
    // Arriving at all is the point: last_read_ moved.
  } else if (const auto* reject = std::get_if<protocol::Reject>(&message)) {
    // The peer refused our proof after it had accepted us (the initiator checks last).
    do_close(std::string("rejected by the peer after the handshake: ") +
                 protocol::to_string(reject->reason) + ": " + reject->detail,
             "warning");
  } else if (std::holds_alternative<protocol::Hello>(message) ||
             std::holds_alternative<protocol::Proof>(message)) {
    TransportCounters::bump(transport_.counters().frames_dropped);
    transport_.log("warning", std::string("dropped an unexpected ") +
                                  protocol::to_string(protocol::type_of(message)) + " from " +
                                  who() + " after the handshake");
  } else {
    TransportCounters::bump(transport_.counters().messages_received);
    transport_.listener().on_message(peer_, std::move(message));
  }
}

// -- faults -------------------------------------------------------------------------------------

Link::Hold Link::hold_outgoing(QueuedFrame& frame, size_t cost, bool control,
                               std::optional<SendError>& error) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(queue_mx_);
    if (!accepting_) {
      error = SendError::nodedown;
      return Hold::held;
    }
    if (!faults_->any() && held_out_.empty()) return Hold::pass;
    const FaultVerdict verdict = faults_->stream(peer_.full_name());
    if (verdict.drop) {
      error = SendError::nodedown;
      return Hold::cut;
    }
    if (verdict.delay.count() <= 0 && held_out_.empty()) return Hold::pass;
    if (!control && queued_bytes_ > 0 &&
        queued_bytes_ + cost > transport_.config().max_queue_bytes) {
      error = SendError::overload;
      return Hold::held;
    }
    auto at = Clock::now() + verdict.delay;
    if (!held_out_.empty()) at = std::max(at, held_out_.back().at);
    held_out_.push_back({at, std::move(frame), cost});
    queued_bytes_ += cost;
    wake = held_out_.size() == 1;
  }
  if (wake) {
    asio::post(strand_, [self = shared_from_this()] {
      std::lock_guard<std::mutex> lock(self->queue_mx_);
      if (self->held_out_.empty()) return;
      self->held_out_timer_.expires_at(self->held_out_.front().at);
      self->held_out_timer_.async_wait([self](const boost::system::error_code& ec) {
        if (!ec) self->release_outgoing();
      });
    });
  }
  return Hold::held;
}

void Link::release_outgoing() {
  if (state_ == State::closed) return;
  const auto now = Clock::now();
  bool released = false;
  {
    std::lock_guard<std::mutex> lock(queue_mx_);
    while (!held_out_.empty() && held_out_.front().at <= now) {
      queue_.push_back(std::move(held_out_.front().frame));
      held_out_.pop_front();
      released = true;
    }
    if (!held_out_.empty()) {
      held_out_timer_.expires_at(held_out_.front().at);
      held_out_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->release_outgoing();
      });
    }
    if (released) write_scheduled_ = true;
  }
  if (released) write_queued();
}

void Link::release_incoming() {
  const auto now = Clock::now();
  while (state_ == State::up && !held_in_.empty() && held_in_.front().at <= now) {
    auto frame = std::move(held_in_.front().frame);
    held_in_.pop_front();
    deliver_frame(frame);
  }
  if (state_ != State::up) {
    held_in_.clear();
    return;
  }
  if (!held_in_.empty()) {
    held_in_timer_.expires_at(held_in_.front().at);
    held_in_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->release_incoming();
    });
  }
}

std::string Link::cut_reason(const protocol::NodeId& peer) {
  return "fault injection: " + peer.full_name() + " is cut off";
}

// -- writing ------------------------------------------------------------------------------------

void Link::send_control(const protocol::Message& message) {
  (void)enqueue(protocol::encode(message, protocol::Codec::msgpack), /*control=*/true);
}

void Link::write_queued() {
  if (state_ == State::closed || writing_) return;
  {
    std::lock_guard<std::mutex> lock(queue_mx_);
    if (queue_.empty()) {
      write_scheduled_ = false;
    } else {
      std::swap(queue_, in_flight_);
    }
  }
  if (in_flight_.empty()) {
    if (state_ == State::flushing) do_close(flush_reason_, flush_level_);
    return;
  }

  in_flight_bytes_ = 0;
  size_t small_bytes = 0;
  for (const auto& f : in_flight_) {
    in_flight_bytes_ += sizeof(QueuedFrame) + f.body.capacity();
    if (f.written == 0 && f.body.size() < kCoalesceBelow) {
      small_bytes += f.header.size() + f.body.size();
    }
  }
  coalesced_.clear();
  coalesced_.reserve(small_bytes);  // no reallocation below: the buffers point into it
  buffers_.clear();
  bool extend_last = false;
  for (auto& f : in_flight_) {
    if (f.written > 0) {  // the rest of a frame that a direct write began
      const size_t h = f.header.size();
      if (f.written < h) buffers_.emplace_back(f.header.data() + f.written, h - f.written);
      const size_t body_done = f.written > h ? f.written - h : 0;
      buffers_.emplace_back(f.body.data() + body_done, f.body.size() - body_done);
      extend_last = false;
    } else if (f.body.size() < kCoalesceBelow) {
      const uint8_t* at = coalesced_.data() + coalesced_.size();
      coalesced_.insert(coalesced_.end(), f.header.begin(), f.header.end());
      coalesced_.insert(coalesced_.end(), f.body.begin(), f.body.end());
      const size_t n = f.header.size() + f.body.size();
      if (extend_last) {
        buffers_.back() = asio::const_buffer(buffers_.back().data(), buffers_.back().size() + n);
      } else {
        buffers_.emplace_back(at, n);
      }
      extend_last = true;
      protocol::Bytes().swap(f.body);  // copied: release it now rather than after the write
    } else {
      buffers_.emplace_back(f.header.data(), f.header.size());
      buffers_.emplace_back(f.body.data(), f.body.size());
      extend_last = false;
    }
  }
  writing_ = true;
  TransportCounters::bump(transport_.counters().writes);
  asio::async_write(socket_, buffers_,
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                      self->bytes_out_.fetch_add(n, std::memory_order_relaxed);
                      self->on_written(ec);
                    });
}

void Link::on_written(const boost::system::error_code& ec) {
  writing_ = false;
  if (state_ == State::closed) return;
  if (ec) {
    do_close("write failed: " + ec.message(), state_ == State::up ? "warning" : "info");
    return;
  }
  last_write_ = Clock::now();
  {
    std::lock_guard<std::mutex> lock(queue_mx_);
    queued_bytes_ -= std::min(queued_bytes_, in_flight_bytes_);
  }
  in_flight_.clear();
  in_flight_bytes_ = 0;
  if (in_flight_.capacity() > kKeepFrames) std::vector<QueuedFrame>().swap(in_flight_);
  if (coalesced_.capacity() > kKeepCoalescedBytes) std::vector<uint8_t>().swap(coalesced_);
  write_queued();
}

// -- timers -------------------------------------------------------------------------------------

void Link::on_handshake_deadline() {
  const auto timeout = transport_.config().handshake_timeout;
  if (state_ == State::handshaking) {
    TransportCounters::bump(transport_.counters().handshake_timeouts);
    do_close("handshake not finished within " + millis(timeout), "warning");
  } else if (state_ == State::flushing) {
    do_close(flush_reason_ + " (and the reject could not be sent within " + millis(timeout) + ")",
             "warning");
  }
}

Clock::time_point Link::last_written() const {
  const Clock::time_point direct{
      Clock::duration(last_direct_write_.load(std::memory_order_relaxed))};
  return std::max(last_write_, direct);
}

void Link::arm_heartbeat() {
  const auto& config = transport_.config();
  const auto now = Clock::now();
  const auto dead_at = last_read_ + config.dead_link_timeout;
  // While a write is stuck nothing is idle: look again in one interval.
  const auto ping_at = writing_ ? now + config.heartbeat_interval
                                : std::max(last_written() + config.heartbeat_interval,
                                           now + std::chrono::milliseconds(1));
  heartbeat_timer_.expires_at(std::min(dead_at, ping_at));
  heartbeat_timer_.async_wait(
      [self = shared_from_this()](const boost::system::error_code& ec) { self->on_heartbeat(ec); });
}

void Link::on_heartbeat(const boost::system::error_code& ec) {
  if (ec || state_ != State::up) return;
  const auto& config = transport_.config();
  const auto now = Clock::now();
  if (now - last_read_ >= config.dead_link_timeout) {
    TransportCounters::bump(transport_.counters().heartbeat_timeouts);
    do_close("heartbeat timeout: nothing received for " + millis(config.dead_link_timeout) +
                 " (the peer is frozen or unreachable)",
             "warning");
    return;
  }
  if (!writing_ && now - last_written() >= config.heartbeat_interval) {
    send_control(protocol::Ping{++ping_seq_});
    last_write_ = now;  // the write completion moves it again; do not ping twice meanwhile
  }
  arm_heartbeat();
}

// -- closing ------------------------------------------------------------------------------------

void Link::close_after_flush(std::string reason, std::string_view level) {
  if (state_ == State::closed) return;
  state_ = State::flushing;
  flush_reason_ = std::move(reason);
  flush_level_ = level;
  // The handshake timer (still armed) bounds the flush; a write in flight or queued ends in
  // write_queued(), which closes once the queue is empty.
  if (!writing_) write_queued();
}

void Link::do_close(const std::string& reason, std::string_view level) {
  if (state_ == State::closed) return;
  const std::string subject = who();
  if (peer_.name.empty() && dialer_) {
    // A dialed link that failed its handshake: its Dialer logs the streak, once per reason.
    if (handshake_failure_.key.empty()) handshake_failure_.key = reason;
    handshake_failure_.text = reason;
    level = "debug";
  }
  state_ = State::closed;
  {
    std::lock_guard<std::mutex> lock(queue_mx_);
    accepting_ = false;
    std::vector<QueuedFrame>().swap(queue_);
    held_out_.clear();
    queued_bytes_ = 0;
  }
  boost::system::error_code ignored;
  handshake_timer_.cancel();
  heartbeat_timer_.cancel();
  held_in_timer_.cancel();
  held_out_timer_.cancel();
  held_in_.clear();
  socket_.close(ignored);  // an async_write in flight ends with operation_aborted
  transport_.link_closed(shared_from_this(), up_reported_, reason);
  // After link_closed: whoever reads the log line then sees the connection gone from stats().
  transport_.log(level, subject + " closed: " + reason);
}

std::string Link::who() const {
  if (!peer_.name.empty()) return "link to " + peer_.to_string() + " (" + address_ + ")";
  return (role_ == Role::acceptor ? "connection from " : "connection to ") + address_;
}

}  // namespace otp::cluster::detail
