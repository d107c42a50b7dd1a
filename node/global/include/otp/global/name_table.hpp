// The replicated table of global names, as a pure state machine: a node's registrations and its
// peers' messages go in with the current time; messages to send and events to report come out.
// No sockets, threads or clock, so the same core runs under the node's driver and under the
// deterministic Simulator (simulator.hpp), as membership's core does.
//
// clang-format off
//   NameTable table(self_node_id);
//   RegisterOutcome r = table.register_name("counter", pid, R"({"zone":"eu"})", now());
//   if (r.status == RegisterStatus::already_registered) report(r.holder);
//   handle(r.output);
//   std::optional<Owner> o = table.whereis("counter");  // a local read: no message, no wait
//   if (o) send(o->pid, msg);                            // o stays valid after table changes
// clang-format on
//
// The driver's contract (all it must do; it needs nothing from the .cpp files):
//
// clang-format off
//   a link to node `p` comes up (transport nodeup): handle(table.on_link_up(p));
//   a message `m` arrives from `p`:                 handle(table.on_message(p, m, now()));
//   the link to `p` goes down, or membership says `p` failed or left:
//                                                   handle(table.on_nodedown(p));
//   a local process `pid` exits (any reason):       handle(table.process_exit(pid, now()));
//   handle(out): send each out.messages[i] in order, over the node links, in order with the
//     node's other messages to that peer (`to` empty: to every peer linked up, as peers() lists
//     them); report each out.events[i] (logs, name monitors). For an event of kind `conflict`
//     with local_loser set, send otp::NameConflict{name, winner} to the loser and exit it with a
//     shutdown-class reason: its name is already gone from this table and from the others.
//   on_link_up(p) must come before any message of p's run is given to on_message (messages from
//   a run not linked up are dropped); a new run of a node is linked up with on_link_up(new run)
//   whether or not the old run's nodedown came first. Calls are not thread-safe: one writer at a
//   time; readers (whereis) behind a read-mostly lock get the owner as a value and unlock.
// clang-format on
//
// now() is wall-clock time (system_clock, ms since the Unix epoch): stamps of different nodes are
// compared, so the clocks should be roughly in sync (NTP); the hybrid logical clock keeps
// causality exact whatever the skew, skew only shifts who counts as "earlier" between
// registrations that did not know of each other. Nothing a peer sends can crash the table: a
// message from a node not linked up (or from another run of it), or a claim not owned by its
// sender, is dropped and counted in stats().
//
// Semantics (as Erlang's docs would put them):
//
// * Each node is the authority for the names of its own processes. register_name checks this
// clang-format off
//   node's replica: if any process anywhere is known to hold the name, it fails with
//   already_registered naming that owner (pid and node); otherwise it records the name with a
//   new stamp and replicates it to every linked node. A process may hold several names.
// clang-format on
// * unregister_name is done on the owner's node; process_exit drops every name of the process.
// clang-format off
//   Both replicate a removal to every linked node. update_metadata, also on the owner's node,
//   replicates the claim with its new metadata and its registration stamp (so it neither wins
//   nor loses a conflict by it, unless a user resolver reads the metadata).
// clang-format on
// * Peers: a name goes away on every node when its process exits, when it is unregistered, when
// clang-format off
//   its node goes down or leaves (on_nodedown), and when a newer run of its node links up (a
//   restarted node never keeps its old incarnation's names). On every link up both sides send
//   each other a Sync of the names they own, which replaces whatever the receiver knew of the
//   sender's names: a joining node, or a partition that heals, converges with no re-registering.
// clang-format on
// * Conflicts: two nodes may claim one name (registered concurrently, or on both sides of a
// clang-format off
//   partition). Every node keeps every claim it hears of and shows one, the winner: the claim
//   with the earlier stamp, ties broken by the owner (node id, then pid), or the winner by the
//   user's resolver. Every node applies the same rule to the same claims and reaches the same
//   winner without a round of messages. The loser's own node removes the losing claim as soon as
//   it hears of the winner, replicates the removal, and reports `conflict` with local_loser set.
//   Until then other nodes hold the losing claim in reserve (never shown while the winner is
//   there): if the winner goes away before the loser's node heard of it, the loser's claim is
//   legitimately the owner, and every node already has it.
// clang-format on
// * Events on every node: `registered` when a name gets a (new) visible owner, `unregistered`
// clang-format off
//   when it loses it (a change of owner is an unregistered then a registered), `conflict` when
//   two claims meet, `updated` when the visible owner's metadata changes. name monitors
//   (monitor_name) are driven by registered / unregistered.
// clang-format on
// * Convergence: once every link is up and every message delivered, every node shows the same
//   table, each name has one claim, and that claim's process is alive on a node that is up.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "otp/global/hlc.hpp"
#include "otp/global/messages.hpp"
#include "otp/protocol/ids.hpp"

