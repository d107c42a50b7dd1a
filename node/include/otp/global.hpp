// Global names: call a process by name on whichever node of the cluster it lives (Erlang's
// `global`, `{global, Name}` and `{via, global, Name}`). Every distributed node keeps a replica of
// the cluster's name table; a name registered on one node is replicated to every connected node.
//
// clang-format off
//   // on any node: start the counter under a global name (fails with already_started if taken)
//   otp::gen_server::start_link<Counter>(node, otp::name(otp::global_name("counter")), 0);
//   // on every node: call it by name, wherever it runs
//   int n = otp::gen_server::call<int>(node, otp::global_name("counter"), Get{}).value();
//   otp::global::register_name(node, "db", pid, R"({"zone":"eu"})");   // with metadata
//   std::optional<otp::Pid> p = otp::global::whereis_name(node, "db");  // a local read
//   otp::global::monitor_name(node, watcher, "counter");  // GlobalNameChanged messages
//   otp::gen_server::call<int>(node, otp::via(otp::global::registry(node), "counter"), Get{});
// clang-format on
//
// Semantics (the node's distribution must be attached: otp::cluster::Cluster does it; on a node
// that is not distributed every function fails with noproc / returns nothing):
// * Each node is the authority for the names of its own processes. register_name checks this
//   node's replica: a name known to be held anywhere fails with already_registered naming the
//   owner and its node; otherwise the name is recorded and replicated to every connected node, in
//   order with this node's other messages to that node (a link that refuses one, its peer 64 MiB
//   behind, is closed and made anew, and the sync of the new link brings the peer up to date).
//   whereis_name is a local read: no message,
//   no lock held by writers for long. Only the owner's node changes a name (unregister_name,
//   update_metadata on another node fail with not_owner).
// * A name goes away on every node when its process exits (any reason), when it is unregistered,
//   and when its node goes down or leaves (the link closes: nodedown, or membership declares it
//   failed or left). A restarted node (new creation) never keeps its old incarnation's names.
// * On every link up the two nodes exchange the names they own, so a node that joins, or a
//   partition that heals, converges without anyone registering again.
// * Conflicts (the same name registered on two nodes concurrently, or on both sides of a
//   partition) are resolved by one deterministic rule every node applies to the same claims: the
//   earlier registration by hybrid-logical-clock stamp wins, ties by node, then pid (a user
//   resolver may be given to the Cluster instead). The loser's node sends the losing process
//   otp::NameConflict{name, winner}, then exits it with reason {shutdown, name_conflict}
//   (otp::name_conflict_reason()). A supervisor does not restart a child that exited so, whatever
//   its restart type, and does not count it towards its restart intensity: the name lives on in
//   the winner, and a restarted child could only fail to start (see supervisor.hpp).
// * Calls through a global name resolve the name at each use: a name with no owner fails at once
//   with noproc naming the name; a call to an owner whose node goes down fails at once with
//   nodedown. Nothing waits for a timeout to learn what the registry already knows.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "otp/error.hpp"
#include "otp/global/name_table.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/reason.hpp"
#include "otp/server_ref.hpp"

namespace otp {

/// The message a process gets when it loses its global name in a conflict, just before it is
/// exited with name_conflict_reason(): `winner` holds `name` now.
struct NameConflict {
  std::string name;
  Pid winner;
};

/// {shutdown, name_conflict}: the reason a conflict's loser exits with (a clean exit: links of
/// processes that do not trap exits ignore it, transient children are not restarted).
inline Reason name_conflict_reason() {
  return Reason::shutdown("name_conflict");
}
/// Whether a process exited because it lost a global name conflict.
inline bool is_name_conflict(const Reason& reason) {
  return reason.kind() == Reason::Kind::shutdown && reason.detail() == "name_conflict";
}

/// What monitor_name sends: `name` got an owner (owner set, with its metadata) or lost it.
struct GlobalNameChanged {
  std::string name;
  std::optional<Pid> owner;  // empty: the name has no owner now
  std::string metadata;      // the owner's metadata ("" for none)
};

/// What monitor_names sends: one change of this node's replica of the table.
struct GlobalEvent {
  enum class Kind {
    registered,    // `name` got the owner `owner` (with `metadata`)
    unregistered,  // `name` no longer has the owner `owner`
    conflict,      // two registrations of `name` met: `owner` lost to `winner`
  };
  Kind kind = Kind::registered;
  std::string name;
  Pid owner;
  Pid winner;            // conflict only
  std::string metadata;  // registered only
};

/// "registered", "unregistered", "conflict".
const char* to_string(GlobalEvent::Kind kind);

/// The owner of a global name as lookup returns it.
struct GlobalOwner {
  Pid pid;
  std::string metadata;  // "" for none
};

/// A node's global name registry, as the runtime implements it (otp::global below is the user's
/// API; this is the object otp::via and the distribution use). It is also an otp::ViaRegistry:
/// otp::via(otp::global::registry(node), "counter") is the same as otp::global_name("counter").
class GlobalRegistry : public ViaRegistry {
 public:
  /// See otp::global::register_name.
  virtual Result<void> add(std::string name, const Pid& pid, std::string metadata) = 0;
  /// See otp::global::unregister_name.
  virtual Result<void> remove(std::string_view name) = 0;
  /// See otp::global::update_metadata.
  virtual Result<void> set_metadata(std::string_view name, std::string metadata) = 0;
  /// See otp::global::lookup.
  virtual std::optional<GlobalOwner> find(std::string_view name) = 0;
  /// See otp::global::registered_names.
  virtual std::vector<std::string> names() = 0;
  /// See otp::global::monitor_name.
  virtual Ref monitor(const Pid& watcher, std::string name) = 0;
  /// See otp::global::monitor_names.
  virtual Ref monitor_all(const Pid& watcher) = 0;
  /// See otp::global::demonitor_name.
  virtual void demonitor(Ref ref) = 0;

