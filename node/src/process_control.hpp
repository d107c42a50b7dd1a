// Private: the process control block. Every process (a ServerActor running a GenServer, or an
// Inbox owned by an outside thread) has one; a Pid points to it. It holds what other processes
// touch directly, under its own mutex, so that links and monitors are set up atomically without
// a message round trip (as the BEAM does): the alive flag, the link set, the monitors watching
// this process, and the local names it holds.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "envelope.hpp"
#include "otp/detail/runtime_access.hpp"
#include "otp/pid.hpp"
#include "otp/reason.hpp"

namespace otp {
// The runtime reaches Pid/Node/From/Action internals through this door (see its header).
using detail::RuntimeAccess;
}  // namespace otp

namespace otp::detail {

class NodeCore;

/// The processes linked to one process. Most processes have one or two links (a supervisor's
/// child: its parent), so the first two sit in the control block and cost no allocation; the
/// rest (a supervisor's children) go to a hash set.
class LinkSet {
 public:
  /// False if pid was in the set already.
  bool insert(const Pid& pid);
  /// True if pid was in the set (and is no more).
  bool erase(const Pid& pid);
  size_t size() const;
  template <class F>
  void for_each(F&& f) const {
    for (const auto& p : inline_)
      if (p) f(p);
    for (const auto& p : more_) f(p);
  }

 private:
  std::array<Pid, 2> inline_;  // an invalid pid marks a free slot
  std::unordered_set<Pid> more_;
};

class Process : public Endpoint, public std::enable_shared_from_this<Process> {
 public:
  Process(NodeCore* node, uint64_t id);
  /// A process of another node (RemoteProcess): node_serial names that node's incarnation.
  Process(NodeCore* node, uint64_t id, uint32_t node_serial);

  uint64_t id() const { return id_; }
  uint32_t node_serial() const { return node_serial_; }
  NodeCore* node() const { return node_; }
  bool alive() const { return alive_.load(std::memory_order_acquire); }
  Pid pid() { return Pid(shared_from_this()); }
  /// A short description for logs ("Counter").
  std::string label;
  /// Started with a link to a parent (supervisor or start_link caller inside a process).
  bool has_parent = false;

  /// A proxy for a process on another node (see distribution.hpp); everything else is local.
  virtual bool is_remote() const { return false; }
  /// Local: alive(). Remote: its node is connected as this incarnation.
  virtual bool reachable() const { return alive(); }

  /// Adds a monitor watching this process. Returns false (and delivers nothing) when this
  /// process is already dead: the caller then reports noproc itself.
  virtual bool add_monitor(Ref ref, std::shared_ptr<Endpoint> watcher);
  virtual void remove_monitor(Ref ref);

  /// A gen_server call: delivers `call` (kind call, ref = tag) with reply_to watching this
  /// process under tag, so that reply_to gets the reply, or a Down if the process dies first.
  /// False when the process is dead (nothing delivered). end_call(tag) once answered.
  virtual bool begin_call(Envelope&& call);
  virtual void end_call(Ref tag) { remove_monitor(tag); }

  /// Links a and b (a is local). If b is dead, a gets an exit signal with reason noproc.
  static void link(Process& a, Process& b);
  /// Links a local parent and a child that no other thread can see yet (not in the process
  /// table, its pid not given out): only the parent needs its lock.
  static void link_new_child(Process& parent, Process& child);
  static void unlink(Process& a, Process& b);
  /// Called when a link exit signal from `other` arrives: true if the link still existed (and
  /// removes it), false if it was unlinked meanwhile (the signal must then be dropped).
  bool take_link(const Pid& other);
  /// A remote process linked itself to this one: true if this one is alive (link recorded).
  bool accept_link(const Pid& remote);

  void add_name(const std::string& name);
  /// The processes linked to this one right now.
  std::vector<Pid> linked_pids();

  /// Marks the process dead and sends every monitor its Down and every link its exit signal.
  /// Idempotent.
  void exit(const Reason& reason);

 protected:
  virtual void on_dead() {}
  /// For placeholders of processes that are gone (a pid of this node that arrived from the wire).
  void set_dead() { alive_.store(false, std::memory_order_release); }
  /// Remote only: the link half that lives on the other node.
  virtual void link_remote(Process& /*local*/) {}
  virtual void unlink_remote(Process& /*local*/) {}

 private:
  NodeCore* node_;
  uint64_t id_;
  uint32_t node_serial_;
  std::atomic<bool> alive_{true};
  std::mutex mx_;
  LinkSet links_;
  std::vector<std::pair<Ref, std::shared_ptr<Endpoint>>> monitors_;
  std::vector<std::string> names_;
};

}  // namespace otp::detail
