// Global names beside membership on one virtual clock: every simulated node runs a SWIM
// membership core (otp_membership's Simulator runs them) and a NameTable (otp_global), and the
// name tables' links follow membership events as the real Cluster drives the transport
// (cluster/src/cluster.cpp). It lives in tests/ because otp_global must not depend on
// otp_membership; the scale tests (global_scale_test.cpp) drive it.
//
// clang-format off
//   CombinedSimulator sim({.nodes = 100, .seed = 7});
//   sim.register_name(3, "counter");
//   sim.run_until([&] { return sim.tables_identical(); }, sim.now() + 10s);
//   sim.partition({left, right});  sim.run_for(20s);
//   sim.heal();  sim.run_until([&] { return sim.tables_identical(); }, sim.now() + 60s);
//   EXPECT_TRUE(sim.verify().empty());
// clang-format on
//
// The model, and where it is simpler than production:
// * A node holds a peer while its membership core's latest event about the peer's run says alive
//   or suspect (a converged start holds everyone); failed or left stops holding it.
// * The link of a pair is up while each side holds the other and the transport can reach it.
//   When that stops, the link closes on both ends at once: on_nodedown on both sides, and what
//   was in flight on it is lost. When it becomes true (and no cut separates them: no connection
//   is made across one), the link comes up link_setup later (the dial and the handshake) if it
//   still holds: on_link_up on both sides, then their Syncs.
//   (The real Cluster is less symmetric: the smaller name dials as soon as it sees the other
//   alive and the other end accepts whatever its own view; a failed/left event on either side
//   closes the link, and the dialer's transport redials with backoff until its own membership
//   says failed. Redial backoff is not modelled.)
// * The transport: name-table messages travel over the pair's link with a delay uniform in
//   [min_delay, max_delay], FIFO per ordered pair. Across a partition cut, a link stays up (TCP
//   keeps its bytes and retransmits) until the transport's dead_link_timeout passes with nothing
//   received, then it closes as above; messages that reached the cut wait and arrive the moment
//   the cut heals if their link survived, and are lost with it otherwise.
// * Partitions and heals apply to both the gossip (membership's Simulator) and the name traffic.
//   One partition at a time: a partition() while one holds starts every cut's clock afresh.
// * Every name-table message goes through otp::global::encode (counted in traffic()) and decode
//   (the receiver gets the decoded value; a round trip that changes it is a problem()).
// * No crashes, restarts or leaves of nodes (membership could simulate them; the name tables do
//   not follow yet), no clock skew: every table reads the virtual clock (plus a fixed epoch).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "otp/global/name_table.hpp"
#include "otp/membership/simulator.hpp"

namespace otp::global_scale {

using membership::Duration;
using membership::Time;
/// A node of the simulation: 0 .. size() - 1, the same index in both cores.
using NodeIndex = size_t;

/// How a CombinedSimulator behaves.
struct CombinedOptions {
  /// Nodes, started as a converged membership cluster with every name-table link up.
  size_t nodes = 100;
  /// Decides every random choice (membership's and the name messages' delays).
  uint64_t seed = 1;
  /// One-way delay of a name-table message, uniform in [min_delay, max_delay] (as membership's
  /// datagrams), kept FIFO per ordered pair.
  Duration min_delay{1};
  /// The upper bound of that delay.
  Duration max_delay{4};
  /// From both sides holding each other to on_link_up: a TCP connect and the handshake, about two
  /// round trips.
  Duration link_setup{10};
  /// A link cut by a partition closes this long after the cut (the transport's dead-link
  /// timeout: nothing received), unless membership closed it first. With gossip, as here, that
  /// is ClusterOptions::gossip_dead_link_timeout, a 10 s backstop. 0: only membership closes
  /// links.
  Duration dead_link_timeout{10'000};
};

/// Name-table traffic, as the wire saw it (one message per receiver).
struct NameTraffic {
  /// Messages sent.
  uint64_t messages = 0;
  /// Their bytes (otp::global::encode).
  uint64_t bytes = 0;
  /// Of which Updates.
  uint64_t update_bytes = 0;
  /// Of which Syncs.
  uint64_t sync_bytes = 0;
  /// Lost with a link that closed before they arrived.
  uint64_t dropped = 0;
};

/// Membership cores and name tables on one virtual clock (see above). One thread.
class CombinedSimulator {
 public:
  /// options.nodes nodes, membership converged, every pair linked at time 0.
  explicit CombinedSimulator(CombinedOptions options);
  ~CombinedSimulator();
  CombinedSimulator(const CombinedSimulator&) = delete;
  CombinedSimulator& operator=(const CombinedSimulator&) = delete;

