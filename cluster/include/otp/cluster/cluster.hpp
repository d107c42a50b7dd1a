// otp::cluster::Cluster: makes a Node a distributed node. It starts the TCP transport
// (transport.hpp) and plugs it into the node's distribution (otp/distribution.hpp), so that
// pids of other nodes, {name, node} addressing, remote monitors and links work.
//
// clang-format off
//   otp::Node node({.name = "a"});
//   auto cluster = otp::cluster::Cluster::start(node, {.name = "a", .host = "127.0.0.1",
//                                                      .port = 7001, .cookie = "secret"});
//   if (!cluster) fail(cluster.error());
//   (*cluster)->connect("127.0.0.1:7002");        // redialed with backoff while it is down
//   otp::gen_server::call<int>(node, otp::remote_name("counter", "b@127.0.0.1"), Get{});
//   ...
//   cluster->reset();                             // before the Node goes away
// clang-format on
//
// The node is known as name@host; host is also where it listens unless listen_host says
// otherwise. A creation number drawn at start tells this run from earlier ones.
//
// With a gossip section, membership finds the other nodes (SWIM, membership_driver.hpp) and
// drives the links: nobody calls connect().
//
// clang-format off
//   otp::cluster::ClusterOptions config{.name = "b", .port = 7002, .cookie = "secret"};
//   config.gossip = otp::cluster::GossipOptions{.port = 7102, .seeds = {"127.0.0.1:7101"}};
//   auto cluster = otp::cluster::Cluster::start(node, config).value();
//   cluster->subscribe([](const otp::membership::Event& e) { std::cout << e << "\n"; });
//   cluster->subscribe(inbox.pid());        // otp::membership::Event messages
//   cluster->members();                     // self included, with states
// clang-format on
//
// Each member gossips its transport address ("host:port") as its metadata's data address. A
// member that is alive gets a link (of each pair, the node with the smaller name dials, so two
// nodes never race two links; the other end accepts); a member that failed or left loses it, so
// the node's distribution sees nodedown (monitors fire with noconnection) as soon as membership
// declares the member failed, whatever state its TCP connection is in. stop() leaves gracefully
// first: the others report `left`, not `failed`.
//
// Who closes a link. Without gossip, the transport does: a link that delivers nothing for
// TransportOptions::dead_link_timeout (1.5 s) is closed (a frozen peer). With gossip, membership
// does: a link closes when its member is declared failed or left (SIGSTOP, a partition: about
// 1-1.5 s), or at once when its TCP connection breaks (kill -9: the peer's kernel resets it). A
// link that is only silent (TCP retransmitting under packet loss) is kept while membership holds
// its member alive, so loss that membership tolerates fails no call and fires no nodedown; the
// transport's own timeout becomes gossip_dead_link_timeout (10 s), a backstop for a link that
// stays silent while the member's gossip still gets through. A member whose data address changed
// while it runs (`updated`; a container reconnected with a new IP) is linked anew at its new
// address: its old link is dead and closes (one nodedown, then nodeup); on the moved node itself
// every link is made anew.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "otp/cluster/faults.hpp"
#include "otp/cluster/membership_driver.hpp"
#include "otp/cluster/transport.hpp"
#include "otp/error.hpp"
#include "otp/global/name_table.hpp"
#include "otp/membership/member.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/protocol/node_id.hpp"

