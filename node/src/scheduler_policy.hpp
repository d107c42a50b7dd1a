// Private: how a Node's CAF worker threads find work and wait for it (the scheduler policy that
// NodeCore loads in place of CAF's work stealing).
//
// CAF 0.17's work stealing hands every job that comes from outside the actor system (a call from
// main, a frame from the network, a timer) to the next worker in round robin, and an idle worker
// polls ~100 times before it sleeps on a condition variable. Waking a sleeping thread costs 5-40 us
// on a virtual machine (the idle vCPU is halted), so most outside messages paid a wake-up even
// when another worker had just gone idle. This policy keeps what CAF does for jobs between actors
// (a worker's own queue, stealing from the others) and changes the waiting:
//  - after it ran out of work, one worker at a time spins for a short while (spin_for) before it
//    parks, like Erlang's scheduler busy-wait; at most one per node, so an idle node burns at most
//    one core for spin_for after each burst, and other threads on the core get yields;
//  - a job from outside goes to the spinning worker if there is one (no system call), else round
//    robin to a parked one, which is woken;
//  - a job that a worker thread enqueues through the coordinator (outside a handler's context)
//    stays on that worker's own queue, as actor-to-actor jobs do;
//  - parked workers wake at least every park_for to steal work queued on a busy worker.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

#include <caf/policy/unprofiled.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/scheduler/worker.hpp>

namespace otp::detail {

/// How long the spinning worker looks for work before it parks (NodeOptions::scheduler_spin, passed
/// by NodeCore through CAF's config), and how long a parked worker sleeps before it looks for work
/// to steal.
struct SchedulerTiming {
  std::chrono::microseconds spin_for{100};
  std::chrono::microseconds park_for{1000};
};

/// A worker's jobs: a ring buffer under a spin lock. CAF's double_ended_queue allocates a node
/// per job, i.e. per message that wakes a process; this allocates only when it grows. The owner
/// takes from the front, thieves from the back.
class JobQueue {
 public:
  JobQueue() : ring_(64) {}
  void push_front(caf::resumable* job) {
    lock();
    size_t n = size_.load(std::memory_order_relaxed);
    if (n == ring_.size()) grow();
    head_ = (head_ + ring_.size() - 1) & (ring_.size() - 1);
    ring_[head_] = job;
    size_.store(n + 1, std::memory_order_relaxed);
    unlock();
  }
  void push_back(caf::resumable* job) {
    lock();
    size_t n = size_.load(std::memory_order_relaxed);
    if (n == ring_.size()) grow();
    ring_[(head_ + n) & (ring_.size() - 1)] = job;
    size_.store(n + 1, std::memory_order_relaxed);
    unlock();
  }
  /// Jobs queued now (a moment's reading: workers add and take jobs meanwhile).
  size_t size() const { return size_.load(std::memory_order_relaxed); }
  caf::resumable* pop_front() { return pop(true); }
  caf::resumable* pop_back() { return pop(false); }

 private:
  caf::resumable* pop(bool front) {
    // An empty queue (the common case for a polling worker) is seen without taking the lock.
    if (size_.load(std::memory_order_relaxed) == 0) return nullptr;
    lock();
    size_t n = size_.load(std::memory_order_relaxed);
    caf::resumable* job = nullptr;
    if (n > 0) {
      const size_t mask = ring_.size() - 1;
      if (front) {
        job = ring_[head_];
        head_ = (head_ + 1) & mask;
      } else {
        job = ring_[(head_ + n - 1) & mask];
      }
      size_.store(n - 1, std::memory_order_relaxed);
    }
    unlock();
    return job;
  }
  void grow() {
    std::vector<caf::resumable*> bigger(ring_.size() * 2);
    for (size_t i = 0; i < ring_.size(); ++i) bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
    ring_.swap(bigger);
    head_ = 0;
  }
  void lock() {
    while (locked_.exchange(true, std::memory_order_acquire))
      while (locked_.load(std::memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
  }
  void unlock() {
    locked_.store(false, std::memory_order_release);
  }

  std::atomic<bool> locked_{false};
  std::atomic<size_t> size_{0};
  size_t head_ = 0;
  std::vector<caf::resumable*> ring_;  // a power of two in size
};

class SpinThenPark : public caf::policy::unprofiled {
 public:
  enum State : int { running, spinning, parked };

  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator* owner);
    SchedulerTiming timing;
    std::atomic<size_t> next_worker{0};
    std::atomic<int> spinners{0};
  };

