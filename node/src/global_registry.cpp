// The node's global name registry: the name table's driver (see global_registry.hpp).
#include "global_registry.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <sstream>
#include <thread>
#include <utility>

#include "distribution.hpp"
#include "node_core.hpp"
#include "process_control.hpp"

namespace otp::detail {

namespace {

/// A NameSync part stays well below the transport's frame limit (8 MiB by default, 1 MiB at the
/// least anyone configures): a table of 100,000 names goes in a few parts.
constexpr size_t kSyncPartBytes = 256 * 1024;
/// Names of a gone node dropped per hold of the table's locks (~2-4 ms each here).
constexpr size_t kDropPartNames = 4096;
/// What a claim costs on the wire besides its name and metadata (ids, stamp, array headers).
constexpr size_t kClaimOverheadBytes = 32;

/// Why unregister_name / update_metadata (`what`: "unregister", "update") did not go ok.
Error owner_refusal(global::OwnerStatus status, std::string_view name, const char* what,
                    const std::string& holder) {
  if (status == global::OwnerStatus::not_registered)
    return Error(ErrorCode::not_found, "global name " + std::string(name) + ": not registered");
  return Error(ErrorCode::not_owner, "global name " + std::string(name) + " is held by " + holder +
                                         ": " + what + " it on its node");
}

/// The owners whereis resolved last on this thread (see global_registry.hpp). Local processes
/// are held weakly: an entry outliving its node must not be what destroys a process at thread
/// exit. Remote pids are plain handles (a RemoteProcess) and are kept whole.
struct ResolvedOwner {
  uint64_t registry = 0;  // a registry's serial_; 0: empty
  uint64_t generation = 0;
  std::string name;
  Pid remote;
  std::weak_ptr<Process> local;
};
constexpr size_t kResolvedOwners = 16;
thread_local std::array<ResolvedOwner, kResolvedOwners> resolved_owners;

uint64_t next_registry_serial() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

/// A claim is replicated in one message (and in one sync part): name and metadata stay small.
constexpr size_t kMaxClaimBytes = 64 * 1024;

std::optional<Error> claim_too_big(std::string_view name, std::string_view metadata) {
  if (name.size() + metadata.size() <= kMaxClaimBytes) return std::nullopt;
  return Error(ErrorCode::badarg,
               "global name " + std::string(name.substr(0, 64)) + ": name and metadata take " +
                   std::to_string(name.size() + metadata.size()) + " bytes, at most " +
                   std::to_string(kMaxClaimBytes) + " (metadata is for a small JSON value)");
}

Error registry_down() {
  return Error(ErrorCode::noproc, "global names: this node is not distributed (start a Cluster)");
}

}  // namespace

NodeGlobalRegistry::NodeGlobalRegistry(Distribution& distribution, protocol::NodeId self,
                                       global::Resolver resolver)
    : distribution_(distribution),
      self_(self),
      serial_(next_registry_serial()),
      table_(std::move(self), resolver ? std::move(resolver) : global::earlier_wins) {}

global::Time NodeGlobalRegistry::now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch());
}

template <class F>
auto NodeGlobalRegistry::change(F&& fn) {
  std::lock_guard<ReadMostlyLock> g(read_lock_);
  generation_.fetch_add(1, std::memory_order_release);
  return fn(table_);
}

void NodeGlobalRegistry::log(const char* level, const std::string& text) {
  distribution_.core().log(level, "global: " + text);
}

Pid NodeGlobalRegistry::pid_of(const protocol::Pid& pid) {
  return distribution_.from_wire(pid);
}

std::string NodeGlobalRegistry::describe_owner(const protocol::Pid& pid) {
  return pid_of(pid).to_string() + " on " + pid.node.full_name();
}

// -- this node's processes ------------------------------------------------------------------------

