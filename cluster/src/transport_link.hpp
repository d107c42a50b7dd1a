// Link: one TCP connection of the transport, from the handshake to the close (private to
// otp_cluster). Everything but enqueue() runs on the link's strand:
//
//   reading   one read at a time into a 64 KiB buffer, fed to a protocol::FrameDecoder; each
//             frame is decoded on the strand and goes to the Handshake until it is done, then
//             to the listener (Ping is answered here, Pong only proves the peer alive).
//   writing   enqueue() (any thread) writes the frame at once on the calling thread, with a
//             non-blocking send, when the link is idle: nothing queued, no write in flight or
//             scheduled, and no direct write in the last kDirectWriteGap (so a burst coalesces).
//             That write happens under queue_mx_, which do_close() takes before it closes the
//             socket, so it never races with a close; and since the queue is empty and no
//             strand write is pending, frames never interleave. What the kernel does not take
//             (EAGAIN, a partial write, an error) is queued as the head of the queue and the
//             strand finishes it. Otherwise enqueue() appends to a bounded queue and wakes the
//             strand only when the queue goes from empty to non-empty; the strand takes the
//             whole queue and writes it with one gather write, small frames copied into one
//             contiguous buffer. A queued send (Transport::send_queued) always takes this way.
//   timers    the handshake deadline; then one timer that sends a Ping after heartbeat_interval
//             without writing and closes the link after dead_link_timeout without reading.
//   faults    with a FaultInjector (TransportOptions::faults) that names the peer: during the
//             handshake, a cut closes the link as soon as the peer's Hello names it, before our
//             own Hello or Proof goes out, so neither side sees the handshake complete. Once it
//             is done, a cut closes the link at its next frame either way; a delayed frame waits
//             in held_in_ / held_out_ with every frame behind it until its time, so frames never
//             overtake each other.
//
// A link reports up and down through AsioTransport (admit / link_closed), which keeps the order
// of events per node name; see transport_asio.hpp.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "otp/cluster/transport.hpp"
#include "otp/protocol/codec.hpp"
#include "otp/protocol/framing.hpp"
#include "otp/protocol/handshake.hpp"
#include "refusal_log.hpp"

namespace otp::cluster::detail {

class AsioTransport;
class Dialer;

class Link : public std::enable_shared_from_this<Link> {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  using Role = protocol::Handshake::Role;

  /// socket must be open and bound to strand. dialer: the Dialer that made the connection, if any.
  Link(AsioTransport& transport, Strand strand, boost::asio::ip::tcp::socket socket, Role role,
       std::shared_ptr<Dialer> dialer);

  // -- any thread --
  /// Starts the handshake and the reading.
  void start();
  /// Closes the link (if still open) with reason.
  void close(std::string reason);
  /// The transport says the previous link of this node reported its down: report this one up.
  void activate();
  /// Queues one encoded message. control: a handshake or heartbeat message, exempt from
  /// max_queue_bytes (it is tiny, and the handshake must not fail for a full queue). queued:
  /// never the direct write, even when the link is idle (the strand writes it).
  std::optional<SendError> enqueue(protocol::Bytes body, bool control = false, bool queued = false);

  /// The peer's NodeId. Set on the strand before the transport admits the link, constant after.
  const protocol::NodeId& peer() const { return peer_; }
  /// Whether the link is hidden (either end is a hidden node); set and constant as peer().
  bool hidden() const { return hidden_; }
  Role role() const { return role_; }
  const std::shared_ptr<Dialer>& dialer() const { return dialer_; }
  /// Why this link closed before its handshake succeeded (empty key otherwise). Set on the strand
  /// before the transport hears of the close; for a dialed link, the Dialer logs it.
  const HandshakeFailure& handshake_failure() const { return handshake_failure_; }
  /// Bytes queued and not yet written.
  size_t queued_bytes() const;
  /// This link's traffic and queue now (any thread).
  LinkStats stats() const;

 private:
  enum class State { handshaking, parked, up, flushing, closed };

  // -- reading --
  void read_more();
  void on_read(const boost::system::error_code& ec, size_t n);
  void process_frames();
  void on_frame(const std::vector<uint8_t>& frame);
  void on_handshake_frame(Result<protocol::Message> message);
  void on_established();
  void report_up();
  void on_link_message(protocol::Message&& message);

  /// A frame that passed the fault seam (or had none to pass).
  void deliver_frame(const std::vector<uint8_t>& frame);

  // -- faults (see above) --
  enum class Hold { pass, held, cut };
  /// Outgoing, any thread: whether the frame goes on as usual, waits in held_out_, or the peer is
  /// cut. Takes queue_mx_.
  /// Strand: moves the held outgoing frames that are due into the queue and writes them.
  void release_outgoing();
  /// Strand: delivers the held incoming frames that are due.
  void release_incoming();
  /// "fault injection: b@h is cut off".
  static std::string cut_reason(const protocol::NodeId& peer);

