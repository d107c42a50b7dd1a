// otp::cluster::Transport: authenticated TCP links between nodes, one per pair, on Boost.Asio
// threads of its own. It moves protocol::Messages; it knows nothing of processes or CAF.
//
// clang-format off
//   struct Sink : otp::cluster::TransportListener { ... };      // callbacks on an Asio thread
//   auto started = otp::cluster::Transport::start({.cluster = "demo", .cookie = "secret",
//                                                  .self = {"a", "127.0.0.1", creation},
//                                                  .listen_port = 7001}, sink);
//   if (!started) fail(started.error());  // "listen_failed: listen on 127.0.0.1:7001: ..."
//   auto t = std::move(started).value();
//   t->connect("127.0.0.1:7002");                  // async; redialed with backoff until stop()
//   t->send(peer, protocol::Cast{...});            // thread-safe; nodedown / overload as errors
//   t->stop();                                     // closes everything; no callback afterwards
// clang-format on
//
// Every link starts with the protocol handshake (HMAC challenge-response over the cookie) and
// must finish it within handshake_timeout. An established link is watched by heartbeats: a link
// that delivers no frame for dead_link_timeout is closed even if its socket is still open (a
// frozen peer). Under a Cluster with gossip membership the timeout is a long backstop instead
// (ClusterOptions::gossip_dead_link_timeout, 10 s) and membership's failed / left verdict closes
// the link: TCP retransmits lost segments itself, and at 10 % loss its backoff leaves a healthy
// link silent for 1.5 s now and then, which must not be read as a dead peer. Bad input closes only
// the link it came on, with the reason logged: a frame over max_frame_size, a failed handshake. A
// frame that does not decode after the handshake is dropped and counted (TransportStats), and the
// link stays up.
//
// One link per pair of nodes: when both dial each other at once, both ends keep the link that the
// smaller NodeId initiated and close the other (the listener may then see a brief down/up for
// the same incarnation if the other link came up first). A new incarnation of a peer (same name,
// other creation) replaces the old link: its on_node_down comes before the new on_node_up.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "otp/cluster/faults.hpp"
#include "otp/error.hpp"
#include "otp/protocol/message.hpp"
#include "otp/protocol/node_id.hpp"

namespace otp::cluster {

/// How a Transport starts: identity, secret, address, timings and limits. start() refuses
/// (badarg) a config that can not work; the ranges below are what it checks.
struct TransportOptions {
  std::string cluster = "otp";  // both ends must name the same cluster
  std::string cookie;           // the shared secret; never sent
  protocol::NodeId self;        // this node run (name, advertised host, creation)
  /// A hidden node (otp-ctl): its Hello says so, and every link it makes is hidden (see
  /// TransportListener::on_node_up). The nodes it talks to link to it for messages only.
  bool hidden = false;

  /// The address to bind: an IP literal or a host name; "0.0.0.0" for every interface.
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;  // 0: any free port (see Transport::port())

  /// Asio threads running the links (at least 1). More than 1 makes the listener's callbacks
  /// concurrent.
  size_t io_threads = 1;
  /// A link that has not finished its handshake this long after its connection opened is closed
  /// (positive).
  std::chrono::milliseconds handshake_timeout{3000};
  /// An established link with nothing sent for this long sends a Ping.
  std::chrono::milliseconds heartbeat_interval{300};
  /// An established link with nothing received for this long is dead (frozen peer). Keep it
  /// above TCP's retransmission backoff under the loss the link must survive; a Cluster with
  /// gossip sets it to ClusterOptions::gossip_dead_link_timeout (membership decides instead).
  std::chrono::milliseconds dead_link_timeout{1500};
  /// Redial backoff after a failed or lost outgoing link: initial, doubling up to max, with
  /// +-jitter (a fraction) so a restarted cluster does not redial in lockstep.
  std::chrono::milliseconds reconnect_initial{100};
  /// The largest redial delay before jitter (at least reconnect_initial).
  std::chrono::milliseconds reconnect_max{5000};
  /// In [0, 1): each delay is scaled by a random factor in [1 - jitter, 1 + jitter).
  double reconnect_jitter = 0.2;

