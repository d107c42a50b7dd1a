// SWIM + Lifeguard membership as a pure state machine: packets and ticks go in with the current
// time, packets to send and membership events come out. No sockets, clocks or threads inside, so
// the same core runs under the Boost.Asio driver and under the deterministic Simulator.
//
// The driver's contract (everything it must do; it needs nothing from the .cpp files):
//
// clang-format off
//   Membership core(config, self_id, gossip_address, metadata, seed_from_random_device);
//   handle(core.join(seeds, now()));          // seeds: resolved addresses; may be empty or down
//   loop:
//     wait until core.next_deadline(), or a datagram, or a stream message arrives;
//     datagram from `from`:       handle(core.on_packet(from, bytes, Channel::datagram, now()));
//     stream message from `from`: handle(core.on_packet(from, bytes, Channel::stream, now()));
//     deadline reached:           handle(core.tick(now()));
//     every few seconds:          core.set_seeds(re-resolved seed addresses);
//   handle(out): send each out.packets[i] in order, report each out.events[i].
// clang-format on
//
// Sending: a Channel::datagram packet is one UDP datagram to `to`. A Channel::stream packet is a
// push-pull message (one complete message, the driver frames it): if it answers a stream message
// that arrived on a connection, write it on that same connection (its `to` is that message's
// `from`); otherwise open a TCP connection to `to`, write it, read back one message, feed it to
// on_packet(to, reply, Channel::stream, now) and close. A failed connection or a reply that does
// not come within a timeout is just dropped: the core retries on its own schedule. Nothing the
// driver passes in can crash the core; bad input is counted in stats() and dropped.
//
// Time is an instant in milliseconds (membership::Time, steady_clock's epoch in production, 0 in
// the simulator), never going backwards; timeouts and intervals are membership::Duration. tick()
// may be called early or late; late ticks are detected (a node that stalled, e.g. paused under a
// debugger, does not accuse the member it was probing).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "otp/membership/member.hpp"
#include "otp/membership/options.hpp"
#include "otp/protocol/node_id.hpp"

namespace otp::membership {

namespace detail {
class NameTable;
}

/// One node's SWIM membership core (see above). Not thread-safe: the driver calls it from one
/// thread at a time (MembershipDriver holds a lock).
class Membership {
 public:
  /// self.creation must differ from every earlier run's (e.g. seconds since the epoch);
  /// rng_seed decides probe order and gossip targets (random in production, fixed in tests).
  Membership(Options config, protocol::NodeId self, Address gossip_address, Metadata metadata,
             uint64_t rng_seed);
  /// The same, sharing member names and metadata with other cores of one thread (the Simulator
  /// uses it so that 10,000 simulated nodes do not hold 10,000 copies of every member's strings).
  Membership(Options config, protocol::NodeId self, Address gossip_address, Metadata metadata,
             uint64_t rng_seed, std::shared_ptr<detail::NameTable> names);
  /// Frees the core; nothing is sent (leave() first for a graceful exit).
  ~Membership();
  /// Movable (the state lives on the heap), not copyable.
  Membership(Membership&&) noexcept;
  Membership& operator=(Membership&&) noexcept;

  // -- driver API ---------------------------------------------------------------------------

  /// Starts the node: asks every seed (except our own address) for a push-pull state exchange
  /// and starts probing. With no seeds (the first node) or only dead seeds the node runs alone
  /// and keeps asking the seeds, one every seed_retry_interval, while it knows no alive peer.
  Output join(std::vector<Address> seeds, Time now);
  /// Replaces the seed addresses (the driver re-resolves DNS names and passes fresh ones).
  void set_seeds(std::vector<Address> seeds);
  /// A datagram or stream message from `from` (the sender's socket address).
  Output on_packet(const Address& from, std::span<const uint8_t> bytes, Channel channel, Time now);
  /// Timers: probes, suspicion timeouts, gossip, push-pull, seeds, reaping.
  Output tick(Time now);
  /// When tick() must be called next (it may be called earlier).
  Time next_deadline() const;

  // -- user API -----------------------------------------------------------------------------

  /// Announces a graceful leave: members report `left`, never `failed`. Keep the driver
  /// running (ticks and packets) for a few gossip intervals afterwards so the news spreads
  /// (leave_propagated() says when every queued update went out), then stop it.
  Output leave(Time now);
  /// Whether the leave announcement was sent as often as every update is.
  bool leave_propagated() const;
  /// New metadata for this node: raises its incarnation and gossips it (others: `updated`).
  Output update_metadata(Metadata metadata, Time now);
  /// This node is reachable at a new gossip address (its interface got another IP while it
  /// runs): announces it with the metadata (whose data address moved too), raising the
  /// incarnation as update_metadata does; others see `updated` with the new addresses.
  Output update_address(Address gossip, Metadata metadata, Time now);

  /// Members known (self included), alive, suspect and not yet reaped failed / left ones.
  std::vector<Member> members() const;
  /// The member with this full name ("name@host"), if known.
  std::optional<Member> member(std::string_view full_name) const;
  /// Alive or suspect members other than self.
  size_t live_peers() const;
  /// This node run, as given to the constructor.
  const protocol::NodeId& self() const;
  /// This node's own incarnation: raised to refute suspicion and by update_metadata.
  uint32_t incarnation() const;
  /// Counters since construction, and the current local health.
  Stats stats() const;

  // -- simulation support ---------------------------------------------------------------------

  /// Adds members as alive without events and without gossiping them: to start a large
  /// simulated cluster already converged (or to restore a snapshot). Self is skipped.
  void preload(std::span<const Member> members, Time now);

 private:
  class Core;
  std::unique_ptr<Core> core_;
};

}  // namespace otp::membership