  /// Number of nodes.
  size_t size() const { return tables_.size(); }
  /// The membership side (read it; partition and heal through this class).
  const membership::Simulator& membership() const { return *membership_; }
  /// Node i's name table.
  const global::NameTable& table(NodeIndex i) const { return tables_[i]; }
  /// The virtual time.
  Time now() const { return now_; }

  // -- processes and names ----------------------------------------------------------------------

  /// Spawns a process on node i and registers `name` for it; a process whose registration
  /// failed exits at once. Returns the status and the process.
  global::RegisterOutcome register_name(NodeIndex i, std::string name);
  /// The process exits: its node's table is told.
  void kill(const protocol::Pid& pid);
  /// Live processes that registered a name (and did not lose it to a conflict): what every
  /// table must show once it converged.
  const std::unordered_map<protocol::Pid, std::string>& named() const { return named_; }
  /// Processes that lost a conflict and exited, so far.
  uint64_t conflict_losers() const { return conflict_losers_; }

  // -- network ----------------------------------------------------------------------------------

  /// Nodes in different groups are cut apart (gossip and name traffic); nodes in no group form
  /// one more group together.
  void partition(const std::vector<std::vector<NodeIndex>>& groups);
  /// Ends the partition.
  void heal();

  // -- running ----------------------------------------------------------------------------------

  /// Runs both cores up to and including time t.
  void run_until(Time t);
  /// run_until(now() + d).
  void run_for(Duration d) { run_until(now_ + d); }
  /// Runs until pred() holds (checked every check_every) or deadline passes; whether it held.
  bool run_until(const std::function<bool()>& pred, Time deadline,
                 Duration check_every = Duration(1));

  // -- observation (cheap: counters kept from the tables' events) -------------------------------

  /// Node a's link to b is up.
  bool linked(NodeIndex a, NodeIndex b) const { return links_[a * size() + b] != 0; }
  /// Node a's membership holds b alive or suspect.
  bool holds(NodeIndex a, NodeIndex b) const { return state_[a * size() + b] != kNotHeld; }
  /// Every table shows exactly the names of named(), with their owners.
  bool tables_identical() const;
  /// What node i's table shows, as the xor of fingerprint_of over its visible names.
  uint64_t fingerprint(NodeIndex i) const { return fingerprint_[i]; }
  /// How many names node i's table shows.
  size_t shown(NodeIndex i) const { return visible_[i]; }
  /// One (name, owner)'s share of a fingerprint.
  static uint64_t fingerprint_of(std::string_view name, const protocol::Pid& owner);
  /// Visible names, summed over the nodes, owned by a node the partition cuts from the holder.
  size_t names_across_cut() const { return names_across_cut_; }
  /// Ordered pairs the partition cuts apart where the first no longer holds the second.
  size_t failures_across_cut() const { return failures_across_cut_; }
  /// Ordered pairs the partition cuts apart.
  size_t pairs_across_cut() const { return pairs_across_cut_; }
  /// Every node holds every other alive (not suspect).
  bool membership_converged() const { return alive_pairs_ == size() * (size() - 1); }
  /// Name-table messages on their way (held at a cut included).
  size_t pending() const { return queue_.size() + held_count_; }
  /// Name-table traffic so far.
  const NameTraffic& traffic() const { return traffic_; }
  /// Links that came up so far (each pair at most once per time both sides held each other).
  uint64_t links_made() const { return links_made_; }
  /// Links that closed so far.
  uint64_t links_closed() const { return links_closed_; }
  /// Called for every link that closes (a < b), before the tables hear of it.
  std::function<void(NodeIndex a, NodeIndex b)> on_link_down;
  /// Violations seen while running: a table showing a name owned by a node its membership no
  /// longer holds, a codec round trip that changed a message. Empty if none.
  const std::vector<std::string>& problems() const { return problems_; }