  // -- ViaRegistry --
  // Global names are strings: a key of another type fails register_name with badarg and is
  // never found.
  /// add(key, pid, ""), failing with already_started (OTP's start_link contract) when taken.
  Result<void> register_name(const RegistryKey& key, const Pid& pid) override;
  /// remove(key), ignoring errors.
  void unregister_name(const RegistryKey& key) override;
  /// find(key)'s pid.
  std::optional<Pid> whereis_name(const RegistryKey& key) override;
  /// "global".
  std::string describe() const override { return "global"; }
};

namespace global {

/// Registers `name` for `pid`, a process of this node, with optional metadata (a small JSON
/// value, serialized; replicated with the name and returned by lookup). Fails with
/// already_registered (the context names the owner and its node), noproc (pid is dead, or the
/// node is not distributed), badarg (pid is another node's: register it there; an empty name; a
/// name and metadata of more than 64 KiB together).
Result<void> register_name(Node& node, std::string name, const Pid& pid, std::string metadata = {});
/// Unregisters a name held by a process of this node. not_found: no owner; not_owner: held by
/// another node's process (unregister it there).
Result<void> unregister_name(Node& node, std::string_view name);
/// Replaces the metadata of a name held by a process of this node, on every node (errors as
/// unregister_name; badarg beyond 64 KiB with the name).
Result<void> update_metadata(Node& node, std::string_view name, std::string metadata);
/// The owner of `name` as this node's replica knows it, or nothing.
std::optional<Pid> whereis_name(Node& node, std::string_view name);
/// The owner and its metadata, or nothing.
std::optional<GlobalOwner> lookup(Node& node, std::string_view name);
/// Every name with an owner, sorted.
std::vector<std::string> registered_names(Node& node);
/// Tells `watcher` about `name` with GlobalNameChanged messages: one at once with the current
/// owner (or none), then one each time the name gets or loses an owner (a change of owner is a
/// loss then a gain), until demonitor_name or the watcher exits. For standbys: a process that
/// registers the name when it has no owner. An invalid ref (never delivers) when the node is
/// not distributed.
Ref monitor_name(Node& node, const Pid& watcher, std::string name);
/// Tells `watcher` of every later change of this node's replica (names registered, unregistered,
/// conflicts) with GlobalEvent messages, in the order they happened, until demonitor_name or the
/// watcher exits. For logs and tools (otp-node prints them).
Ref monitor_names(Node& node, const Pid& watcher);
/// Ends a monitor of monitor_name or monitor_names: nothing for it is sent afterwards.
void demonitor_name(Node& node, Ref ref);
/// What this node's replica of the name table holds and has counted, for metrics.
struct RegistryStats {
  size_t names = 0;        // names with an owner, cluster-wide, as this replica knows them
  size_t local_names = 0;  // claims held by this node's processes
  Stats counters{};        // updates, syncs, conflicts, dropped input (otp/global/name_table.hpp)
};
/// The replica's sizes and counters; zeros when the node is not distributed.
RegistryStats stats(Node& node);

/// The node's registry as an otp::ViaRegistry (for otp::via), or null when not distributed.
std::shared_ptr<GlobalRegistry> registry(Node& node);

}  // namespace global
}  // namespace otp