  /// Largest frame sent or accepted, in bytes (at least 1024): send() refuses a bigger message
  /// with too_large; a peer's bigger frame closes its link.
  uint32_t max_frame_size = 8 * 1024 * 1024;
  /// Bytes queued per link and not yet written; send() beyond it fails with overload. Counted
  /// as memory held: the encoded bytes plus a few dozen bytes of bookkeeping per message. A
  /// message into an empty queue is always accepted, so the bound is this plus one message.
  size_t max_queue_bytes = 64 * 1024 * 1024;

  /// Where the transport says why it closed or refused something: ("warning", "link to b@h#2
  /// closed: heartbeat timeout"). Levels: "error", "warning", "info", "debug". Called on Asio
  /// threads (and in start() and stop()), possibly concurrently when io_threads > 1.
  /// Default: stderr, prefixed with self, without the "debug" lines.
  std::function<void(std::string_view level, std::string_view text)> log;

  /// The fault-injection seam (faults.hpp): cuts, losses and delays a test sets per peer. Null:
  /// none, at no cost.
  std::shared_ptr<FaultInjector> faults = nullptr;
};

/// The redial delay after `attempt` failed attempts in a row (0: the first retry):
/// reconnect_initial doubled per attempt up to reconnect_max, times (1 + reconnect_jitter * (2u -
/// 1)) for u in [0, 1), and never below 1 ms. Pure, so the backoff can be checked without a clock.
std::chrono::milliseconds reconnect_delay(const TransportOptions& config, unsigned attempt,
                                          double u);

/// One established link's traffic and send queue (TransportStats::links).
struct LinkStats {
  protocol::NodeId peer;
  bool hidden = false;         // a hidden link (see TransportListener::on_node_up)
  uint64_t bytes_in = 0;       // read from its socket since it opened, frame headers included
  uint64_t bytes_out = 0;      // written to its socket since it opened
  size_t queued_bytes = 0;     // as max_queue_bytes counts them
  size_t queued_messages = 0;  // frames waiting for the socket (not those being written)
};

/// Counters since start(), for tests, metrics and operators.
struct TransportStats {
  size_t links_up = 0;      // links whose on_node_up was called and on_node_down not yet
  size_t connections = 0;   // open sockets: handshaking, up, or being closed
  size_t queued_bytes = 0;  // as max_queue_bytes counts them, summed over all links
  size_t dialers = 0;       // addresses kept up by connect() and not yet given up
  uint64_t accepted = 0;    // incoming TCP connections
  uint64_t dialed = 0;      // outgoing TCP connections established (before the handshake)
  /// Outgoing connection attempts that failed (each is redialed later).
  uint64_t dial_failures = 0;
  /// Handshakes refused, by either side, per reason (indexed by protocol::RejectReason).
  std::array<uint64_t, 8> rejected{};
  /// Links closed for not finishing their handshake within handshake_timeout.
  uint64_t handshake_timeouts = 0;
  uint64_t heartbeat_timeouts = 0;  // links closed as dead (frozen peers)
  uint64_t frames_too_large = 0;    // links closed for a frame over max_frame_size
  uint64_t frames_dropped = 0;      // frames that did not decode after the handshake
  uint64_t duplicate_links = 0;     // links closed by the one-link-per-pair rule
  uint64_t overloads = 0;           // send() refused with overload
  uint64_t messages_sent = 0;       // messages queued by send()
  uint64_t writes = 0;              // socket writes started: queued frames coalesce into one
  uint64_t messages_received = 0;   // messages handed to on_message
  /// The links up now (one per peer), sorted by peer name.
  std::vector<LinkStats> links;
};

/// Receives the transport's events, on an Asio thread. Must not block and should not throw (an
/// exception is logged and abandons the event's link until its dead-link timeout closes it).
/// May call every Transport function; stop() from here can not join (see stop()), and the
/// Transport must not be destroyed from here.
class TransportListener {
 public:
  virtual ~TransportListener() = default;
  /// A link to peer finished its handshake. Exactly one up per link, before its messages.
  /// hidden: the peer or this node is a hidden node (TransportOptions::hidden, e.g. otp-ctl):
  /// the link carries messages, but the node is no member of the other's cluster (a node's
  /// distribution reports no nodeup / nodedown for it and shares no global names with it).
  virtual void on_node_up(const protocol::NodeId& peer, bool hidden) = 0;
  /// That link closed; reason is for logs ("heartbeat timeout", "connection reset", "stop").
  /// Exactly one down per up; no message of that link follows.
  virtual void on_node_down(const protocol::NodeId& peer, const std::string& reason) = 0;
  /// One decoded message from peer (never handshake or ping/pong), in the link's order.
  virtual void on_message(const protocol::NodeId& peer, protocol::Message&& message) = 0;
};

/// Authenticated links to other nodes (see above), made by start(). Its functions may be called
/// from any thread, listener callbacks included (but see stop() and the destructor).
class Transport {
 public:
  /// Binds the listening socket and starts the Asio thread(s). Fails with badarg for a config
  /// that can not work, unresolved / listen_failed (with the OS's reason) when the address can
  /// not be bound. The listener must outlive the transport.
  static Result<std::unique_ptr<Transport>> start(TransportOptions config,
                                                  TransportListener& listener);
  /// stop() (joining the Asio threads); never destroy a Transport from a listener callback.
  virtual ~Transport() = default;

