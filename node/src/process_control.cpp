#include "process_control.hpp"

#include <algorithm>

#include "node_core.hpp"

namespace otp::detail {

Process::Process(NodeCore* node, uint64_t id)
    : node_(node), id_(id), node_serial_(node->serial()) {}

bool Process::add_monitor(Ref ref, std::shared_ptr<Endpoint> watcher) {
  std::lock_guard<std::mutex> g(mx_);
  if (!alive()) return false;
  monitors_.emplace_back(ref, std::move(watcher));
  return true;
}

void Process::remove_monitor(Ref ref) {
  std::lock_guard<std::mutex> g(mx_);
  // Recent monitors (a pending call's) sit at the back.
  for (auto it = monitors_.rbegin(); it != monitors_.rend(); ++it) {
    if (it->first == ref) {
      *it = std::move(monitors_.back());
      monitors_.pop_back();
      return;
    }
  }
}

void Process::link(Process& a, Process& b) {
  if (&a == &b) return;
  Process& first = a.id_ < b.id_ ? a : b;
  Process& second = a.id_ < b.id_ ? b : a;
  bool b_dead = false;
  {
    std::scoped_lock g(first.mx_, second.mx_);
    if (!b.alive()) {
      b_dead = true;
    } else if (a.alive()) {
      a.links_.emplace(b.id_, b.pid());
      b.links_.emplace(a.id_, a.pid());
    }
  }
  if (b_dead) {
    Envelope e;
    e.kind = EnvelopeKind::exit;
    e.from = b.pid();
    e.reason = Reason::noproc();
    a.deliver(std::move(e), true);
  }
}

void Process::unlink(Process& a, Process& b) {
  if (&a == &b) return;
  std::scoped_lock g(a.mx_, b.mx_);
  a.links_.erase(b.id_);
  b.links_.erase(a.id_);
}

bool Process::take_link(uint64_t other) {
  std::lock_guard<std::mutex> g(mx_);
  return links_.erase(other) > 0;
}

std::vector<Pid> Process::linked_pids() {
  std::lock_guard<std::mutex> g(mx_);
  std::vector<Pid> out;
  out.reserve(links_.size());
  for (auto& [id, pid] : links_) out.push_back(pid);
  return out;
}

void Process::add_name(const std::string& name) {
  std::lock_guard<std::mutex> g(mx_);
  names_.push_back(name);
}

void Process::exit(const Reason& reason) {
  std::unordered_map<uint64_t, Pid> links;
  std::vector<std::pair<Ref, std::shared_ptr<Endpoint>>> monitors;
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> g(mx_);
    if (!alive()) return;
    alive_.store(false, std::memory_order_release);
    links.swap(links_);
    monitors.swap(monitors_);
    names.swap(names_);
  }
  for (const auto& n : names) node_->unregister_name(n, id_);
  Pid me = pid();
  // A process that was killed exits with `killed`; `kill` itself never propagates.
  Reason out = reason.kind() == Reason::Kind::kill ? Reason::killed() : reason;
  for (auto& [ref, watcher] : monitors) {
    Envelope e;
    e.kind = EnvelopeKind::down;
    e.ref = ref;
    e.from = me;
    e.reason = out;
    watcher->deliver(std::move(e), false);
  }
  for (auto& [id, other] : links) {
    Envelope e;
    e.kind = EnvelopeKind::exit;
    e.from = me;
    e.reason = out;
    e.via_link = true;
    other.process()->deliver(std::move(e), true);
  }
  on_dead();
  node_->remove_process(id_);
}

}  // namespace otp::detail