  // -- writing --
  void write_queued();
  void on_written(const boost::system::error_code& ec);
  void send_control(const protocol::Message& message);

  // -- timers --
  void on_handshake_deadline();
  /// The later of the strand's last write and the last direct write.
  std::chrono::steady_clock::time_point last_written() const;
  void arm_heartbeat();
  void on_heartbeat(const boost::system::error_code& ec);

  // -- closing --
  /// Sends what is queued (a Reject), then closes; the handshake timer bounds the wait.
  void close_after_flush(std::string reason, std::string_view level = "warning");
  void do_close(const std::string& reason, std::string_view level);
  /// "b@h#2 (127.0.0.1:7002)", or the address alone before the handshake.
  std::string who() const;
  /// A refused handshake: closes the link (after sending our Reject, if we refused) and logs it
  /// once per streak: a dialed link's by its Dialer, an accepted one's per remote host.
  void refused(const protocol::HandshakeOutcome& outcome);

  struct QueuedFrame {
    std::array<uint8_t, protocol::kFrameHeaderSize> header;
    protocol::Bytes body;
    size_t written = 0;  // bytes of header + body a direct write already sent
  };
  /// The direct write of enqueue() (under queue_mx_): bytes the kernel took (0 on EAGAIN or an
  /// error: the strand's write then reports the error).
  size_t write_now(const QueuedFrame& frame);
  /// Outgoing, any thread: whether the frame goes on as usual, waits in held_out_ (error empty),
  /// or not at all (error says why: the peer is cut, or the queue is full). Takes queue_mx_.
  Hold hold_outgoing(QueuedFrame& frame, size_t cost, bool control,
                     std::optional<SendError>& error);

  AsioTransport& transport_;
  Strand strand_;
  boost::asio::ip::tcp::socket socket_;
  const Role role_;
  const std::shared_ptr<Dialer> dialer_;
  const std::string address_;  // the remote endpoint, for logs
  const int fd_;               // the socket's descriptor: usable under queue_mx_ while accepting_

  // -- strand only --
  State state_ = State::handshaking;
  std::optional<protocol::Handshake> handshake_;
  protocol::NodeId peer_;
  bool hidden_ = false;
  bool up_reported_ = false;
  std::string flush_reason_;
  std::string_view flush_level_ = "warning";  // always a literal
  HandshakeFailure handshake_failure_;
  protocol::FrameDecoder decoder_;
  boost::asio::steady_timer handshake_timer_;
  boost::asio::steady_timer heartbeat_timer_;
  std::chrono::steady_clock::time_point last_read_;
  std::chrono::steady_clock::time_point last_write_;
  uint64_t ping_seq_ = 0;
  bool writing_ = false;  // a write is in flight
  std::vector<QueuedFrame> in_flight_;
  size_t in_flight_bytes_ = 0;
  std::vector<uint8_t> coalesced_;
  std::vector<boost::asio::const_buffer> buffers_;
  std::array<uint8_t, 64 * 1024> read_buffer_;
  struct HeldIn {
    std::chrono::steady_clock::time_point at;
    std::vector<uint8_t> frame;
  };
  std::deque<HeldIn> held_in_;  // delayed incoming frames, in order (their times never decrease)
  boost::asio::steady_timer held_in_timer_;
  boost::asio::steady_timer held_out_timer_;
  const std::shared_ptr<FaultInjector> faults_;  // null: no seam

  // -- any thread, under queue_mx_ --
  mutable std::mutex queue_mx_;
  std::vector<QueuedFrame> queue_;
  size_t queued_bytes_ = 0;       // queue_ and in_flight_
  bool write_scheduled_ = false;  // the strand was woken and has not yet found the queue empty
  bool accepting_ = true;         // false once closed: enqueue() fails with nodedown
  struct HeldOut {
    std::chrono::steady_clock::time_point at;
    QueuedFrame frame;
    size_t cost = 0;
  };
  std::deque<HeldOut> held_out_;  // delayed outgoing frames, in order (counted in queued_bytes_)
  // -- any thread --
  /// When the last direct write happened (steady_clock ticks); written under queue_mx_, read
  /// by the strand's heartbeat (a direct write is a write: no Ping needed).
  std::atomic<std::chrono::steady_clock::rep> last_direct_write_{0};
  /// Socket bytes: in written by the strand only (load + store), out by the strand and the
  /// direct write.
  std::atomic<uint64_t> bytes_in_{0};
  std::atomic<uint64_t> bytes_out_{0};
  /// Set on the strand once peer_ is known and the handshake passed the seam: from then on, the
  /// fault seam applies to outgoing frames.
  std::atomic<bool> established_{false};
};

}  // namespace otp::cluster::detail