  /// The port actually bound.
  virtual uint16_t port() const = 0;
  /// This node run (TransportOptions::self).
  virtual const protocol::NodeId& self() const = 0;

  /// Dials host:port now and keeps the link up: when it fails or drops, it is redialed with
  /// backoff until stop() or disconnect(). Returns at once; on_node_up says when it is up.
  /// A bad address ("nohost", "h:notaport") is a bad_address error, a stopped transport
  /// shutting_down; the error's context names the address. Connecting to an
  /// address already being kept up does nothing more; while the node there is linked (whoever
  /// dialed), it is not redialed. An address that turns out to be this node is dropped.
  virtual Result<void> connect(const std::string& host_port) = 0;
  /// Undoes connect(). Given a node's "name@host": closes the link to it (any creation of that
  /// name) and stops redialing the addresses that led to it (known once a handshake through them
  /// succeeded). Given a "host:port" exactly as passed to connect(): stops redialing that
  /// address, also when it never reached a node (nobody listening, a wrong cookie: the name is
  /// then unknown), and closes the link to the node it reached, if any. Anything else does
  /// nothing.
  virtual void disconnect(const std::string& name_or_address) = 0;
  /// Stops redialing host:port (as passed to connect()) unless its dialer reached a node other
  /// than full_name there: for a node known gone (a member declared failed or left) whose
  /// address never answered, which disconnect(full_name) can not find (the name is learned by a
  /// handshake). Closes no link.
  virtual void stop_dialing(const std::string& host_port, const std::string& full_name) = 0;
  /// Closes the link to peer (that incarnation only) with reason, as a lost connection would
  /// end: its on_node_down follows, and, unlike disconnect(), the link is redialed as after any
  /// loss. For a user of the link that can no longer trust it (a message it needed refused).
  virtual void close_link(const protocol::NodeId& peer, const std::string& reason) = 0;

  /// Queues message for peer (exact incarnation). Thread-safe, never blocks: encoding happens on
  /// the calling thread, writes on the Asio thread, many queued messages coalesce into one write.
  /// Messages to one peer arrive in the order of the send() calls that returned no error.
  virtual std::optional<SendError> send(const protocol::NodeId& peer,
                                        const protocol::Message& message) = 0;
  /// send(), but never written on the calling thread (send() writes at once to an idle link):
  /// the frame is queued for the Asio thread. A fan-out to every peer then costs the caller a
  /// queue append per peer instead of a write each. Same order guarantee as send().
  virtual std::optional<SendError> send_queued(const protocol::NodeId& peer,
                                               const protocol::Message& message) {
    return send(peer, message);
  }

  /// The incarnation currently linked under this "name@host", if any.
  virtual std::optional<protocol::NodeId> peer(const std::string& full_name) const = 0;
  /// The incarnations linked up now (whose on_node_up came and on_node_down did not yet).
  virtual std::vector<protocol::NodeId> peers() const = 0;

  /// Counters since start(). Implementations that count nothing return zeros.
  virtual TransportStats stats() const { return {}; }

  /// Closes every link and the listener and joins the Asio threads. Idempotent. on_node_down is
  /// called for every link that was up, before stop() returns; nothing is called afterwards.
  /// Called from a listener callback (an Asio thread, which can not join itself) it closes
  /// everything and returns at once; the downs follow, and the destructor joins.
  virtual void stop() = 0;
};

}  // namespace otp::cluster
