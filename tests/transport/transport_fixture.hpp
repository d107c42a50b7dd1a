// Helpers for the transport tests, all on 127.0.0.1:
//   Hub, Probe a TransportListener + log sink per transport that records up / down / messages
//              and log lines; a test waits for any condition over them (and over stats()) with a
//              deadline, woken by every event and line (condition variable, no polling);
//   RawPeer    a bare TCP client with deadlines on every operation, for what a misbehaving peer
//              does: garbage, silence, a handshake done by hand with protocol::Handshake, a frame
//              header announcing a huge frame, never reading;
//   config()   a TransportOptions with test-sized timeouts.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "otp/cluster/transport.hpp"
#include "otp/protocol/codec.hpp"
#include "otp/protocol/framing.hpp"
#include "otp/protocol/handshake.hpp"

namespace otp::cluster::test {

using namespace std::chrono_literals;
using protocol::NodeId;

inline constexpr auto kDeadline = 5s;

/// One lock and condition variable for everything a test waits on: the events and log lines of
/// all its transports, so one predicate can look at several of them (and at stats(), which only
/// changes together with a logged line or an event). Predicates run under the lock; the Probe
/// accessors they call see that and do not lock again.
class Hub {
 public:
  class Guard {
   public:
    explicit Guard(Hub& hub) : hub_(hub), mine_(hub.owner_ != std::this_thread::get_id()) {
      if (mine_) hub_.mx_.lock();
    }
    ~Guard() {
      if (mine_) hub_.mx_.unlock();
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    Hub& hub_;
    bool mine_;
  };

  /// Runs f under the lock and wakes every waiter.
  template <class F>
  void update(F&& f) {
    {
      Guard g(*this);
      f();
    }
    cv_.notify_all();
  }

  /// Waits until pred holds; false after the deadline.
  bool wait(const std::function<bool()>& pred, std::chrono::milliseconds deadline = kDeadline) {
    std::unique_lock<std::mutex> lock(mx_);
    return cv_.wait_for(lock, deadline, [&] {
      owner_ = std::this_thread::get_id();
      const bool holds = pred();
      owner_ = std::thread::id();
      return holds;
    });
  }

 private:
  std::mutex mx_;
  std::condition_variable cv_;
  std::atomic<std::thread::id> owner_{};
};

/// What one transport reported: its listener's events and its log lines.
class Probe : public TransportListener {
 public:
  struct Event {
    enum Kind { up, down, message } kind;
    NodeId peer;
    std::string reason;                     // down
    std::optional<protocol::Message> body;  // message
    bool hidden = false;                    // up: the link is hidden
  };

  explicit Probe(Hub& hub) : hub_(hub) {}

  /// Called (on the transport's thread, after recording) for each up and down, if set.
  std::function<void(Event::Kind, const NodeId&)> on_up_down;

  // -- TransportListener --
  void on_node_up(const NodeId& peer, bool hidden) override {
    hub_.update([&] { record({Event::up, peer, {}, {}, hidden}); });
    if (on_up_down) on_up_down(Event::up, peer);
  }
  void on_node_down(const NodeId& peer, const std::string& reason) override {
    hub_.update([&] { record({Event::down, peer, reason, {}}); });
    if (on_up_down) on_up_down(Event::down, peer);
  }
  void on_message(const NodeId& peer, protocol::Message&& m) override {
    hub_.update([&] { record({Event::message, peer, {}, std::move(m)}); });
  }

  /// For TransportOptions::log.
  std::function<void(std::string_view, std::string_view)> log_sink() {
    return [this](std::string_view level, std::string_view text) {
      hub_.update([&] { lines_.push_back(std::string(level) + ": " + std::string(text)); });
    };
  }

  // -- queries (usable inside Hub::wait predicates) --
  std::vector<Event> events() {
    Hub::Guard g(hub_);
    return events_;
  }
  size_t count(Event::Kind kind) { return count_of(kind, nullptr); }
  size_t count(Event::Kind kind, const NodeId& peer) { return count_of(kind, &peer); }
  /// Ups minus downs: the links the listener believes up.
  long balance() {
    return static_cast<long>(count(Event::up)) - static_cast<long>(count(Event::down));
  }
  bool logged(std::string_view needle) {
    Hub::Guard g(hub_);
    for (const auto& l : lines_) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }
  std::string log_text() {
    Hub::Guard g(hub_);
    std::string out;
    for (const auto& l : lines_) out += "  " + l + "\n";
    return out;
  }

  // -- waits --
  bool wait_for(Event::Kind kind, size_t n = 1, std::optional<NodeId> peer = std::nullopt,
                std::chrono::milliseconds deadline = kDeadline) {
    return hub_.wait([&] { return count_of(kind, peer ? &*peer : nullptr) >= n; }, deadline);
  }
  bool wait_logged(std::string_view needle, std::chrono::milliseconds deadline = kDeadline) {
    return hub_.wait([&] { return logged(needle); }, deadline);
  }

 private:
  // Counted as they come: predicates run on every event, and tests wait for thousands.
  void record(Event e) {
    ++counts_[e.kind];
    ++counts_by_peer_[{e.kind, e.peer}];
    events_.push_back(std::move(e));
  }
  size_t count_of(Event::Kind kind, const NodeId* peer) {
    Hub::Guard g(hub_);
    if (!peer) return counts_[kind];
    auto it = counts_by_peer_.find({kind, *peer});
    return it == counts_by_peer_.end() ? 0 : it->second;
  }

