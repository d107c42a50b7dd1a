// Private: what a Node owns — the CAF actor system, the process table, the local name table, the
// timer service — and the ordered shutdown.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>  // the actor system is held by pointer; node_core.cpp builds it

#include "blocking_pool.hpp"
#include "otp/node.hpp"
#include "process_control.hpp"
#include "timer_service.hpp"

namespace otp::detail {

class Distribution;

/// What the processes run by one thread handled for one node (Node::stats()). Each thread writes
/// only its own block, with a relaxed load and store (no read-modify-write, no shared cache
/// line): the call path costs ~1 ns more, where one counter shared by every worker would cost a
/// cache-line transfer per message.
struct alignas(64) WorkerCounters {
  std::atomic<uint64_t> messages{0};
  std::atomic<uint64_t> calls{0};

  static void bump(std::atomic<uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
};

/// Serials name node incarnations in pids: local Nodes and, through the distribution, the other
/// nodes this OS process talks to. Unique within the OS process.
uint32_t next_node_serial();

class NodeCore {
 public:
  NodeCore(Node& owner, NodeOptions config);
  Node& owner() { return owner_; }
  ~NodeCore();

  const NodeOptions& config() const { return config_; }
  uint32_t serial() const { return serial_; }
  caf::actor_system& system() { return *system_; }
  TimerService& timers() { return timers_; }
  Distribution& distribution() { return *distribution_; }
  BlockingPool& blocking_pool() { return pool_; }
  bool shutting_down() const { return shutting_down_.load(std::memory_order_acquire); }

  uint64_t next_process_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  void add_process(std::shared_ptr<Process> p);
  /// The live process with this id, or nullptr.
  std::shared_ptr<Process> find_process(uint64_t id) const;
  void remove_process(uint64_t id);
  size_t process_count() const;

  Result<void> register_name(const std::string& name, const Pid& pid);
  /// Removes name only if it still maps to process id (0 = whoever holds it).
  void unregister_name(const std::string& name, uint64_t id = 0);
  std::optional<Pid> whereis(const std::string& name) const;

  /// Named node-wide objects that are not processes (registries, tables): "registry:X".
  Result<void> put_resource(const std::string& key, std::shared_ptr<void> object);
  std::shared_ptr<void> get_resource(const std::string& key) const;
  /// Removes key only if it still maps to object.
  void erase_resource(const std::string& key, const void* object);

  void shutdown();

  /// This thread's counters for this node (registered on its first use by the thread).
  WorkerCounters& worker_counters() {
    thread_local uint32_t t_serial = 0;
    thread_local WorkerCounters* t_counters = nullptr;
    if (t_serial != serial_) {
      t_counters = &register_worker();
      t_serial = serial_;
    }
    return *t_counters;
  }
  /// Every thread's counters summed: (messages, calls).
  std::pair<uint64_t, uint64_t> handled() const;
  /// Jobs waiting in the scheduler's queues (NodeStats::run_queue); 0 once shut down.
  size_t run_queue() const;

  /// One line to NodeOptions::log, else to stderr: "[node] level: text".
  void log(const char* level, const std::string& text) const;

 private:
  Node& owner_;
  NodeOptions config_;
  uint32_t serial_;
  std::unique_ptr<caf::actor_system_config> caf_config_;  // outlives system_ (declared first)
  std::unique_ptr<caf::actor_system> system_;
  /// The scheduler while system_ runs: run_queue() reads it under the shared lock, shutdown()
  /// clears it under the exclusive one before system_ goes.
  mutable std::shared_mutex scheduler_mx_;
  caf::scheduler::abstract_coordinator* scheduler_ = nullptr;
  TimerService timers_;
  BlockingPool pool_;
  std::unique_ptr<Distribution> distribution_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> shutting_down_{false};
  bool shut_down_ = false;
  std::mutex shutdown_mx_;

  mutable std::mutex table_mx_;
  std::condition_variable table_cv_;
  std::unordered_map<uint64_t, std::shared_ptr<Process>> table_;

  mutable std::mutex resources_mx_;
  std::unordered_map<std::string, std::shared_ptr<void>> resources_;

  WorkerCounters& register_worker();
  mutable std::mutex workers_mx_;
  /// One block per thread that ran a handler of this node (found again by thread id when a
  /// thread alternates between nodes), never freed before the node.
  std::vector<std::pair<std::thread::id, std::unique_ptr<WorkerCounters>>> workers_;

  mutable std::shared_mutex names_mx_;
  std::unordered_map<std::string, Pid> names_;
};

}  // namespace otp::detail