  struct worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator*) {}
    // The coordinator builds one worker_data and copies it into each worker: every worker gets
    // fresh, unshared state.
    worker_data(const worker_data&) {}
    JobQueue queue;
    std::atomic<int> state{running};
    std::mutex lock;
    std::condition_variable cv;
    unsigned steal_seed = 0;
  };

  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    if (current_coordinator == self) {
      static_cast<typename Coordinator::worker_type*>(current_worker)->exec_later(job);
      return;
    }
    const size_t n = self->num_workers();
    for (size_t i = 0; i < n; ++i) {
      auto* w = self->worker_by_id(i);
      if (d(w).state.load(std::memory_order_relaxed) == spinning) return w->external_enqueue(job);
    }
    self->worker_by_id(d(self).next_worker++ % n)->external_enqueue(job);
  }

  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    auto& wd = d(self);
    wd.queue.push_back(job);
    // Pairs with the fence in park(): either the parking worker sees the job, or we see it parked.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (wd.state.load(std::memory_order_relaxed) == parked) {
      std::lock_guard<std::mutex> g(wd.lock);
      wd.cv.notify_one();
    }
  }

  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    d(self).queue.push_front(job);
  }

  template <class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    d(self).queue.push_back(job);  // it yielded: to the back, so the others get their turn
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    current_coordinator = self->parent();
    current_worker = self;
    if (auto* job = look_once(self)) return job;
    if (auto* job = spin(self)) return job;
    // Spin only right after work: a worker that wakes from parking without a job steals if it
    // can and parks again.
    for (;;) {
      if (auto* job = park(self)) return job;
      if (auto* job = look_once(self)) return job;
    }
  }

  template <class Worker, class UnaryFunction>
  void foreach_resumable(Worker* self, UnaryFunction f) {
    for (auto* job = d(self).queue.pop_front(); job != nullptr; job = d(self).queue.pop_front())
      f(job);
  }

  template <class Coordinator, class UnaryFunction>
  void foreach_central_resumable(Coordinator*, UnaryFunction) {}

 private:
  // The worker this thread runs, if it is one (central_enqueue keeps such jobs local).
  static inline thread_local const void* current_coordinator = nullptr;
  static inline thread_local void* current_worker = nullptr;

  static void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  template <class Worker>
  caf::resumable* steal(Worker* self) {
    auto* p = self->parent();
    const size_t n = p->num_workers();
    if (n < 2) return nullptr;
    auto& seed = d(self).steal_seed;
    seed = seed * 1103515245u + 12345u;
    size_t victim = (seed >> 16) % (n - 1);
    if (victim >= self->id()) ++victim;  // anyone but ourselves
    return d(p->worker_by_id(victim)).queue.pop_back();
  }

  template <class Worker>
  caf::resumable* look_once(Worker* self) {
    if (auto* job = d(self).queue.pop_front()) return job;
    return steal(self);
  }

  template <class Worker>
  caf::resumable* spin(Worker* self) {
    auto& wd = d(self);
    auto& cd = d(self->parent());
    if (cd.timing.spin_for.count() <= 0) return nullptr;
    if (cd.spinners.fetch_add(1, std::memory_order_acq_rel) > 0) {
      cd.spinners.fetch_sub(1, std::memory_order_acq_rel);
      return nullptr;  // someone else spins already
    }
    wd.state.store(spinning, std::memory_order_relaxed);
    caf::resumable* job = nullptr;
    const auto until = std::chrono::steady_clock::now() + cd.timing.spin_for;
    for (unsigned i = 1; job == nullptr; ++i) {
      job = wd.queue.pop_front();
      if (job == nullptr && i % 16 == 0) job = steal(self);
      if (job != nullptr) break;
      cpu_relax();
      if (i % 8 == 0) {
        if (std::chrono::steady_clock::now() >= until) break;
        // The kernel tends to wake a waiting caller on the core of the thread that woke it, i.e.
        // next to this spinner: yield often, or that caller waits for our time slice to end.
        std::this_thread::yield();
      }
    }
    wd.state.store(running, std::memory_order_relaxed);
    cd.spinners.fetch_sub(1, std::memory_order_acq_rel);
    return job;  // if null, a job handed to us meanwhile is in our queue: park() looks first
  }

  template <class Worker>
  caf::resumable* park(Worker* self) {
    auto& wd = d(self);
    std::unique_lock<std::mutex> g(wd.lock);
    wd.state.store(parked, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    caf::resumable* job = wd.queue.pop_front();
    if (job == nullptr)
      wd.cv.wait_for(g, d(self->parent()).timing.park_for,
                     [&] { return (job = wd.queue.pop_front()) != nullptr; });
    wd.state.store(running, std::memory_order_relaxed);
    return job;
  }
};

/// The coordinator (CAF's scheduler module) that runs SpinThenPark.
using Scheduler = caf::scheduler::coordinator<SpinThenPark>;

/// The run queue: jobs (processes with messages to handle, timers, tasks) waiting in the workers'
/// queues for a worker to run them, summed over the workers. Those being run are not counted.
inline size_t run_queue_length(Scheduler& scheduler) {
  size_t n = 0;
  for (size_t i = 0; i < scheduler.num_workers(); ++i)
    n += scheduler.worker_by_id(i)->data().queue.size();
  return n;
}

}  // namespace otp::detail

namespace caf::scheduler {

/// CAF's worker loop for this policy, without the logger bookkeeping of CAF's own: before every
/// resume it dynamic_casts the job to abstract_actor (a walk over the class hierarchy with a
/// strcmp per class, ~650 instructions a job) only to tag the thread's log lines
/// with the actor's id, and nothing here logs through CAF (its logging is compiled out).
template <>
inline void worker<otp::detail::SpinThenPark>::run() {
  logger::set_current_actor_system(nullptr);
  for (;;) {
    resumable* job = policy_.dequeue(this);
    policy_.before_resume(this, job);
    auto res = job->resume(this, max_throughput_);
    policy_.after_resume(this, job);
    switch (res) {
      case resumable::resume_later:
        policy_.resume_job_later(this, job);  // it stays in the loop: keep the reference
        break;
      case resumable::done:
        policy_.after_completion(this, job);
        intrusive_ptr_release(job);
        break;
      case resumable::awaiting_message:
        intrusive_ptr_release(job);  // enqueued again by its next message
        break;
      case resumable::shutdown_execution_unit:
        policy_.after_completion(this, job);
        policy_.before_shutdown(this);
        return;
    }
  }
}

}  // namespace caf::scheduler