namespace otp::cluster {

/// How a Cluster starts: the node's identity and address, the secret, and optional gossip
/// membership (designated initializers, see above).
struct ClusterOptions {
  std::string name = "node";       // the node is name@host
  std::string host = "127.0.0.1";  // advertised host, and the listen address by default
  uint16_t port = 0;               // 0: any free port (see Cluster::port())
  std::string listen_host = {};    // empty: host. "0.0.0.0" to listen on every interface
  std::string cookie;              // the shared secret; required
  std::string cluster = "otp";     // nodes of other clusters are refused
  /// Timings, limits and the log hook; its identity and address fields are filled in from the
  /// fields above. With gossip, its dead_link_timeout is replaced by gossip_dead_link_timeout.
  TransportOptions transport = {};
  /// With gossip, the transport's dead-link timeout (see "Who closes a link" above): only a
  /// backstop for a link that stays silent while membership holds its member alive (TCP blocked
  /// but UDP not). Lost segments are retransmitted by TCP, whose backoff leaves a link silent for
  /// seconds at 10 % loss; membership's failed verdict (about 1-1.5 s) closes the link to a
  /// member that is gone, so this must be well above that and above TCP's backoff (positive).
  std::chrono::milliseconds gossip_dead_link_timeout{10000};
  /// Gossip membership. Absent: links only where connect() asks for them. Its host defaults to
  /// `host`, its listen_host to listen_host (or host); its membership's cluster and cookie are
  /// the fields above.
  std::optional<GossipOptions> gossip = std::nullopt;
  /// With gossip: called for every membership event from the very first one, on the membership
  /// thread, before the links are acted on (a nodedown the event causes comes after); must not
  /// block. subscribe() can only come after
  /// start(), and a node that joins through a seed may learn members before that: this sees them.
  std::function<void(const membership::Event&)> on_member_event = {};
  /// How the global name registry (otp/global.hpp) picks the winner of a name two nodes
  /// registered: empty for the default (the earlier registration wins). It must be the same
  /// function on every node of the cluster (see otp::global::Resolver).
  otp::global::Resolver global_resolver = {};
  /// The fault-injection seam for tests (faults.hpp): the transport and the membership driver
  /// drop or delay traffic with the peers it names. Null (the default): no faults, no cost.
  std::shared_ptr<FaultInjector> faults = nullptr;
};

/// A Node's cluster layer (see above): start() it after the Node, destroy it before the Node.
class Cluster {
 public:
  /// Starts listening and attaches the node. Fails with badarg (no cookie, a config that can not
  /// work), already_started (the node is distributed), bad_address (a seed), unresolved or
  /// listen_failed (the address can not be bound), the context saying why.
  static Result<std::unique_ptr<Cluster>> start(Node& node, ClusterOptions config);
  /// stop().
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  /// This node run: name@host and the creation drawn at start.
  const protocol::NodeId& self() const;
  /// The TCP port the transport listens on (the one bound when ClusterOptions::port was 0).
  uint16_t port() const;

  /// Links to the node at host:port (and keeps it linked: redials with backoff). bad_address
  /// when host_port does not parse, shutting_down after stop().
  Result<void> connect(const std::string& host_port);
  /// Connected nodes, "name@host".
  std::vector<std::string> nodes() const;
  /// The transport's counters since start.
  TransportStats stats() const;

  // -- membership (with ClusterOptions::gossip; empty / no-ops without) ------------------------

  /// Names a subscription for unsubscribe; 0 is never a live one.
  using SubscriptionId = MembershipDriver::SubscriptionId;

  /// Every member known, self included (alive, suspect, failed and left ones not yet reaped).
  std::vector<membership::Member> members() const;
  /// The gossip port bound, if membership runs.
  std::optional<uint16_t> gossip_port() const;
  /// Core and driver counters (zeros without membership).
  membership::Stats membership_stats() const;
  /// The membership driver's own counters (zeros without membership).
  DriverStats membership_driver_stats() const;
  /// Calls callback for every later membership event (joined, suspect, alive, failed, left,
  /// updated), on the membership thread: it must not block. 0 without membership.
  SubscriptionId subscribe(std::function<void(const membership::Event&)> callback);
  /// Sends every later event to pid as an otp::membership::Event message, until pid exits or
  /// unsubscribe. 0 without membership.
  SubscriptionId subscribe(const Pid& pid);
  /// Ends a subscription; 0 and unknown ids are ignored.
  void unsubscribe(SubscriptionId id);

  /// Leaves the membership gracefully (bounded by GossipOptions::leave_timeout), closes every
  /// link (remote monitors and links fire with noconnection) and detaches the node. Idempotent;
  /// the destructor calls it.
  void stop();
  /// Whether stop() began: true from its first step on (before the leave is announced), so a
  /// health check reports the node as leaving while it still gossips its goodbye.
  bool leaving() const;

  /// The implementation (cluster.cpp): the transport's listener and the node's distribution
  /// channel. Not for users.
  class Bridge;

 private:
  explicit Cluster(std::shared_ptr<Bridge> bridge);
  std::shared_ptr<Bridge> bridge_;
};

}  // namespace otp::cluster
