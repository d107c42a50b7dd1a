// A server's mailbox (ActorProcess): the lock-free queues deliveries push to, the recycled
// nodes they are built from, and the wake-up that hands an idle server to the scheduler.
#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include "node_core.hpp"
#include "server_actor.hpp"

namespace otp::detail {

// -- ActorProcess -------------------------------------------------------------------------------

void ActorProcess::keep_alive(caf::intrusive_ptr<ServerActor> strong) {
  std::lock_guard<std::mutex> g(strong_mx_);
  if (alive()) strong_ = std::move(strong);
}

void ActorProcess::on_dead() {
  caf::intrusive_ptr<ServerActor> dropped;
  std::lock_guard<std::mutex> g(strong_mx_);
  dropped.swap(strong_);
}

ActorProcess::~ActorProcess() {
  close();
}

bool ActorProcess::push(std::atomic<MailNode*>& head, MailNode* n, bool* was_idle) {
  MailNode* old = head.load(std::memory_order_relaxed);
  do {
    if (old == closed_tag()) return false;
    n->next = old == idle_tag() ? nullptr : old;
    // seq_cst: orders the push before the wake check that follows an urgent push (see try_idle).
  } while (
      !head.compare_exchange_weak(old, n, std::memory_order_seq_cst, std::memory_order_relaxed));
  *was_idle = old == idle_tag();
  return true;
}

namespace {
/// A sending thread's spare nodes (at most one batch; see ActorProcess::alloc_node).
struct NodeCache {
  MailNode* head = nullptr;
  int count = 0;
  ~NodeCache() { ActorProcess::free_nodes(head); }
};
thread_local NodeCache t_nodes;
}  // namespace

MailNode* ActorProcess::alloc_node() {
  MailNode* n = t_nodes.head;
  // Refill only when empty, so the cache never holds more than one batch.
  if (!n && spare_.load(std::memory_order_relaxed)) {
    n = spare_.exchange(nullptr, std::memory_order_acquire);
    if (n) t_nodes.count = kSpareBatch;  // a handed-over batch is always a full one
  }
  if (!n) return new MailNode;
  t_nodes.head = n->next;
  --t_nodes.count;
  n->next = nullptr;  // a node on its own: a refused delivery drops only this one (drop_list)
  return n;
}

bool ActorProcess::offer_spares(MailNode* batch) {
  MailNode* expected = nullptr;
  // Only when the senders took the previous batch: a process never keeps more than one.
  return !spare_.load(std::memory_order_relaxed) &&
         spare_.compare_exchange_strong(expected, batch, std::memory_order_release,
                                        std::memory_order_relaxed);
}

void ActorProcess::deliver(Envelope&& e, bool urgent) {
  MailNode* n = alloc_node();
  new (n->storage) Envelope(std::move(e));
  bool was_idle = false;
  if (!push(urgent ? urgent_ : normal_, n, &was_idle)) {
    drop_list(n);  // the process finished
    return;
  }
  if (urgent) {
    // The urgent stack has no idle state of its own: end the normal stack's idle state.
    MailNode* expected = idle_tag();
    was_idle = normal_.compare_exchange_strong(expected, nullptr, std::memory_order_seq_cst);
  }
  if (was_idle) wake();
}

void ActorProcess::wake() {
  // The actor itself goes to the scheduler (see ServerActor::resume), with a reference of the
  // scheduler's own, which the worker drops after the run.
  ServerActor* job = actor_;
  job->intrusive_ptr_add_ref_impl();
  if (caf::execution_unit* unit = current_execution_unit()) {
    unit->exec_later(job);  // from a handler: this worker runs it next
  } else {
    node()->system().scheduler().enqueue(job);
  }
}

MailNode* ActorProcess::take(std::atomic<MailNode*>& head) {
  // Only the draining actor takes, so the head is never kIdle (only try_idle sets it, and the
  // actor then stops draining) nor kClosed (set once the process finished) here.
  MailNode* n = head.exchange(nullptr, std::memory_order_acquire);
  // The stack holds the newest first: reverse it into arrival order.
  MailNode* fifo = nullptr;
  while (n) {
    MailNode* next = n->next;
    n->next = fifo;
    fifo = n;
    n = next;
  }
  return fifo;
}

bool ActorProcess::try_idle() {
  MailNode* expected = nullptr;
  if (!normal_.compare_exchange_strong(expected, idle_tag(), std::memory_order_seq_cst))
    return false;  // a normal envelope arrived
  // An urgent push that saw the normal stack not yet idle did not wake us: look once more. Both
  // sides use seq_cst, so either that sender sees kIdle (and wakes us) or we see its envelope.
  if (urgent_.load(std::memory_order_seq_cst) == nullptr) return true;
  expected = idle_tag();
  // If this fails, a sender ended the idle state meanwhile and a wake is on its way.
  return !normal_.compare_exchange_strong(expected, nullptr, std::memory_order_seq_cst);
}

void ActorProcess::close() {
  for (auto* head : {&urgent_, &normal_}) {
    MailNode* n = head->exchange(closed_tag(), std::memory_order_acq_rel);
    if (!is_tag(n)) drop_list(n);
  }
  free_nodes(spare_.exchange(nullptr, std::memory_order_acquire));
}

void ActorProcess::free_nodes(MailNode* n) {
  while (n) {
    MailNode* next = n->next;
    delete n;
    n = next;
  }
}

void ActorProcess::drop_list(MailNode* n) {
  while (n) {
    MailNode* next = n->next;
    n->env().~Envelope();
    delete n;
    n = next;
  }
}

// -- the server side of node recycling: the nodes a run took, back to this thread --

void ServerActor::recycle(MailNode* n) {
  n->next = recycled_;
  if (!recycled_) recycled_last_ = n;
  recycled_ = n;
  if (++recycled_count_ < ActorProcess::kSpareBatch) return;
  if (!proc_->offer_spares(recycled_)) ActorProcess::free_nodes(recycled_);
  recycled_ = nullptr;
  recycled_count_ = 0;
}

void ServerActor::release_recycled() {
  // In a ping-pong between processes on one worker (calls, starts), the next message sent from
  // this thread reuses them.
  if (recycled_ && t_nodes.count + recycled_count_ <= ActorProcess::kSpareBatch) {
    recycled_last_->next = t_nodes.head;
    t_nodes.head = recycled_;
    t_nodes.count += recycled_count_;
  } else {
    ActorProcess::free_nodes(recycled_);
  }
  recycled_ = nullptr;
  recycled_count_ = 0;
}

}  // namespace otp::detail