bool NodeGlobalRegistry::watch(const Pid& pid) {
  auto& proc = *RuntimeAccess::process(pid);
  if (watched_.contains(proc.id())) return proc.alive();
  Ref ref = Ref::make();
  if (!proc.add_monitor(ref, shared_from_this())) return false;
  watched_.emplace(proc.id(), ref);
  return true;
}

Result<void> NodeGlobalRegistry::add(std::string name, const Pid& pid, std::string metadata) {
  if (!distribution_.attached()) return registry_down();
  if (name.empty()) return Error(ErrorCode::badarg, "global name: the name is empty");
  if (auto too_big = claim_too_big(name, metadata)) return *too_big;
  if (!pid) return Error(ErrorCode::badarg, "global name " + name + ": an invalid pid");
  auto& proc = *RuntimeAccess::process(pid);
  if (proc.is_remote() || proc.node() != &distribution_.core())
    return Error(ErrorCode::badarg, "global name " + name + ": " + pid.to_string() +
                                        " is not a process of this node (register it on its own "
                                        "node)");
  Deferred deferred;
  {
    std::lock_guard<std::mutex> w(writer_mx_);
    const bool fresh = !watched_.contains(proc.id());
    if (!watch(pid))
      return Error(ErrorCode::noproc, "global name " + name + ": " + pid.to_string() + " is dead");
    auto outcome = change([&](global::NameTable& t) {
      return t.register_name(name, protocol::Pid{self_, proc.id()}, std::move(metadata), now());
    });
    if (outcome.status != global::RegisterStatus::ok) {
      if (fresh) {
        proc.remove_monitor(watched_[proc.id()]);
        watched_.erase(proc.id());
      }
      return Error(ErrorCode::already_registered,
                   "global name " + name + " is held by " + describe_owner(outcome.holder));
    }
    handle(std::move(outcome.output), deferred);
  }
  finish(std::move(deferred));
  return {};
}

Result<void> NodeGlobalRegistry::remove(std::string_view name) {
  if (!distribution_.attached()) return registry_down();
  Deferred deferred;
  {
    std::lock_guard<std::mutex> w(writer_mx_);
    auto outcome = change([&](global::NameTable& t) { return t.unregister_name(name, now()); });
    if (outcome.status != global::OwnerStatus::ok)
      return owner_refusal(outcome.status, name, "unregister", describe_owner(outcome.holder));
    handle(std::move(outcome.output), deferred);
  }
  finish(std::move(deferred));
  return {};
}

Result<void> NodeGlobalRegistry::set_metadata(std::string_view name, std::string metadata) {
  if (!distribution_.attached()) return registry_down();
  if (auto too_big = claim_too_big(name, metadata)) return *too_big;
  Deferred deferred;
  {
    std::lock_guard<std::mutex> w(writer_mx_);
    auto outcome = change(
        [&](global::NameTable& t) { return t.update_metadata(name, std::move(metadata), now()); });
    if (outcome.status != global::OwnerStatus::ok)
      return owner_refusal(outcome.status, name, "update", describe_owner(outcome.holder));
    handle(std::move(outcome.output), deferred);
  }
  finish(std::move(deferred));
  return {};
}

void NodeGlobalRegistry::deliver(Envelope&& e, bool) {
  if (e.kind != EnvelopeKind::down) return;
  const Pid& dead = e.from();
  Deferred deferred;
  {
    std::lock_guard<std::mutex> w(writer_mx_);
    const uint64_t id = RuntimeAccess::process(dead)->id();
    if (watched_.erase(id) == 0) return;
    auto out = change([&](global::NameTable& t) {
      return t.process_exit(protocol::Pid{self_, id}, now());
    });
    handle(std::move(out), deferred);
  }
  finish(std::move(deferred));
}

// -- reads ----------------------------------------------------------------------------------------