namespace otp::global {

// -- outputs ------------------------------------------------------------------------------------

/// A message for the driver to send.
struct Outgoing {
  std::optional<protocol::NodeId> to;  // empty: every peer linked up (peers())
  /// What to send.
  Message message;
};

/// What an Event reports (see Semantics above).
enum class EventKind : uint8_t {
  registered,    // `name` has a new visible owner, `owner` (with `metadata`)
  unregistered,  // `name` no longer has `owner` as its visible owner
  conflict,      // two claims on `name` met: `owner` lost to `winner`
  updated,       // the visible owner `owner` of `name` changed its metadata to `metadata`
};

/// "registered", "unregistered", "conflict", "updated"; "?" for another value.
const char* to_string(EventKind kind);

/// One change of the table as this node saw it.
struct Event {
  /// What happened.
  EventKind kind = EventKind::registered;
  /// The global name it happened to.
  std::string name;
  protocol::Pid owner{};   // registered / unregistered: that owner; conflict: the loser
  protocol::Pid winner{};  // conflict: the claim that keeps the name
  Metadata metadata{};     // registered: the name's metadata
  /// conflict: the loser is a process of this node. The driver sends it
  /// otp::NameConflict{name, winner} and exits it (its claim is already removed everywhere).
  bool local_loser = false;

  friend bool operator==(const Event&, const Event&) = default;
};

/// "registered counter <a@h#1.42>", "conflict counter <b@h#1.7> lost to <a@h#1.42> (local)":
/// for logs and tests.
std::ostream& operator<<(std::ostream& os, const Event& e);

/// What one step of the table produced: send these messages (in order), report these events.
struct Output {
  /// To send, in this order.
  std::vector<Outgoing> messages{};
  /// To report, in this order.
  std::vector<Event> events{};

  /// Nothing to send and nothing to report.
  bool empty() const { return messages.empty() && events.empty(); }
  /// Appends other's messages and events after this one's.
  void append(Output&& other);
};

/// How register_name went.
enum class RegisterStatus : uint8_t {
  ok,
  already_registered,  // holder: the owner this node knows of (holder.node: its node)
  not_local,           // the pid is not a process of this node: register on its own node
};

/// "ok", "already_registered", "not_local"; "?" for another value.
const char* to_string(RegisterStatus status);

/// What register_name returns.
struct RegisterOutcome {
  /// How it went.
  RegisterStatus status = RegisterStatus::ok;
  protocol::Pid holder{};  // ok: the pid registered; already_registered: the current owner
  /// What the driver must send and report (empty unless ok).
  Output output{};
};

/// How unregister_name and update_metadata went: both change a name this node must own.
enum class OwnerStatus : uint8_t {
  ok,
  not_registered,  // no owner known for the name
  not_owner,       // owned by another node's process (holder): change it on that node
};

/// "ok", "not_registered", "not_owner"; "?" for another value.
const char* to_string(OwnerStatus status);

/// What unregister_name and update_metadata return.
struct OwnerOutcome {
  /// How it went.
  OwnerStatus status = OwnerStatus::ok;
  protocol::Pid holder{};  // ok: the pid that holds (held) the name; not_owner: the owner
  /// What the driver must send and report (empty unless ok).
  Output output{};
};

/// What whereis returns: the visible owner of a name, as a value that outlives later changes.
struct Owner {
  /// The process that holds the name.
  protocol::Pid pid{};
  Stamp stamp{};  // when it registered, on its node's clock
  /// Never null (empty: no metadata); a copy of the table's, so copying the Owner copies no text.
  std::shared_ptr<const Metadata> metadata;

  friend bool operator==(const Owner& a, const Owner& b) {
    return a.pid == b.pid && a.stamp == b.stamp && *a.metadata == *b.metadata;
  }
};

/// Counters since construction.
struct Stats {
  /// Updates broadcast (one per change, whatever the number of peers).
  uint64_t updates_sent = 0;
  /// Syncs sent, one per link up.
  uint64_t syncs_sent = 0;
  /// Updates accepted from linked peers.
  uint64_t updates_received = 0;
  /// Syncs accepted from linked peers.
  uint64_t syncs_received = 0;
  uint64_t conflicts = 0;     // conflict events reported here
  uint64_t local_losses = 0;  // of which this node's process lost
  // dropped input, by reason
  uint64_t dropped_unlinked = 0;  // from a node not linked up, or another run of it
  uint64_t dropped_foreign = 0;   // claims not owned by their sender
};

// -- conflict resolution ------------------------------------------------------------------------

/// Whether claim `a` keeps the name over claim `b`. Must be a strict total order on claims
/// (never both a-over-b and b-over-a, transitive, never a-over-a) and the same function on every
/// node of the cluster: every node applies it to the same claims and must pick the same winner.
/// It may read names, owners, stamps and metadata, nothing else (no clock, no local state).
using Resolver = std::function<bool(const Claim& a, const Claim& b)>;

/// The default rule: the earlier stamp wins; equal stamps: the smaller owner (node id, then pid).
bool earlier_wins(const Claim& a, const Claim& b);

// -- the table ----------------------------------------------------------------------------------

/// One node's replica of the global name table (see above). Not thread-safe: one writer at a
/// time, readers behind the driver's lock.
class NameTable {
 public:
  /// self: this node's run (name@host and creation); resolver: see Resolver.
  explicit NameTable(protocol::NodeId self, Resolver resolver = earlier_wins);
  /// Movable, not copyable: the per-node indexes point into the table's own map.
  NameTable(NameTable&&) = default;
  NameTable& operator=(NameTable&&) = default;
  NameTable(const NameTable&) = delete;
  NameTable& operator=(const NameTable&) = delete;

