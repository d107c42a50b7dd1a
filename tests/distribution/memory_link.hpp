// Test support: Nodes in one OS process joined by in-memory links. Each direction of a link is a
// thread that encodes nothing itself: the sender's channel runs the message through the
// MessagePack codec (as the TCP transport does), the thread decodes it and hands it to the
// receiving node in order. Cutting a link drops what is in flight and tells both nodes, as a
// broken connection would.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "otp/distribution.hpp"
#include "otp/protocol/codec.hpp"

namespace otp_test {

/// One direction: frames queued by the sender, delivered by a thread of its own.
class Pipe {
 public:
  Pipe(otp::Node& to, otp::protocol::NodeId from) : to_(to), from_(std::move(from)) {
    thread_ = std::thread([this] { run(); });
  }
  ~Pipe() {
    {
      std::lock_guard<std::mutex> g(mx_);
      closed_ = true;
      queue_.clear();
    }
    cv_.notify_all();
    thread_.join();
  }
  void push(otp::protocol::Bytes frame) {
    {
      std::lock_guard<std::mutex> g(mx_);
      if (closed_) return;
      queue_.push_back(std::move(frame));
    }
    cv_.notify_all();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lk(mx_);
    for (;;) {
      cv_.wait(lk, [&] { return closed_ || !queue_.empty(); });
      if (closed_) return;
      auto frame = std::move(queue_.front());
      queue_.pop_front();
      lk.unlock();
      auto m = otp::protocol::decode(frame, otp::protocol::Codec::msgpack);
      if (m) otp::distribution::receive(to_, from_, std::move(m).value());
      lk.lock();
    }
  }

  otp::Node& to_;
  otp::protocol::NodeId from_;
  std::mutex mx_;
  std::condition_variable cv_;
  std::deque<otp::protocol::Bytes> queue_;
  bool closed_ = false;
  std::thread thread_;
};

/// The channel of one node: its outgoing pipes by peer name.
class MemoryChannel : public otp::DistributionChannel {
 public:
  std::optional<otp::SendError> send(const otp::protocol::NodeId& to,
                                     const otp::protocol::Message& message) override {
    std::lock_guard<std::mutex> g(mx_);
    auto it = peers_.find(to.full_name());
    if (it == peers_.end()) return otp::SendError::nodedown;
    if (it->second.id != to) return otp::SendError::stale;
    it->second.pipe->push(otp::protocol::encode(message, otp::protocol::Codec::msgpack));
    ++sent_;
    return std::nullopt;
  }
  void add(otp::protocol::NodeId peer, std::shared_ptr<Pipe> pipe) {
    std::lock_guard<std::mutex> g(mx_);
    auto name = peer.full_name();
    peers_[name] = Peer{std::move(peer), std::move(pipe)};
  }
  std::shared_ptr<Pipe> remove(const otp::protocol::NodeId& peer) {
    std::lock_guard<std::mutex> g(mx_);
    auto it = peers_.find(peer.full_name());
    if (it == peers_.end() || it->second.id != peer) return nullptr;
    auto pipe = std::move(it->second.pipe);
    peers_.erase(it);
    return pipe;
  }
  size_t sent() const {
    std::lock_guard<std::mutex> g(mx_);
    return sent_;
  }

 private:
  struct Peer {
    otp::protocol::NodeId id;
    std::shared_ptr<Pipe> pipe;
  };
  mutable std::mutex mx_;
  std::map<std::string, Peer> peers_;
  size_t sent_ = 0;
};

/// A distributed Node with its channel.
struct MemoryNode {
  MemoryNode(std::string name, uint32_t creation)
      : node({.name = name, .scheduler_threads = 2, .log_crashes = false}),
        id{name, "test", creation},
        channel(std::make_shared<MemoryChannel>()) {
    otp::distribution::attach(node, id, channel);
  }
  ~MemoryNode() {
    otp::distribution::detach(node);
    node.shutdown();
  }
  std::string full_name() const { return id.full_name(); }

  otp::Node node;
  otp::protocol::NodeId id;
  std::shared_ptr<MemoryChannel> channel;
};

/// Connects a and b (both see node_up).
inline void connect(MemoryNode& a, MemoryNode& b) {
  a.channel->add(b.id, std::make_shared<Pipe>(b.node, a.id));
  b.channel->add(a.id, std::make_shared<Pipe>(a.node, b.id));
  otp::distribution::node_up(a.node, b.id);
  otp::distribution::node_up(b.node, a.id);
}

/// Cuts the link: what is in flight is lost, both see node_down.
inline void disconnect(MemoryNode& a, MemoryNode& b, const std::string& reason = "cut") {
  auto ab = a.channel->remove(b.id);
  auto ba = b.channel->remove(a.id);
  ab.reset();  // joins the delivery threads: nothing more arrives
  ba.reset();
  otp::distribution::node_down(a.node, b.id, reason);
  otp::distribution::node_down(b.node, a.id, reason);
}

}  // namespace otp_test