std::optional<Pid> NodeGlobalRegistry::whereis(std::string_view name) {
  // The generation is read before the entry: an entry read at this generation is what the
  // table says now, or just before a change still being made (as if this read came first).
  const uint64_t now_generation = generation_.load(std::memory_order_acquire);
  ResolvedOwner& cached = resolved_owners[std::hash<std::string_view>{}(name) % kResolvedOwners];
  if (cached.registry == serial_ && cached.generation == now_generation && cached.name == name) {
    if (cached.remote) return cached.remote;
    if (auto local = cached.local.lock()) return Pid(std::move(local));
  }
  uint64_t generation = 0;
  auto pid = resolve(name, &generation);
  if (!pid) return std::nullopt;
  const auto& process = RuntimeAccess::process(*pid);
  cached.registry = serial_;
  cached.generation = generation;
  cached.name.assign(name);
  cached.remote = process->is_remote() ? *pid : Pid();
  cached.local = process->is_remote() ? std::weak_ptr<Process>() : process;
  return pid;
}

std::optional<Pid> NodeGlobalRegistry::resolve(std::string_view name, uint64_t* generation) {
  std::optional<protocol::Pid> owner;
  {
    std::shared_lock<ReadMostlyLock> r(read_lock_);
    *generation = generation_.load(std::memory_order_relaxed);
    owner = table_.owner_pid(name);
  }
  if (!owner) return std::nullopt;
  return pid_of(*owner);
}

std::optional<GlobalOwner> NodeGlobalRegistry::find(std::string_view name) {
  std::optional<global::Owner> owner;
  {
    std::shared_lock<ReadMostlyLock> r(read_lock_);
    owner = table_.whereis(name);
  }
  if (!owner) return std::nullopt;
  return GlobalOwner{pid_of(owner->pid), *owner->metadata};
}

std::vector<std::string> NodeGlobalRegistry::names() {
  std::shared_lock<ReadMostlyLock> r(read_lock_);
  return table_.registered_names();
}

global::RegistryStats NodeGlobalRegistry::stats() {
  std::shared_lock<ReadMostlyLock> r(read_lock_);
  return global::RegistryStats{.names = table_.size(),
                               .local_names = table_.local_claim_count(),
                               .counters = table_.stats()};
}

// -- name monitors --------------------------------------------------------------------------------

Ref NodeGlobalRegistry::monitor(const Pid& watcher, std::string name) {
  if (!distribution_.attached() || !watcher) return Ref();
  Ref ref = Ref::make();
  std::lock_guard<std::mutex> w(writer_mx_);
  std::optional<global::Owner> owner;
  {
    std::shared_lock<ReadMostlyLock> r(read_lock_);
    owner = table_.whereis(name);
  }
  // Under writer_mx_: no change of the name can be reported between this first message and
  // the monitor being in place.
  otp::send(watcher,
            GlobalNameChanged{name, owner ? std::optional<Pid>(pid_of(owner->pid)) : std::nullopt,
                              owner ? *owner->metadata : std::string()});
  monitor_names_.emplace(ref.value(), name);
  monitors_[std::move(name)].push_back(NameMonitor{ref, watcher});
  return ref;
}

Ref NodeGlobalRegistry::monitor_all(const Pid& watcher) {
  if (!distribution_.attached() || !watcher) return Ref();
  Ref ref = Ref::make();
  std::lock_guard<std::mutex> w(writer_mx_);
  all_monitors_.push_back(NameMonitor{ref, watcher});
  return ref;
}

void NodeGlobalRegistry::notify_all(GlobalEvent event) {
  std::erase_if(all_monitors_, [](const NameMonitor& m) { return !alive(m.watcher); });
  for (const auto& m : all_monitors_) otp::send(m.watcher, event);
}

void NodeGlobalRegistry::demonitor(Ref ref) {
  std::lock_guard<std::mutex> w(writer_mx_);
  std::erase_if(all_monitors_, [&](const NameMonitor& m) { return m.ref == ref; });
  auto it = monitor_names_.find(ref.value());
  if (it == monitor_names_.end()) return;
  auto list = monitors_.find(it->second);
  if (list != monitors_.end()) {
    std::erase_if(list->second, [&](const NameMonitor& m) { return m.ref == ref; });
    if (list->second.empty()) monitors_.erase(list);
  }
  monitor_names_.erase(it);
}

