// Private: the node's global name registry (otp/global.hpp), the driver of the pure name table
// (otp/global/name_table.hpp). Distribution hands it the transport's events (link up, link down,
// NameUpdate / NameSync messages) and it watches the local processes that hold names (an
// Endpoint monitoring each), so every input of the table arrives here, in order per peer.
//
// Locks: writers (registrations, exits, peer messages) take writer_mx_ and, while the table
// changes, the read-mostly lock; readers (whereis, every call through a global name) take only
// the read-mostly lock, for one hash lookup. The table's output is sent while writer_mx_ is held,
// so each peer gets this node's changes in the order they were made, and name monitors see
// changes in table order; stopping the losers of conflicts (which re-enters through their exit)
// happens after writer_mx_ is released.
//
// whereis keeps the owners it resolved last in a small cache per thread, valid while the table's
// generation (bumped by every change) is the one they were read at: a call by global name in a
// loop then costs a hash and a compare, not the lock, the lookup and building a remote pid.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "envelope.hpp"
#include "otp/detail/read_mostly_lock.hpp"
#include "otp/global.hpp"
#include "otp/global/name_table.hpp"
#include "otp/protocol/message.hpp"

namespace otp::detail {

class Distribution;

class NodeGlobalRegistry final : public GlobalRegistry,
                                 public Endpoint,
                                 public std::enable_shared_from_this<NodeGlobalRegistry> {
 public:
  NodeGlobalRegistry(Distribution& distribution, protocol::NodeId self, global::Resolver resolver);

  // -- GlobalRegistry (the user's API) --
  Result<void> add(std::string name, const Pid& pid, std::string metadata) override;
  Result<void> remove(std::string_view name) override;
  Result<void> set_metadata(std::string_view name, std::string metadata) override;
  std::optional<GlobalOwner> find(std::string_view name) override;
  std::vector<std::string> names() override;
  Ref monitor(const Pid& watcher, std::string name) override;
  Ref monitor_all(const Pid& watcher) override;
  void demonitor(Ref ref) override;

  /// The owner's pid only (the call path: no metadata copied).
  std::optional<Pid> whereis(std::string_view name);

  // -- from Distribution (transport events, in order per peer) --
  void link_up(const protocol::NodeId& peer);
  void link_down(const protocol::NodeId& peer);
  void receive(const protocol::NodeId& peer, protocol::NameUpdate&& update);
  void receive(const protocol::NodeId& peer, protocol::NameSync&& sync);

  /// Endpoint: a watched local process exited (a down envelope).
  void deliver(Envelope&& e, bool urgent) override;

  /// The table's sizes and counters.
  global::RegistryStats stats();

 private:
  struct NameMonitor {
    Ref ref;
    Pid watcher;
  };
  /// What to do once writer_mx_ is released: stop the losers of conflicts.
  struct Deferred {
    std::vector<Pid> losers;
  };

  static global::Time now();
  /// Applies fn to the table with the read lock held exclusively; returns what fn returns.
  template <class F>
  auto change(F&& fn);
  /// Sends the output's messages and reports its events. Holds writer_mx_.
  void handle(global::Output&& out, Deferred& deferred);
  void send(const protocol::NodeId& to, const global::Message& message);
  void send_sync(const protocol::NodeId& to, const global::Sync& sync);
  /// A message to `to` was refused: logs it, and closes an overloaded link (see the .cpp).
  void not_sent(const protocol::NodeId& to, const char* what, SendError why);
  void report(const global::Event& event, Deferred& deferred);
  void notify(const std::string& name, const std::optional<global::Owner>& owner);
  void notify_all(GlobalEvent event);
  void finish(Deferred&& deferred);
  /// Watches pid's exit (once per pid); false when it is dead. Holds writer_mx_.
  bool watch(const Pid& pid);
  Pid pid_of(const protocol::Pid& pid);
  std::string describe_owner(const protocol::Pid& pid);
  void log(const char* level, const std::string& text);

  /// Whereis by the table; *generation: the generation it was read at.
  std::optional<Pid> resolve(std::string_view name, uint64_t* generation);

  Distribution& distribution_;
  const protocol::NodeId self_;
  /// This registry among all registries of the process (keys the per-thread whereis cache).
  const uint64_t serial_;
  /// Bumped under the exclusive read lock by every change of the table.
  std::atomic<uint64_t> generation_{0};

  std::mutex writer_mx_;
  ReadMostlyLock read_lock_;
  global::NameTable table_;  // written under both locks, read under either

  // Under writer_mx_:
  std::unordered_map<uint64_t, Ref> watched_;  // local pid id -> the monitor on it
  std::unordered_map<std::string, std::vector<NameMonitor>> monitors_;
  std::unordered_map<uint64_t, std::string> monitor_names_;  // ref value -> name
  std::vector<NameMonitor> all_monitors_;                    // monitor_all
  /// Parts of a NameSync received so far, per peer run, until its last part.
  std::unordered_map<protocol::NodeId, std::vector<global::Claim>> partial_syncs_;
};

}  // namespace otp::detail
