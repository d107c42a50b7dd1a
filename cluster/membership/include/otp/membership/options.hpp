// Every knob of SWIM membership, with its default and what it trades. The defaults detect a
// crashed node within about 1.5 s on a LAN of 5 to 10 nodes (memberlist's LAN profile, which Serf
// uses, needs about 6 s) and make false positives vanishingly rare at 10% packet loss; see
// docs/membership.md for the numbers behind them.
//
// clang-format off
//   otp::membership::Options cfg{.cluster = "prod", .cookie = secret};
//   cfg.probe_interval = std::chrono::milliseconds(500);   // a slower, cheaper WAN-ish setting
// clang-format on
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "otp/membership/member.hpp"

namespace otp::membership {

/// Every knob of one membership core (see above); the defaults suit a LAN.
struct Options {
  // -- identity and security --
  /// Packets from another cluster are dropped (and counted), even with the same cookie.
  std::string cluster = "otp";
  /// The shared secret keying every packet's HMAC-SHA256. Never sent.
  std::string cookie{};

  // -- failure detection (SWIM) --
  /// A probe round starts this often. Shorter detects faster; each probe costs one ping and one
  /// ack per node, so load per node is ~2 packets per interval whatever the cluster size.
  Duration probe_interval{200};
  /// How long a direct ping waits for its ack before asking indirect_checks others to try.
  /// Must exceed the network's round trip; the rest of the interval is left to indirect probes.
  Duration probe_timeout{100};
  /// Members asked to probe on our behalf when the direct ping gets no ack (SWIM's k). More
  /// paths make a false suspicion under loss less likely and cost k extra packets per miss.
  uint32_t indirect_checks = 3;

  // -- suspicion (Lifeguard) --
  /// Minimum suspicion timeout = suspicion_mult * max(1, log10(N)) * probe_interval: time for
  /// a suspected member to hear of it and refute, growing with the time gossip needs to spread.
  uint32_t suspicion_mult = 4;
  /// A suspicion starts at suspicion_max_timeout_mult times the minimum and shrinks towards it
  /// as independent confirmations arrive (suspicion_mult - 2 are expected; fewer, but at least
  /// one, when fewer members are alive in this node's view: the others cannot confirm).
  uint32_t suspicion_max_timeout_mult = 6;

  // -- local health awareness (Lifeguard) --
  /// Highest factor by which a node that misses its own acks stretches its probe interval and
  /// timeout (awareness score 0 .. max-1). 1 disables local health awareness.
  uint32_t awareness_max_multiplier = 8;

  // -- dissemination --
  /// Each update is sent retransmit_mult * ceil(log10(N + 1)) times (piggybacked and gossiped),
  /// enough for an epidemic to reach all N with high probability.
  uint32_t retransmit_mult = 4;
  /// While updates are queued, every gossip_interval they also go to gossip_nodes random members
  /// in a packet of their own, so news travels faster than the probe rhythm alone would carry it.
  Duration gossip_interval{100};
  /// Members each such gossip packet goes to.
  uint32_t gossip_nodes = 3;

  // -- anti-entropy, joining --
  /// A full-state exchange with one random member this often (scaled up by log2(N/32) beyond 32
  /// members, like memberlist), so partitions heal and missed updates are repaired.
  Duration push_pull_interval{15000};
  /// While no other member is alive (start-up, a seed down, a total partition), try a push-pull
  /// with the next seed this often.
  Duration seed_retry_interval{1000};
  /// Every reconnect_interval, a push-pull with one random failed (not yet reaped) member. Both
  /// sides of a partition declare each other failed and stop probing and gossiping across, so
  /// this is what heals a partition shorter than reap_failed_after (Serf's reconnect). The cost
  /// is one connection attempt per interval per node while failed members are remembered.
  Duration reconnect_interval{5000};

  // -- forgetting --
  /// A failed member is forgotten this long after it was declared failed; a left one after it
  /// left. Until then its tombstone keeps stale gossip from resurrecting it, and a failed member
  /// is retried (reconnect_interval), so this is also the longest partition that heals without
  /// help from the seeds.
  Duration reap_failed_after{300000};
  /// A left member is forgotten this long after it left (see reap_failed_after).
  Duration reap_left_after{60000};

  // -- limits --
  /// Largest datagram sent or accepted (UDP-safe: below a 1500-byte MTU with IP and UDP headers).
  size_t max_datagram_size = 1400;
  /// Largest push-pull message sent or accepted; a state that does not fit is truncated.
  size_t max_stream_size = 4 * 1024 * 1024;
};

}  // namespace otp::membership