void NodeGlobalRegistry::notify(const std::string& name,
                                const std::optional<global::Owner>& owner) {
  auto list = monitors_.find(name);
  if (list == monitors_.end()) return;
  GlobalNameChanged changed{name, owner ? std::optional<Pid>(pid_of(owner->pid)) : std::nullopt,
                            owner ? *owner->metadata : std::string()};
  auto& watchers = list->second;
  for (size_t i = 0; i < watchers.size();) {
    if (!alive(watchers[i].watcher)) {  // a watcher that exited: its monitor ends with it
      monitor_names_.erase(watchers[i].ref.value());
      watchers[i] = std::move(watchers.back());
      watchers.pop_back();
      continue;
    }
    otp::send(watchers[i].watcher, changed);
    ++i;
  }
  if (watchers.empty()) monitors_.erase(list);
}

// -- peers ----------------------------------------------------------------------------------------

void NodeGlobalRegistry::link_up(const protocol::NodeId& peer) {
  Deferred deferred;
  {
    std::lock_guard<std::mutex> w(writer_mx_);
    partial_syncs_.erase(peer);
    auto out = change([&](global::NameTable& t) { return t.on_link_up(peer); });
    handle(std::move(out), deferred);
  }
  finish(std::move(deferred));
}

void NodeGlobalRegistry::link_down(const protocol::NodeId& peer) {
  // In parts, both locks released between them: a node may have held 100,000 names, and every
  // whereis (every call by global name) waits while a part is dropped. The transport reports
  // nothing more about peer until this returns, so no input about it comes in between.
  bool done = false;
  while (!done) {
    Deferred deferred;
    {
      std::lock_guard<std::mutex> w(writer_mx_);
      partial_syncs_.erase(peer);
      auto out =
          change([&](global::NameTable& t) { return t.on_nodedown(peer, kDropPartNames, &done); });
      handle(std::move(out), deferred);
    }
    finish(std::move(deferred));
    // Readers that waited for this part spin with yield until the lock is free; taking it again
    // at once would keep them out for the whole drop (100 ms rather than 20 for 100,000 names).
    std::this_thread::yield();
  }
}

void NodeGlobalRegistry::receive(const protocol::NodeId& peer, protocol::NameUpdate&& update) {
  Deferred deferred;
  {
    std::lock_guard<std::mutex> w(writer_mx_);
    auto out = change([&](global::NameTable& t) {
      return t.on_update(peer, global::from_wire(update, peer), now());
    });
    handle(std::move(out), deferred);
  }
  finish(std::move(deferred));
}

void NodeGlobalRegistry::receive(const protocol::NodeId& peer, protocol::NameSync&& sync) {
  Deferred deferred;
  {
    std::lock_guard<std::mutex> w(writer_mx_);
    auto& parts = partial_syncs_[peer];
    parts.reserve(parts.size() + sync.claims.size());
    for (const auto& c : sync.claims) parts.push_back(global::from_wire(c, peer));
    if (!sync.last) return;
    global::Sync whole{std::move(parts)};
    partial_syncs_.erase(peer);
    auto out =
        change([&](global::NameTable& t) { return t.on_sync(peer, std::move(whole), now()); });
    handle(std::move(out), deferred);
  }
  finish(std::move(deferred));
}

// -- the table's output ---------------------------------------------------------------------------

void NodeGlobalRegistry::handle(global::Output&& out, Deferred& deferred) {
  if (out.empty()) return;
  std::vector<protocol::NodeId> everyone;
  bool listed = false;
  for (auto& m : out.messages) {
    if (m.to) {
      send(*m.to, m.message);
      continue;
    }
    if (!listed) {
      std::shared_lock<ReadMostlyLock> r(read_lock_);
      everyone = table_.peers();
      listed = true;
    }
    for (const auto& peer : everyone) send(peer, m.message);
  }
  for (const auto& e : out.events) report(e, deferred);
}