  /// The full check, from every table's snapshot: each shows exactly named() (one owner per name,
  /// each alive, on a node the holder holds) and holds no other claim. Empty if it passes,
  /// otherwise what is wrong (a few lines).
  std::vector<std::string> verify() const;

 private:
  enum : uint8_t { kAlive = 0, kSuspect = 1, kNotHeld = 2 };
  enum class ItemKind : uint8_t { member_event, link_attempt, delivery, transport_check };
  /// Something that happens at a virtual time, in (at, seq) order.
  struct Item {
    Time at{};
    uint64_t seq = 0;
    ItemKind kind = ItemKind::delivery;
    NodeIndex a = 0;         // member_event: the holder; link_attempt, delivery: from
    NodeIndex b = 0;         // member_event: the member; link_attempt, delivery: to
    uint8_t state = kAlive;  // member_event
    uint64_t epoch = 0;      // delivery: the link's; transport_check: cuts'
    std::shared_ptr<const global::Message> message;  // delivery
  };
  struct Later {
    bool operator()(const Item& x, const Item& y) const {
      return x.at != y.at ? x.at > y.at : x.seq > y.seq;
    }
  };

  global::Time clock() const;
  NodeIndex index_of(const protocol::NodeId& node) const;
  bool cut(NodeIndex a, NodeIndex b) const { return groups_[a] != groups_[b]; }
  size_t pair(NodeIndex a, NodeIndex b) const { return a * size() + b; }
  size_t link_key(NodeIndex a, NodeIndex b) const { return a < b ? pair(a, b) : pair(b, a); }
  void push(Item item);
  void process(Item& item);
  void on_member_event(NodeIndex holder, NodeIndex member, uint8_t state);
  /// Brings the pair's link to what the model says it should be (see above).
  void update_link(NodeIndex a, NodeIndex b);
  /// Both hold each other and the network joins them: a link can be made.
  bool can_link(NodeIndex a, NodeIndex b) const;
  /// Both hold each other and the transport has not given up on the link across a cut.
  bool keeps_link(NodeIndex a, NodeIndex b) const;
  void link_up(NodeIndex a, NodeIndex b);
  void link_down(NodeIndex a, NodeIndex b);
  void deliver(Item& item);
  void handle(NodeIndex i, global::Output out);
  void send(NodeIndex from, const global::Message& message, const std::vector<NodeIndex>& to);
  /// The groups changed: recount what is cut, release what waited at healed cuts, relink.
  void regroup(std::vector<int> groups);
  void count_visible(NodeIndex holder, const global::Event& e, int sign);
  void problem(std::string text);

  CombinedOptions options_;
  std::unique_ptr<membership::Simulator> membership_;
  std::vector<global::NameTable> tables_;
  std::vector<uint64_t> next_pid_;
  std::unordered_map<protocol::Pid, std::string> named_;
  uint64_t named_fingerprint_ = 0;
  uint64_t conflict_losers_ = 0;

  Time now_{};
  uint64_t seq_ = 0;
  std::vector<Item> queue_;  // a min-heap by (at, seq)
  std::mt19937_64 rng_;

  // per ordered pair (a * size() + b)
  std::vector<uint8_t> state_;                // a's membership view of b
  std::vector<uint8_t> links_;                // symmetric
  std::vector<uint8_t> attempt_;              // a link_attempt is scheduled (at link_key)
  std::vector<uint64_t> link_epoch_;          // raised at every link down (at link_key)
  std::vector<Time> last_arrival_;            // FIFO per ordered pair
  std::vector<uint32_t> owned_by_;            // names a shows whose owner is on b
  std::map<size_t, std::vector<Item>> held_;  // messages waiting at a cut, per ordered pair
  size_t held_count_ = 0;

  std::vector<int> groups_;
  Time cut_at_{};
  uint64_t cut_epoch_ = 0;

  // what the tables show, from their events
  std::vector<uint64_t> fingerprint_;  // xor of every visible (name, owner)
  std::vector<size_t> visible_;        // names shown
  size_t alive_pairs_ = 0;
  size_t names_across_cut_ = 0;
  size_t failures_across_cut_ = 0;
  size_t pairs_across_cut_ = 0;

  NameTraffic traffic_;
  uint64_t links_made_ = 0;
  uint64_t links_closed_ = 0;
  std::vector<std::string> problems_;
};

}  // namespace otp::global_scale
