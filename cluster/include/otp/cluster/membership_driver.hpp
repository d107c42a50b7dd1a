// otp::cluster::MembershipDriver: runs SWIM membership (otp::membership::Membership, a pure state
// machine) for real, on a Boost.Asio thread of its own: a UDP socket for probes and gossip, a TCP
// listener on the same port number for push-pull state exchanges, a timer for the core's next
// deadline, and seeds given as host:port or DNS names that are re-resolved while they matter.
// Most programs get one through Cluster (ClusterOptions::gossip); use it directly for membership
// without a node.
//
// clang-format off
//   otp::cluster::MembershipDriverOptions cfg;
//   cfg.self = {"a", "127.0.0.1", 0};               // creation 0: drawn at random
//   cfg.gossip.port = 7101;
//   cfg.gossip.seeds = {"127.0.0.1:7102", "seed.svc:7101"};   // names are re-resolved
//   cfg.gossip.membership.cookie = "secret";
//   cfg.on_event = [](const otp::membership::Event& e) { std::cout << e << "\n"; };
//   auto driver = otp::cluster::MembershipDriver::start(std::move(cfg));
//   if (!driver) fail(driver.error());  // "listen_failed: gossip bind 127.0.0.1:7101 (udp): ..."
//   (*driver)->members();               // thread-safe snapshot, self included
//   (*driver)->stop();                  // leaves gracefully (bounded wait), then closes everything
// clang-format on
//
// Guarantees: start() returns once both sockets are bound; seeds that do not resolve or do not
// answer never block it (the core keeps asking them, and names are resolved again). Send errors
// (an iptables OUTPUT drop makes sendto fail with EPERM) and failed stream connections are
// counted and logged at most once per peer per send_error_log_interval; the core retries on its
// own schedule. Events are delivered in the core's order on the driver's thread.
//
// Addresses that change while the node runs: a node advertising an IP that is no longer its own
// announces its new one (GossipOptions::address_check_interval) and reports that to its own
// subscribers as `updated` about itself. A member advertised by a host name that turns suspect
// has its name resolved again at once (not after resolve_interval): it may have moved.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "otp/cluster/faults.hpp"
#include "otp/error.hpp"
#include "otp/membership/member.hpp"
#include "otp/membership/options.hpp"
#include "otp/protocol/node_id.hpp"

namespace otp::cluster {

/// Where and how a node gossips: what a Cluster user sets (ClusterOptions::gossip).
struct GossipOptions {
  /// Advertised host of the gossip address (what other members send to). Empty: the node's
  /// host (ClusterOptions::host, or MembershipDriverOptions::self.host).
  std::string host = {};
  /// Where the sockets bind. Empty: the advertised host. "0.0.0.0" for every interface.
  std::string listen_host = {};
  /// UDP and TCP port (the same number). 0: any free port (see MembershipDriver::port()).
  uint16_t port = 0;
  /// "host:port" of nodes to join through; host may be a DNS name (re-resolved, all of its
  /// addresses used) or an IP literal ("[::1]:7101" for IPv6). Our own address is skipped.
  std::vector<std::string> seeds = {};
  /// Timings and limits of the core (see otp/membership/options.hpp for what each trades).
  /// Under a Cluster, `cluster` and `cookie` are taken from the ClusterOptions.
  membership::Options membership = {};
  /// Free-form labels gossiped with this member (role, zone, ...).
  std::map<std::string, std::string> tags = {};

