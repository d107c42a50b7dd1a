#include "process_control.hpp"

#include <algorithm>

#include "node_core.hpp"

namespace otp::detail {

bool LinkSet::insert(const Pid& pid) {
  Pid* free_slot = nullptr;
  for (auto& p : inline_) {
    if (p == pid) return false;
    if (!p && !free_slot) free_slot = &p;
  }
  // One hash lookup, not two: a supervisor's set holds all its children (a cache miss each).
  if (!free_slot) return more_.insert(pid).second;
  if (!more_.empty() && more_.count(pid)) return false;
  *free_slot = pid;
  return true;
}

bool LinkSet::erase(const Pid& pid) {
  for (auto& p : inline_) {
    if (p && p == pid) {
      p = Pid();
      return true;
    }
  }
  return more_.erase(pid) > 0;
}

size_t LinkSet::size() const {
  size_t n = more_.size();
  for (const auto& p : inline_) n += p ? 1 : 0;
  return n;
}

Process::Process(NodeCore* node, uint64_t id)
    : node_(node), id_(id), node_serial_(node->serial()) {}

Process::Process(NodeCore* node, uint64_t id, uint32_t node_serial)
    : node_(node), id_(id), node_serial_(node_serial) {}

bool Process::begin_call(Envelope&& call) {
  if (!add_monitor(call.ref, call.reply_to)) return false;
  deliver(std::move(call), false);
  return true;
}

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
  if (b.is_remote()) {
    b.link_remote(a);
    return;
  }
  Process& first = a.id_ < b.id_ ? a : b;
  Process& second = a.id_ < b.id_ ? b : a;
  bool b_dead = false;
  {
    std::scoped_lock g(first.mx_, second.mx_);
    if (!b.alive()) {
      b_dead = true;
    } else if (a.alive()) {
      a.links_.insert(b.pid());
      b.links_.insert(a.pid());
    }
  }
  if (b_dead) {
    a.deliver(Envelope::make_signal(EnvelopeKind::exit, b.pid(), Reason::noproc()), true);
  }
}

void Process::link_new_child(Process& parent, Process& child) {
  std::lock_guard<std::mutex> g(parent.mx_);
  if (!parent.alive()) return;  // as link(): a dead parent links nothing
  parent.links_.insert(child.pid());
  child.links_.insert(parent.pid());
}

void Process::unlink(Process& a, Process& b) {
  if (&a == &b) return;
  if (b.is_remote()) {
    b.unlink_remote(a);
    return;
  }
  std::scoped_lock g(a.mx_, b.mx_);
  a.links_.erase(b.pid());
  b.links_.erase(a.pid());
}

bool Process::take_link(const Pid& other) {
  std::lock_guard<std::mutex> g(mx_);
  return links_.erase(other);
}

bool Process::accept_link(const Pid& remote) {
  std::lock_guard<std::mutex> g(mx_);
  if (!alive()) return false;
  links_.insert(remote);
  return true;
}

std::vector<Pid> Process::linked_pids() {
  std::lock_guard<std::mutex> g(mx_);
  std::vector<Pid> out;
  out.reserve(links_.size());
  links_.for_each([&](const Pid& pid) { out.push_back(pid); });
  return out;
}

void Process::add_name(const std::string& name) {
  std::lock_guard<std::mutex> g(mx_);
  names_.push_back(name);
}

void Process::exit(const Reason& reason) {
  LinkSet links;
  std::vector<std::pair<Ref, std::shared_ptr<Endpoint>>> monitors;
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> g(mx_);
    if (!alive()) return;
    alive_.store(false, std::memory_order_release);
    std::swap(links, links_);
    monitors.swap(monitors_);
    names.swap(names_);
  }
  for (const auto& n : names) node_->unregister_name(n, id_);
  Pid me = pid();
  // A process that was killed exits with `killed`; `kill` itself never propagates.
  Reason out = reason.kind() == Reason::Kind::kill ? Reason::killed() : reason;
  for (auto& [ref, watcher] : monitors) {
    Envelope e = Envelope::make_signal(EnvelopeKind::down, me, out);
    e.ref = ref;
    watcher->deliver(std::move(e), false);
  }
  links.for_each([&](const Pid& other) {
    RuntimeAccess::process(other)->deliver(Envelope::make_signal(EnvelopeKind::exit, me, out, true),
                                           true);
  });
  on_dead();
  node_->remove_process(id_);
}

}  // namespace otp::detail
