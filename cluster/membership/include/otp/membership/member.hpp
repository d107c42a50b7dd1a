// The values SWIM membership hands to its driver: members, events, outgoing packets, counters.
// Everything is a plain copyable value; nothing here refers back into the core.
//
// clang-format off
//   for (const otp::membership::Event& e : output.events) {
//     if (e.kind == otp::membership::EventKind::failed) forget_node(e.member.id);
//   }
// clang-format on
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "otp/protocol/gossip.hpp"
#include "otp/protocol/node_id.hpp"

namespace otp::membership {

/// A span of time: a timeout, an interval, an age.
using Duration = std::chrono::milliseconds;

/// An instant, in milliseconds since an epoch the driver chooses (steady_clock's in production,
/// 0 in the simulator). Only differences matter; it must never go backwards. A distinct type from
/// Duration, so an interval can not be passed where a deadline is meant.
using Time = std::chrono::time_point<std::chrono::steady_clock, Duration>;

/// host:port of a gossip socket or of a data transport.
using Address = protocol::gossip::Address;

/// What a member says about itself: data (TCP transport) address, version, tags. Gossiped with
/// its alive state; changing it raises the member's incarnation (Membership::update_metadata).
using Metadata = protocol::gossip::MemberMeta;

/// What this node believes about a member.
enum class MemberState : uint8_t {
  alive,
  suspect,  // a probe failed; the member has until its suspicion timeout to refute
  failed,   // declared dead (a crash, a partition, or a pause longer than the suspicion timeout)
  left,     // it left gracefully
};

/// "alive", "suspect", "failed", "left"; "unknown" for another value.
const char* to_string(MemberState state);
/// Prints to_string(s).
inline std::ostream& operator<<(std::ostream& os, MemberState s) {
  return os << to_string(s);
}

/// One member as this node sees it.
struct Member {
  protocol::NodeId id{};     // name@host and creation (a restarted node has a new creation)
  Address gossip{};          // where its membership core listens
  Metadata meta{};           // data address, version, tags
  uint32_t incarnation = 0;  // raised by the member itself to refute suspicion or to update
  /// What this node believes about it now.
  MemberState state = MemberState::alive;

  friend bool operator==(const Member&, const Member&) = default;
};

/// What changed. Every event carries the member as it is after the change (for `failed` and
/// `left` after a restart: the old run's identity).
enum class EventKind : uint8_t {
  joined,   // a member is known for the first time (or rejoined after leaving / restarting)
  suspect,  // it stopped answering; not yet failed
  alive,    // a suspect or failed member proved it is alive (refuted with a higher incarnation)
  failed,   // declared dead
  left,     // left gracefully
  updated,  // its metadata changed
};

/// "joined", "suspect", "alive", "failed", "left", "updated"; "unknown" for another value.
const char* to_string(EventKind kind);
/// Prints to_string(k).
inline std::ostream& operator<<(std::ostream& os, EventKind k) {
  return os << to_string(k);
}

/// One membership change, reported in the order the core made it.
struct Event {
  /// What changed.
  EventKind kind = EventKind::joined;
  /// The member after the change.
  Member member{};
  friend bool operator==(const Event&, const Event&) = default;
};

/// "failed a@h#7 inc 3": kind, member id and incarnation, for logs.
std::ostream& operator<<(std::ostream& os, const Event& e);

/// How a packet travels: a UDP datagram (at most Options::max_datagram_size bytes) or the stream
/// channel (TCP in production) that carries push-pull exchanges (up to Options::max_stream_size).
enum class Channel : uint8_t { datagram, stream };

/// A packet for the driver to send.
struct Outgoing {
  /// Where to send it (a stream answer: on the connection its request came on, see membership.hpp).
  Address to{};
  /// The encoded, signed packet: send as is.
  std::vector<uint8_t> bytes{};
  /// A UDP datagram or a push-pull stream message.
  Channel channel = Channel::datagram;
};

/// What one step of the core produced: send these packets (in order), report these events.
struct Output {
  /// To send, in this order.
  std::vector<Outgoing> packets{};
  /// To report, in this order.
  std::vector<Event> events{};

  /// Nothing to send and nothing to report.
  bool empty() const { return packets.empty() && events.empty(); }
  /// Appends other's packets and events after this one's.
  void append(Output&& other);
};

/// Counters since construction, plus the current local health.
struct Stats {
  // traffic
  /// Packets the core handed to the driver (both channels; sent or not).
  uint64_t packets_sent = 0;
  /// Their bytes.
  uint64_t bytes_sent = 0;
  /// Packets the driver passed in (both channels), dropped ones included.
  uint64_t packets_received = 0;
  /// Their bytes.
  uint64_t bytes_received = 0;
  // dropped input, by reason
  uint64_t dropped_oversized = 0;            // above the channel's size limit
  uint64_t dropped_malformed = 0;            // undecodable, or truncated
  uint64_t dropped_unsupported_version = 0;  // another gossip version
  uint64_t dropped_other_cluster = 0;        // another cluster's packet
  uint64_t dropped_bad_mac = 0;              // wrong cookie or tampered
  uint64_t dropped_wrong_channel = 0;        // push-pull as a datagram or a probe on a stream
  uint64_t dropped_wrong_target = 0;         // a ping for another run (creation) or node
  // failure detection
  uint64_t probes = 0;           // direct probes started
  uint64_t indirect_probes = 0;  // ping_req sent on behalf of our own probes
  uint64_t probes_failed = 0;    // probes without any ack: the target became suspect
  uint64_t stalls = 0;  // ticks a probe interval late (paused, starved): no accusation made
  /// Nacks from indirect probers (each shows our path to them works).
  uint64_t nacks_received = 0;
  uint64_t refutations = 0;         // times this node refuted suspicion (or death) of itself
  uint64_t suspicions_started = 0;  // suspicion timers started (own or gossiped)
  /// Distinct suspicions this node raised: its own failed probe turned an alive member suspect
  /// (confirmations of a running suspicion and gossiped ones are not counted). Per probe
  /// (suspicions_per_probe) is the rate to compare across probe intervals.
  uint64_t suspicions_raised = 0;
  uint64_t declared_failed = 0;  // suspicion timeouts that expired here
  /// Suspicion timeouts that expired on a member heard from directly since (not declared).
  uint64_t verdicts_held = 0;
  // dissemination and anti-entropy
  uint64_t updates_sent = 0;  // piggybacked updates, counting retransmissions
  /// Push-pull requests started here (answers are not counted).
  uint64_t push_pulls_sent = 0;
  /// Push-pull messages received: requests and answers.
  uint64_t push_pulls_received = 0;
  uint64_t push_pull_truncated = 0;  // states that did not fit max_stream_size
  uint64_t reaped = 0;               // failed / left members forgotten
  /// Local health (Lifeguard): 0 is healthy; timeouts are scaled by (awareness + 1).
  uint32_t awareness = 0;
  /// Time from join to the latest tick or packet (what the per-minute rate divides by).
  Duration running{0};

  /// suspicions_raised / probes (0 before the first probe).
  double suspicions_per_probe() const {
    return probes == 0 ? 0.0 : static_cast<double>(suspicions_raised) / static_cast<double>(probes);
  }
  /// suspicions_raised per minute of `running` (0 before any time has passed).
  double suspicions_per_minute() const {
    return running.count() <= 0 ? 0.0
                                : static_cast<double>(suspicions_raised) * 60'000.0 /
                                      static_cast<double>(running.count());
  }
};

}  // namespace otp::membership