  Hub& hub_;
  std::vector<Event> events_;
  std::array<size_t, 3> counts_{};
  std::map<std::pair<Event::Kind, NodeId>, size_t> counts_by_peer_;
  std::vector<std::string> lines_;
};

/// A transport config for tests: short handshake and backoff times, the given log sink.
inline TransportOptions config(std::string name, uint32_t creation, Probe& probe,
                               std::string cookie = "secret", std::string cluster = "test") {
  TransportOptions c;
  c.cluster = std::move(cluster);
  c.cookie = std::move(cookie);
  c.self = NodeId{std::move(name), "127.0.0.1", creation};
  c.handshake_timeout = 2s;
  c.heartbeat_interval = 100ms;
  // Generous: under a sanitizer on a loaded machine, a receiver busy decoding a burst answers
  // pings late. The liveness tests set their own.
  c.dead_link_timeout = 10s;
  c.reconnect_initial = 20ms;
  c.reconnect_max = 200ms;
  c.log = probe.log_sink();
  return c;
}

/// Starts a transport reporting to probe, or fails the test.
inline std::unique_ptr<Transport> start(TransportOptions c, Probe& probe) {
  auto t = Transport::start(std::move(c), probe);
  EXPECT_TRUE(t) << t.error();
  return t ? std::move(t).value() : nullptr;
}

/// The counters that explain a stuck or lost message, for failure messages.
inline std::string describe(const Transport& t) {
  const auto s = t.stats();
  return t.self().to_string() + ": links_up=" + std::to_string(s.links_up) +
         " connections=" + std::to_string(s.connections) +
         " queued_bytes=" + std::to_string(s.queued_bytes) +
         " sent=" + std::to_string(s.messages_sent) +
         " received=" + std::to_string(s.messages_received) +
         " writes=" + std::to_string(s.writes) + " dropped=" + std::to_string(s.frames_dropped) +
         "\n";
}

inline std::string address(const Transport& t) {
  return "127.0.0.1:" + std::to_string(t.port());
}

/// A Cast carrying one integer, to check order and content.
inline protocol::Message numbered(const NodeId& from, int64_t n, size_t padding = 0) {
  protocol::Cast c;
  c.from = protocol::Pid{from, 1};
  c.to = std::string("sink");
  c.request = protocol::Payload{"test.n", {{"n", n}}};
  if (padding) c.request.value["pad"] = std::string(padding, 'x');
  return c;
}
inline int64_t number_of(const protocol::Message& m) {
  return std::get<protocol::Cast>(m).request.value.at("n").get<int64_t>();
}

/// A bare TCP client. Every operation has a deadline; none throws.
class RawPeer {
 public:
  explicit RawPeer(uint16_t port) : socket_(io_) {
    boost::system::error_code ec;
    socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    EXPECT_FALSE(ec) << ec.message();
  }

  bool write(std::span<const uint8_t> bytes) {
    boost::system::error_code ec;
    boost::asio::write(socket_, boost::asio::buffer(bytes.data(), bytes.size()), ec);
    return !ec;
  }
  bool write(std::string_view text) {
    return write(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  bool write_message(const protocol::Message& m) {
    auto framed = protocol::encode_frame(protocol::encode(m, protocol::Codec::msgpack));
    return framed && write(framed.value());
  }

  /// The next message, or nullopt on close, error, undecodable frame or deadline.
  std::optional<protocol::Message> read_message(std::chrono::milliseconds deadline = kDeadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (true) {
      auto frame = decoder_.next();
      if (!frame) return std::nullopt;
      if (frame.value()) {
        auto m = protocol::decode(*frame.value(), protocol::Codec::msgpack);
        if (!m) return std::nullopt;
        return std::move(m).value();
      }
      if (!read_some(until)) return std::nullopt;
    }
  }

  /// Drives the initiator's side of the handshake by hand; the peer's NodeId on success.
  std::optional<NodeId> handshake(const NodeId& self, std::string cookie = "secret",
                                  std::string cluster = "test") {
    auto hs = protocol::Handshake::initiator(
        {.cluster = std::move(cluster), .self = self, .cookie = std::move(cookie)});
    for (const auto& m : hs.start().send) write_message(m);
    while (!hs.done()) {
      auto m = read_message();
      if (!m) return std::nullopt;
      for (const auto& out : hs.on_message(*m).send) write_message(out);
    }
    if (hs.outcome().state != protocol::HandshakeState::established) return std::nullopt;
    return hs.outcome().peer;
  }

  /// Whether a read saw the other side close the connection.
  bool closed() const { return closed_; }

  /// Reads and discards until the other side closes; false if still open at the deadline.
  bool wait_closed(std::chrono::milliseconds deadline = kDeadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (read_some(until)) {
    }
    return closed_;
  }

  /// Sets a small receive buffer, so a peer that writes to us fills it quickly.
  void shrink_receive_buffer() {
    boost::system::error_code ec;
    socket_.set_option(boost::asio::socket_base::receive_buffer_size(4096), ec);
  }

 private:
  /// One read into the decoder; false on close, error or deadline.
  bool read_some(std::chrono::steady_clock::time_point until) {
    bool done = false;
    bool ok = false;
    socket_.async_read_some(
        boost::asio::buffer(buffer_), [&](const boost::system::error_code& ec, size_t n) {
          done = true;
          if (ec) {
            closed_ = ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
            return;
          }
          decoder_.feed(std::span<const uint8_t>(buffer_.data(), n));
          ok = true;
        });
    io_.restart();
    while (!done) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= until) break;
      io_.run_one_for(until - now);
    }
    if (!done) {
      boost::system::error_code ignored;
      socket_.cancel(ignored);
      io_.restart();
      io_.run();  // the cancelled read's handler
    }
    return ok;
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  protocol::FrameDecoder decoder_;
  std::array<uint8_t, 64 * 1024> buffer_{};
  bool closed_ = false;
};

}  // namespace otp::cluster::test