void NodeGlobalRegistry::send(const protocol::NodeId& to, const global::Message& message) {
  if (const auto* sync = std::get_if<global::Sync>(&message)) return send_sync(to, *sync);
  // Queued: a register fans out to every peer, and a write per peer on the caller's thread would
  // make its cost grow with the cluster.
  if (auto refused = distribution_.send_queued_to(to, global::to_wire(message)))
    not_sent(to, "update", *refused);
}

void NodeGlobalRegistry::not_sent(const protocol::NodeId& to, const char* what, SendError why) {
  // nodedown / stale: the link is going, and the next one starts with a sync. overload: the link
  // stays, but its replica would miss this change for good: close it so it is made anew (and
  // resynced), as a link whose bytes were lost would be.
  log("warning",
      std::string(what) + " to " + to.full_name() + " not sent: " + otp::to_string(why) +
          (why == SendError::overload ? " (closing the link: it resyncs when made anew)" : ""));
  if (why == SendError::overload)
    distribution_.close_link(to, "global names: an update was refused (overload)");
}

void NodeGlobalRegistry::send_sync(const protocol::NodeId& to, const global::Sync& sync) {
  protocol::NameSync part;
  size_t bytes = 0;
  // A refused part ends the sync: the receiver must not apply one with a gap.
  auto flush = [&](bool last) {
    part.last = last;
    auto why = distribution_.send_queued_to(to, part);
    if (why) not_sent(to, "sync", *why);
    part.claims.clear();
    bytes = 0;
    return !why;
  };
  for (const auto& c : sync.claims) {
    const size_t cost = c.name.size() + c.metadata.size() + kClaimOverheadBytes;
    if (!part.claims.empty() && bytes + cost > kSyncPartBytes && !flush(false)) return;
    part.claims.push_back(
        protocol::NameClaim{c.name, c.owner.id, c.stamp.physical_ms, c.stamp.logical, c.metadata});
    bytes += cost;
  }
  flush(true);
}

void NodeGlobalRegistry::report(const global::Event& e, Deferred& deferred) {
  switch (e.kind) {
    case global::EventKind::registered:
      notify(e.name, global::Owner{e.owner, {}, std::make_shared<const std::string>(e.metadata)});
      if (!all_monitors_.empty())
        notify_all(
            GlobalEvent{GlobalEvent::Kind::registered, e.name, pid_of(e.owner), Pid(), e.metadata});
      break;
    case global::EventKind::unregistered:
      notify(e.name, std::nullopt);
      if (!all_monitors_.empty())
        notify_all(
            GlobalEvent{GlobalEvent::Kind::unregistered, e.name, pid_of(e.owner), Pid(), {}});
      break;
    case global::EventKind::updated:
      notify(e.name, global::Owner{e.owner, {}, std::make_shared<const std::string>(e.metadata)});
      break;
    case global::EventKind::conflict:
      log("warning", "conflict " + e.name + " " + describe_owner(e.owner) + " lost to " +
                         describe_owner(e.winner) + (e.local_loser ? " (stopping it)" : ""));
      if (!all_monitors_.empty())
        notify_all(GlobalEvent{
            GlobalEvent::Kind::conflict, e.name, pid_of(e.owner), pid_of(e.winner), {}});
      if (e.local_loser) {
        Pid loser = pid_of(e.owner);
        otp::send(loser, NameConflict{e.name, pid_of(e.winner)});
        deferred.losers.push_back(std::move(loser));
      }
      break;
  }
}

void NodeGlobalRegistry::finish(Deferred&& deferred) {
  // Outside writer_mx_: stopping a process runs its exit, which reports here.
  for (const Pid& loser : deferred.losers) {
    RuntimeAccess::process(loser)->deliver(
        Envelope::make_signal(EnvelopeKind::stop_request, Pid(), name_conflict_reason()), false);
  }
}

}  // namespace otp::detail