  // -- this node's processes ------------------------------------------------------------------

  /// Registers `name` for `pid`, a process of this node (see the semantics above).
  RegisterOutcome register_name(std::string name, const protocol::Pid& pid, Metadata metadata,
                                Time now);
  /// Unregisters a name held by a process of this node.
  OwnerOutcome unregister_name(std::string_view name, Time now);
  /// Replaces the metadata of a name held by a process of this node, on every node. The claim
  /// keeps its registration stamp (who registered first does not change); `now` ticks the clock.
  OwnerOutcome update_metadata(std::string_view name, Metadata metadata, Time now);
  /// A process of this node exited: every name it held goes away (other nodes' pids: no-op,
  /// their own nodes report their exits).
  Output process_exit(protocol::Pid pid, Time now);

  // -- peers ----------------------------------------------------------------------------------

  /// The link to `peer` is up: sends it a Sync of this node's names. A run of the same node
  /// other than `peer` (an older creation) is gone: its names are dropped.
  Output on_link_up(const protocol::NodeId& peer);
  /// `peer` is down (link lost, failed or left): every name it owns is dropped.
  Output on_nodedown(const protocol::NodeId& peer);
  /// on_nodedown in parts, so that readers (and other writers) get the table between them: drops
  /// at most max_names of peer's names, in no particular order across parts; *done: none left.
  /// Call again until done, before any other input about peer (its next link up); inputs about
  /// other nodes and this node's processes may come in between (a name of peer not yet dropped
  /// is still held by it: a register elsewhere fails, a claim elsewhere meets it as a conflict).
  Output on_nodedown(const protocol::NodeId& peer, size_t max_names, bool* done);
  /// A message from `from` (the node at the other end of the link).
  Output on_message(const protocol::NodeId& from, const Message& message, Time now);
  /// on_message for an Update.
  Output on_update(const protocol::NodeId& from, const Update& update, Time now);
  /// on_message for a Sync.
  Output on_sync(const protocol::NodeId& from, const Sync& sync, Time now);
  /// on_sync, taking the claims' strings instead of copying them.
  Output on_sync(const protocol::NodeId& from, Sync&& sync, Time now);

  // -- reads ----------------------------------------------------------------------------------

  /// The visible owner of `name`, or nothing. A value, valid after the table changes: a reader
  /// behind the driver's lock copies it out and unlocks. One hash lookup; copies the owner's
  /// NodeId (two short strings) and the metadata, if any (owner_pid copies no metadata).
  std::optional<Owner> whereis(std::string_view name) const;
  /// whereis, the owner's pid only (the call path: no metadata).
  std::optional<protocol::Pid> owner_pid(std::string_view name) const;
  /// Names with an owner, sorted.
  std::vector<std::string> registered_names() const;
  /// Every visible claim (one per name), sorted by name: the table as users see it.
  std::vector<Claim> snapshot() const;
  /// Every claim held for `name`, the visible one first (losers waiting for their node's
  /// removal follow it).
  std::vector<Claim> claims(std::string_view name) const;
  /// Names with an owner.
  size_t size() const { return names_.size(); }
  /// Claims held, visible or not.
  size_t claim_count() const { return claim_count_; }
  /// Claims held by this node's processes (visible or not).
  size_t local_claim_count() const { return nodes_[kSelf].names.size(); }
  /// Nodes this table holds an id for: itself and every node with a claim in it.
  size_t known_nodes() const { return node_refs_.size(); }
  /// Peers linked up, sorted.
  std::vector<protocol::NodeId> peers() const;
  /// This node run, as given to the constructor.
  const protocol::NodeId& self() const { return nodes_[kSelf].id; }
  /// Counters since construction.
  const Stats& stats() const { return stats_; }
  /// The clock's last stamp.
  const Stamp& clock() const { return clock_.last(); }

