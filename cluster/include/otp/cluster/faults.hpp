// otp::cluster::FaultInjector: the fault-injection seam. A node given one (ClusterOptions::faults)
// lets a test cut, lose or slow its traffic with chosen peers, without root and without touching
// the network: its TCP transport (link frames in both directions, the handshake, dials) and its
// membership driver (UDP datagrams and push-pull streams in both directions) ask the injector
// about every frame and packet to or from a peer. A null injector (the default) costs nothing.
//
// clang-format off
//   auto faults = std::make_shared<otp::cluster::FaultInjector>();
//   otp::cluster::ClusterOptions config{.name = "a", .cookie = "secret"};
//   config.gossip = otp::cluster::GossipOptions{.seeds = {...}};
//   config.faults = faults;
//   auto cluster = otp::cluster::Cluster::start(node, config).value();
//   faults->set("b@127.0.0.1", {.drop = 1.0});            // cut: a sees b failed, nodedown
//   faults->set("b@127.0.0.1", {.drop = 0.3});            // lossy: 30 % of gossip lost
//   faults->set("b@127.0.0.1", {.delay = 200ms});         // slow: 200 ms each way
//   faults->clear("b@127.0.0.1");                         // healed
// clang-format on
//
// A fault set on node A for peer B applies to traffic A -> B and B -> A as A sees it. A partition
// X|Y is therefore: on every node of X, set(y, {.drop = 1}) for each y of Y, and the same on Y for
// X (otp::testkit does this). What each layer does with a fault:
//   UDP gossip    each datagram is lost with probability `drop`, else delivered `delay` later.
//   push-pull     a stream exchange (TCP) is refused when cut; otherwise each message in it comes
//                 `delay` later (plus retransmit_delay() with probability `drop`: a lost segment).
//   TCP links     a cut closes the link at its next frame either way, stops dials to that peer,
//                 and ends a handshake as soon as the peer's Hello names it, before this node's
//                 own Hello or Proof goes out: neither side sees a link up until the cut is
//                 cleared, even when only one of them holds it. Partial loss never loses a frame
//                 (TCP would retransmit it): with probability `drop` a frame and the ones behind
//                 it come retransmit_delay() later. Each frame comes `delay` later; the order
//                 of frames is always kept, so the distribution sees what a real network does:
//                 messages in order, or a nodedown.
// Peers are named by their full node name, "name@host" (any creation of it).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

namespace otp::cluster {

/// What happens to the traffic between a node and one peer.
struct LinkFault {
  double drop = 0.0;                   // fraction of traffic dropped, 0..1; 1 = cut
  std::chrono::milliseconds delay{0};  // added latency ("slow link"), each direction

  /// drop >= 1: nothing gets through.
  bool cut() const { return drop >= 1.0; }
  friend bool operator==(const LinkFault&, const LinkFault&) = default;
};

/// What the injector decided for one datagram, stream message or frame.
struct FaultVerdict {
  bool drop = false;                   // lost (a frame: its link must close)
  std::chrono::milliseconds delay{0};  // deliver (or send) this much later; 0: now
};

/// Faults between this node and its peers (see above). Thread-safe; shared by the node's
/// transport and membership driver, and by the test that sets the faults.
class FaultInjector {
 public:
  /// Losses drawn from a random seed.
  FaultInjector();
  /// Losses drawn from `seed`: the same decisions for the same sequence of questions.
  explicit FaultInjector(uint64_t seed);
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  /// Sets (replaces) the fault for peer, "name@host". A fault of drop 0 and delay 0 clears it.
  void set(const std::string& peer, LinkFault fault);
  /// Clears the fault for peer.
  void clear(const std::string& peer);
  /// Clears every fault.
  void clear_all();
  /// The fault for peer; {} when none.
  LinkFault get(const std::string& peer) const;
  /// Every fault set, by peer.
  std::map<std::string, LinkFault> all() const;
  /// Whether any fault is set (one atomic load: the layers' fast path).
  bool any() const { return count_.load(std::memory_order_acquire) > 0; }
  /// Whether peer is cut (drop >= 1).
  bool cut(std::string_view peer) const;

  /// A UDP datagram to or from peer: dropped with probability drop, else delayed by delay.
  FaultVerdict datagram(std::string_view peer);
  /// One message of a TCP stream (a link frame, a push-pull message) to or from peer: dropped
  /// only when cut (the connection must then close); otherwise delayed by delay, plus
  /// retransmit_delay() with probability drop.
  FaultVerdict stream(std::string_view peer);

  /// What a lost TCP segment costs the stream behind it: Linux's minimum retransmission timeout.
  std::chrono::milliseconds retransmit_delay() const;
  void set_retransmit_delay(std::chrono::milliseconds delay);

  /// What the injector did since it was made.
  struct Stats {
    uint64_t dropped = 0;  // datagrams and stream messages dropped
    uint64_t delayed = 0;  // datagrams and stream messages given a delay
  };
  Stats stats() const;

 private:
  /// The fault for peer (under mx_); nullptr when none.
  const LinkFault* find(std::string_view peer) const;

  mutable std::mutex mx_;
  std::map<std::string, LinkFault, std::less<>> faults_;
  std::mt19937_64 random_;
  std::chrono::milliseconds retransmit_delay_{200};
  Stats stats_;
  std::atomic<size_t> count_{0};  // faults_.size()
};

}  // namespace otp::cluster