  /// Seeds named by DNS are re-resolved this often while this node knows no live peer (the
  /// only time the core uses seeds), and `resolve_interval` otherwise.
  std::chrono::milliseconds resolve_interval_alone{1000};
  /// How often named seeds are re-resolved while this node knows a live peer.
  std::chrono::milliseconds resolve_interval{30000};
  /// How long start-up waits for the first resolution of named seeds before joining with what
  /// it has (the rest are contacted by the core's seed retry once they resolve). Literal seeds
  /// are joined at once.
  std::chrono::milliseconds initial_resolve_wait{500};
  /// How often this node checks that the IP it advertises is still one of its own (it also
  /// checks whenever it refutes a suspicion of itself). An advertised IP that never was one of
  /// its own (behind a NAT) is left alone. When the
  /// address is gone (a container reconnected with a new IP) and the sockets listen on every
  /// interface, it announces the address it now reaches its peers from, with a raised
  /// incarnation: the others see `updated` (new gossip and data addresses), not a member that
  /// flaps between alive and failed. 0: never checked.
  std::chrono::milliseconds address_check_interval{1000};
  /// Bound on one push-pull exchange: connect, write, read the reply. A slower one is dropped.
  std::chrono::milliseconds stream_timeout{2000};
  /// Push-pull connections open at once (both directions); more are refused and counted.
  size_t max_stream_connections = 64;
  /// A send error or failed connection to one peer is logged at most once per interval (the
  /// count of the ones not logged goes with the next line).
  std::chrono::milliseconds send_error_log_interval{10000};
  /// stop() announces a graceful leave and keeps running until the news went out
  /// (Membership::leave_propagated) or this long; 0 stops without announcing.
  std::chrono::milliseconds leave_timeout{2000};
};

/// Everything a MembershipDriver needs.
struct MembershipDriverOptions {
  /// This node run: name, advertised host, creation (0: drawn at random; must differ from
  /// every earlier run of this name).
  protocol::NodeId self = {};
  /// Data (transport) address, version, tags; gossip.tags are merged into meta.tags.
  membership::Metadata metadata = {};
  /// Where and how this node gossips.
  GossipOptions gossip = {};
  /// Every event, on the driver's thread, in order. Must not block; may call the driver's
  /// accessors (not stop() or the destructor). Subscribers (subscribe()) are called after it.
  std::function<void(const membership::Event&)> on_event = {};
  /// Where the driver says what went wrong: ("warning", "push-pull to 10.0.0.2:7101 failed:
  /// Connection refused"). Levels "error", "warning", "info", "debug". Default: stderr, prefixed
  /// with self, without "debug".
  std::function<void(std::string_view level, std::string_view text)> log = {};
  /// The fault-injection seam (faults.hpp): datagrams and push-pull streams to and from a peer
  /// are dropped or delayed as it says. Null: none, at no cost.
  std::shared_ptr<FaultInjector> faults = nullptr;
};

/// The driver's own counters (the core's are in membership::Stats).
struct DriverStats {
  /// UDP datagrams the socket accepted.
  uint64_t datagrams_sent = 0;
  /// UDP datagrams read (handed to the core, which counts what it drops).
  uint64_t datagrams_received = 0;
  uint64_t send_errors = 0;       // sendto failed (EPERM from a firewall, unreachable, ...)
  uint64_t receive_errors = 0;    // receive failed (the socket keeps being read)
  uint64_t unresolved_drops = 0;  // packets to a host name not (yet) resolved
  uint64_t streams_opened = 0;    // push-pull connections dialed
  uint64_t streams_accepted = 0;  // push-pull connections accepted
  uint64_t stream_failures = 0;   // refused, reset, timed out, oversized or short messages
  uint64_t streams_refused = 0;   // over max_stream_connections
  uint64_t seed_resolutions = 0;  // name lookups of seeds started
  /// Name lookups of seeds that failed.
  uint64_t seed_resolve_failures = 0;
};

/// Runs one Membership core on a thread of its own (see above); made by start().
class MembershipDriver {
 public:
  /// An event subscriber: called on the driver's thread, must not block.
  using Callback = std::function<void(const membership::Event&)>;
  /// Names a subscription for unsubscribe; never 0.
  using SubscriptionId = uint64_t;

  /// Binds UDP and TCP on the gossip port, starts the thread and joins through the seeds.
  /// Fails with listen_failed (or unresolved) when the port can not be bound, bad_address when
  /// a seed is not "host:port", badarg when the cookie or the node's name is empty.
  static Result<std::unique_ptr<MembershipDriver>> start(MembershipDriverOptions config);
  /// stop(). Must not be called from the driver's thread (an event callback).
  ~MembershipDriver();
  MembershipDriver(const MembershipDriver&) = delete;
  MembershipDriver& operator=(const MembershipDriver&) = delete;

  // -- identity ----------------------------------------------------------------------------

  /// This node run (its creation drawn at start when the options gave 0).
  const protocol::NodeId& self() const;
  /// The gossip port actually bound (UDP and TCP).
  uint16_t port() const;
  /// The advertised gossip address (host:port) other members reach this one at.
  membership::Address address() const;

  // -- the view (thread-safe) -------------------------------------------------------------

  /// Every member known, self included: alive, suspect, and failed / left ones not yet reaped.
  std::vector<membership::Member> members() const;
  /// Members other than self that are alive.
  size_t alive_peers() const;
  /// The core's counters and local health.
  membership::Stats stats() const;
  /// The driver's own counters (sockets, streams, seed lookups).
  DriverStats driver_stats() const;

  // -- events ------------------------------------------------------------------------------

  /// Calls callback for every later event, on the driver's thread (must not block). For the
  /// state before it, read members() after subscribing.
  SubscriptionId subscribe(Callback callback);
  /// No call after this returns (unless it is called from the driver's thread, where the
  /// callback being run finishes).
  void unsubscribe(SubscriptionId id);

  // -- changes -----------------------------------------------------------------------------

  /// New metadata for this member (raises its incarnation; others see `updated`).
  void update_metadata(membership::Metadata metadata);

  /// Announces a graceful leave (others report `left`, never `failed`), keeps gossiping until
  /// the news went out or leave_timeout passed, then closes the sockets and joins the thread.
  /// Idempotent. From the driver's thread it starts the same and returns at once.
  void stop();

  /// The implementation (membership_driver_impl.hpp). Not for users.
  class Impl;

 private:
  explicit MembershipDriver(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace otp::cluster