 private:
  // Memory: a replica holds every name of the cluster, so a claim is stored compactly (the
  // owner's node as an index into nodes_, where its NodeId is kept once; metadata shared, null
  // when empty) and a name's string once (the key of names_; the per-node indexes point at the
  // map's elements, which never move).

  /// An index into nodes_.
  using NodeRef = uint32_t;
  static constexpr NodeRef kSelf = 0;

  /// One claim as stored: 32 bytes (a name's map node is then 80: an allocator size class).
  struct Held {
    uint64_t pid = 0;  // the owner's pid id (its node: `node`)
    uint64_t physical_ms = 0;
    uint32_t logical = 0;
    NodeRef node = kSelf;
    std::unique_ptr<const Metadata> metadata;  // null: none

    Stamp stamp() const { return Stamp{physical_ms, logical}; }
  };

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  /// Every claim on one name, claims[0] the winner (the visible one). It is kept inline: almost
  /// every name has one claim, so the others (losers held in reserve) get an allocation of their
  /// own only while a conflict lasts. Never empty while in the table.
  class Claims {
   public:
    explicit Claims(Held first) : first_(std::move(first)) {}
    size_t size() const { return 1 + (reserve_ ? reserve_->size() : 0); }
    Held& operator[](size_t i) { return i == 0 ? first_ : (*reserve_)[i - 1]; }
    const Held& operator[](size_t i) const { return i == 0 ? first_ : (*reserve_)[i - 1]; }
    Held& front() { return first_; }
    const Held& front() const { return first_; }
    void push_back(Held held);
    /// Removes claims[i] (size() > 1); the order of the others may change.
    void erase(size_t i);
    /// The index of the claim held by `node`, or size().
    size_t find(NodeRef node) const;

   private:
    Held first_;
    std::unique_ptr<std::vector<Held>> reserve_;
  };

  using NameMap = std::unordered_map<std::string, Claims, StringHash, std::equal_to<>>;
  using Slot = NameMap::value_type;

  /// A node run the table knows of: itself, or the owner of a claim it holds.
  struct KnownNode {
    protocol::NodeId id;
    std::unordered_set<Slot*> names;  // the names it claims: nodedown and sync work per node
  };

  std::optional<NodeRef> find_node(const protocol::NodeId& node) const;
  NodeRef intern(const protocol::NodeId& node);
  /// Forgets a node other than self once it claims nothing.
  void release_if_unused(NodeRef node);
  protocol::Pid pid_of(const Held& held) const { return {nodes_[held.node].id, held.pid}; }
  Claim claim_of(const Slot& slot, const Held& held) const;
  Event event(EventKind kind, const Slot& slot, const Held& held) const;
  bool beats(const Slot& slot, const Held& a, const Held& b) const;
  bool linked(const protocol::NodeId& node) const;
  const Held* held_by(std::string_view name, NodeRef node) const;
  void add_claim(Claim claim, Time now, Output& out);
  /// A claim already held changed its metadata: same owner, same stamp.
  void change_metadata(Slot& slot, size_t index, std::unique_ptr<const Metadata> metadata, Time now,
                       Output& out);
  /// claims[index] beats the visible claim of slot: it becomes visible (the conflict's events;
  /// a local loser is removed and its removal replicated).
  void promote(Slot& slot, size_t index, Time now, Output& out);
  /// Removes node's claim on name (if it holds one); true if it did.
  bool remove_claim(std::string_view name, NodeRef node, Output& out);
  /// Removes node's claim from the name `it` points to (it holds one), without touching node's
  /// index of names.
  void remove_held(NameMap::iterator it, NodeRef node, Output& out);
  /// Removes node's claims on the names of `slots`.
  void remove_all(NodeRef node, std::vector<Slot*> slots, Output& out);
  void drop_node(const protocol::NodeId& node, Output& out);
  void drop_local(const std::string& name, const protocol::Pid& pid, Stamp stamp, Output& out);
  void forget_local(const std::string& name, uint64_t pid);
  void broadcast(Update update, Output& out);

  Resolver resolver_;
  Hlc clock_;
  NameMap names_;
  /// Every node run the table knows of, by NodeRef; nodes_[kSelf] is this node. A slot freed by
  /// release_if_unused (listed in free_nodes_) is reused.
  std::vector<KnownNode> nodes_;
  std::unordered_map<protocol::NodeId, NodeRef> node_refs_;
  std::vector<NodeRef> free_nodes_;
  /// The names each local process holds, by pid id: process_exit.
  std::unordered_map<uint64_t, std::vector<std::string>> by_local_pid_;
  /// Peers linked up, by full name ("name@host"): the run each link is to.
  std::unordered_map<std::string, protocol::NodeId> links_;
  size_t claim_count_ = 0;
  Stats stats_;
};

}  // namespace otp::global
