// otp::Node: one node's OTP runtime. It owns the CAF actor system (the scheduler threads every
// process runs on), the process table, the local name table and the timer service.
//
// clang-format off
//   otp::Node node({.name = "app", .scheduler_threads = 2});
//   auto sup = otp::supervisor::start_link(node, children, {.strategy = ...}).value();
//   ...
//   node.shutdown();   // or let the destructor do it
// clang-format on
//
// Shutdown is ordered and bounded: every process started without a parent gets a stop request
// (shutdown) in reverse start order, so supervision trees stop their children in reverse order
// and terminate callbacks run; whatever is still alive after `shutdown_timeout` is killed. A
// handler that never returns is the one thing that can not be interrupted (handlers are never
// preempted): keep handlers short.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "otp/error.hpp"
#include "otp/pid.hpp"

namespace otp {

namespace detail {
class NodeCore;
struct RuntimeAccess;
}  // namespace detail

/// How a Node is set up (designated initializers: `{.name = "app", .scheduler_threads = 2}`).
struct NodeOptions {
  /// The node's name, used in logs (and, with the cluster layer, as name@host).
  std::string name = "node";
  /// CAF scheduler (worker) threads; 0 = one per hardware thread. Handlers run on these threads
  /// and must never block them.
  size_t scheduler_threads = 0;
  /// How long an idle scheduler thread keeps looking for work before it sleeps (one thread per
  /// node at a time). Waking a sleeping thread costs far more than that on most machines, so
  /// messages that arrive within this window (a reply, the next request, a network frame) are
  /// picked up at once. 0 = sleep at once (lowest CPU use when idle).
  std::chrono::microseconds scheduler_spin{100};
  /// How long shutdown waits for processes to stop cleanly before killing the rest.
  std::chrono::milliseconds shutdown_timeout{10'000};
  /// Log process crashes and supervisor reports (Erlang's error_logger).
  bool log_crashes = true;
  /// Where the node's own lines go: process crash and supervisor reports, the global name
  /// registry's and the distribution's warnings. Called with a level ("error", "warning",
  /// "info") and the text, from any thread, possibly concurrently. Empty: stderr, as
  /// "[name] level: text". otp-node routes them through its --log-format.
  std::function<void(std::string_view level, std::string_view text)> log = {};
};

/// What a node counts about itself (Node::stats()), for metrics and operators.
struct NodeStats {
  size_t processes = 0;  // live processes now
  /// Envelopes processes took from their mailboxes since start: messages, calls, replies, exit
  /// signals and monitor notices.
  uint64_t messages_handled = 0;
  uint64_t calls_handled = 0;  // handle_call invocations since start
  /// The run queue now: processes (and timers, tasks) ready to run and waiting for a scheduler
  /// thread, as Erlang's statistics(run_queue). Those running now are not counted; a queue that
  /// stays above zero means the scheduler threads can not keep up.
  size_t run_queue = 0;
};

/// One node: start it, start processes on it, shut it down (or let the destructor do it).
class Node {
 public:
  /// Starts the scheduler threads. Several Nodes may live in one OS process (tests do).
  explicit Node(NodeOptions config = {});
  /// shutdown().
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// NodeOptions::name.
  const std::string& name() const;
  /// A number unique to this Node object within the OS process; it is the first part of a pid.
  uint32_t serial() const;
  /// The scheduler threads actually running (NodeOptions's 0 resolved to the hardware's count).
  size_t scheduler_threads() const;

  /// Registers pid under a local name; fails with already_started naming the owner.
  Result<void> register_name(const std::string& name, const Pid& pid);
  /// Removes a local name (nothing if it is not registered).
  void unregister_name(const std::string& name);
  /// The pid registered under name, or nullopt.
  std::optional<Pid> whereis(const std::string& name) const;

  /// Number of live processes on this node.
  size_t process_count() const;
  /// Processes, messages and calls handled (see NodeStats). Thread-safe; the counts of the
  /// handlers running meanwhile may or may not be in it.
  NodeStats stats() const;

  /// Stops every process (see above) and the actor system. Idempotent; the destructor calls it.
  void shutdown();

 private:
  friend struct detail::RuntimeAccess;  // the runtime's core
  std::unique_ptr<detail::NodeCore> core_;
};

}  // namespace otp
