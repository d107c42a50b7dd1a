#include "otp/global/name_table.hpp"

#include <algorithm>
#include <utility>

namespace otp::global {

// -- outputs ------------------------------------------------------------------------------------

void Output::append(Output&& other) {
  messages.insert(messages.end(), std::make_move_iterator(other.messages.begin()),
                  std::make_move_iterator(other.messages.end()));
  events.insert(events.end(), std::make_move_iterator(other.events.begin()),
                std::make_move_iterator(other.events.end()));
}

const char* to_string(EventKind kind) {
  switch (kind) {
    case EventKind::registered:
      return "registered";
    case EventKind::unregistered:
      return "unregistered";
    case EventKind::conflict:
      return "conflict";
  }
  return "?";
}

const char* to_string(RegisterStatus status) {
  switch (status) {
    case RegisterStatus::ok:
      return "ok";
    case RegisterStatus::already_registered:
      return "already_registered";
    case RegisterStatus::not_local:
      return "not_local";
  }
  return "?";
}

const char* to_string(UnregisterStatus status) {
  switch (status) {
    case UnregisterStatus::ok:
      return "ok";
    case UnregisterStatus::not_registered:
      return "not_registered";
    case UnregisterStatus::not_owner:
      return "not_owner";
  }
  return "?";
}

std::ostream& operator<<(std::ostream& os, const Event& e) {
  os << to_string(e.kind) << ' ' << e.name << ' ' << e.owner;
  if (e.kind == EventKind::conflict) {
    os << " lost to " << e.winner << (e.local_loser ? " (local)" : "");
  }
  return os;
}

bool earlier_wins(const Claim& a, const Claim& b) {
  if (a.stamp != b.stamp) return a.stamp < b.stamp;
  return a.owner < b.owner;
}

// -- the table ----------------------------------------------------------------------------------

NameTable::NameTable(protocol::NodeId self, Resolver resolver)
    : self_(std::move(self)), resolver_(std::move(resolver)) {
  if (!resolver_) resolver_ = earlier_wins;
}

bool NameTable::beats(const Claim& a, const Claim& b) const {
  return resolver_(a, b);
}

bool NameTable::linked(const protocol::NodeId& node) const {
  const auto it = links_.find(node.full_name());
  return it != links_.end() && it->second == node;
}

void NameTable::broadcast(Update update, Output& out) {
  out.messages.push_back(Outgoing{std::nullopt, Message{std::move(update)}});
  ++stats_.updates_sent;
}

void NameTable::add_claim(Claim claim, Time now, Output& out) {
  // A node claims a name at most once: a new claim of the same node replaces the old one.
  remove_claim(claim.name, claim.owner.node, out);
  by_node_[claim.owner.node].insert(claim.name);
  ++claim_count_;
  auto [it, fresh] = names_.try_emplace(claim.name);
  Entry& entry = it->second;
  if (fresh) {
    out.events.push_back(
        Event{EventKind::registered, claim.name, claim.owner, {}, claim.metadata, false});
    entry.claims.push_back(std::move(claim));
    return;
  }
  Claim& current = entry.claims.front();
  const bool wins = beats(claim, current);
  const Claim& loser = wins ? current : claim;
  const Claim& winner = wins ? claim : current;
  const bool local_loser = loser.owner.node == self_;
  out.events.push_back(
      Event{EventKind::conflict, claim.name, loser.owner, winner.owner, {}, local_loser});
  ++stats_.conflicts;
  if (!wins) {
    entry.claims.push_back(std::move(claim));
    return;
  }
  out.events.push_back(Event{EventKind::unregistered, current.name, current.owner, {}, {}, false});
  out.events.push_back(
      Event{EventKind::registered, claim.name, claim.owner, {}, claim.metadata, false});
  if (local_loser) {
    // This node's claim is always the visible one while it exists (a claim that beats it removes
    // it right here), so the loser is `current`: drop it and tell every peer.
    ++stats_.local_losses;
    Claim lost = std::move(current);
    current = std::move(claim);
    --claim_count_;
    if (auto own = by_node_.find(self_); own != by_node_.end()) {
      own->second.erase(lost.name);
      if (own->second.empty()) by_node_.erase(own);
    }
    auto& held = by_local_pid_[lost.owner.id];
    std::erase(held, lost.name);
    if (held.empty()) by_local_pid_.erase(lost.owner.id);
    lost.metadata.clear();
    lost.stamp = clock_.tick(now);
    broadcast(Update{UpdateKind::remove, std::move(lost)}, out);
    return;
  }
  entry.claims.push_back(std::move(claim));
  std::swap(entry.claims.front(), entry.claims.back());
}

const Claim* NameTable::claim_of(std::string_view name, const protocol::NodeId& node) const {
  const auto it = names_.find(name);
  if (it == names_.end()) return nullptr;
  for (const Claim& c : it->second.claims) {
    if (c.owner.node == node) return &c;
  }
  return nullptr;
}

bool NameTable::remove_claim(std::string_view name, const protocol::NodeId& node, Output& out) {
  const auto it = names_.find(name);
  if (it == names_.end()) return false;
  auto& claims = it->second.claims;
  const auto pos = std::find_if(claims.begin(), claims.end(),
                                [&](const Claim& c) { return c.owner.node == node; });
  if (pos == claims.end()) return false;
  const bool was_visible = pos == claims.begin();
  Claim removed = std::move(*pos);
  claims.erase(pos);
  --claim_count_;
  if (auto owned = by_node_.find(node); owned != by_node_.end()) {
    owned->second.erase(removed.name);
    if (owned->second.empty()) by_node_.erase(owned);
  }
  if (was_visible) {
    out.events.push_back(
        Event{EventKind::unregistered, removed.name, removed.owner, {}, {}, false});
  }
  if (claims.empty()) {
    names_.erase(it);
    return true;
  }
  if (was_visible) {
    // A claim held in reserve becomes visible: its node never heard of the one that beat it.
    auto best = claims.begin();
    for (auto c = claims.begin() + 1; c != claims.end(); ++c) {
      if (beats(*c, *best)) best = c;
    }
    std::iter_swap(claims.begin(), best);
    const Claim& now_visible = claims.front();
    out.events.push_back(Event{EventKind::registered,
                               now_visible.name,
                               now_visible.owner,
                               {},
                               now_visible.metadata,
                               false});
  }
  return true;
}

void NameTable::drop_node(const protocol::NodeId& node, Output& out) {
  const auto owned = by_node_.find(node);
  if (owned == by_node_.end()) return;
  std::vector<std::string> names(owned->second.begin(), owned->second.end());
  std::sort(names.begin(), names.end());  // events in a deterministic order
  for (const std::string& name : names) remove_claim(name, node, out);
}

void NameTable::drop_local(const std::string& name, const protocol::Pid& pid, Stamp stamp,
                           Output& out) {
  remove_claim(name, self_, out);
  broadcast(Update{UpdateKind::remove, Claim{name, pid, stamp, {}}}, out);
}

// -- this node's processes ----------------------------------------------------------------------

RegisterOutcome NameTable::register_name(std::string name, const protocol::Pid& pid,
                                         Metadata metadata, Time now) {
  RegisterOutcome outcome;
  if (pid.node != self_) {
    outcome.status = RegisterStatus::not_local;
    outcome.holder = pid;
    return outcome;
  }
  if (const Claim* owner = whereis(name)) {
    outcome.status = RegisterStatus::already_registered;
    outcome.holder = owner->owner;
    return outcome;
  }
  outcome.holder = pid;
  Claim claim{std::move(name), pid, clock_.tick(now), std::move(metadata)};
  by_local_pid_[pid.id].push_back(claim.name);
  add_claim(claim, now, outcome.output);
  broadcast(Update{UpdateKind::add, std::move(claim)}, outcome.output);
  return outcome;
}

UnregisterOutcome NameTable::unregister_name(std::string_view name, Time now) {
  UnregisterOutcome outcome;
  const Claim* owner = whereis(name);
  if (owner == nullptr) {
    outcome.status = UnregisterStatus::not_registered;
    return outcome;
  }
  outcome.holder = owner->owner;
  if (owner->owner.node != self_) {
    outcome.status = UnregisterStatus::not_owner;
    return outcome;
  }
  const protocol::Pid pid = owner->owner;
  const std::string held(name);
  auto& names = by_local_pid_[pid.id];
  std::erase(names, held);
  if (names.empty()) by_local_pid_.erase(pid.id);
  drop_local(held, pid, clock_.tick(now), outcome.output);
  return outcome;
}

Output NameTable::process_exit(protocol::Pid pid, Time now) {
  Output out;
  if (pid.node != self_) return out;
  const auto it = by_local_pid_.find(pid.id);
  if (it == by_local_pid_.end()) return out;
  std::vector<std::string> names = std::move(it->second);
  by_local_pid_.erase(it);
  for (const std::string& name : names) drop_local(name, pid, clock_.tick(now), out);
  return out;
}

// -- peers --------------------------------------------------------------------------------------

Output NameTable::on_link_up(const protocol::NodeId& peer) {
  Output out;
  if (peer.full_name() == self_.full_name()) return out;
  // Any other run of this node is gone for good: its names with it.
  std::vector<protocol::NodeId> older;
  for (const auto& [node, names] : by_node_) {
    if (node != peer && node.name == peer.name && node.host == peer.host) older.push_back(node);
  }
  std::sort(older.begin(), older.end());
  for (const protocol::NodeId& node : older) drop_node(node, out);
  links_.insert_or_assign(peer.full_name(), peer);

  Sync sync;
  if (const auto own = by_node_.find(self_); own != by_node_.end()) {
    sync.claims.reserve(own->second.size());
    for (const std::string& name : own->second)
      sync.claims.push_back(names_.find(name)->second.claims.front());
    std::sort(sync.claims.begin(), sync.claims.end(),
              [](const Claim& a, const Claim& b) { return a.name < b.name; });
  }
  out.messages.push_back(Outgoing{peer, Message{std::move(sync)}});
  ++stats_.syncs_sent;
  return out;
}

Output NameTable::on_nodedown(const protocol::NodeId& peer) {
  Output out;
  if (linked(peer)) links_.erase(peer.full_name());
  drop_node(peer, out);
  return out;
}

Output NameTable::on_message(const protocol::NodeId& from, const Message& message, Time now) {
  if (const auto* update = std::get_if<Update>(&message)) return on_update(from, *update, now);
  return on_sync(from, std::get<Sync>(message), now);
}

Output NameTable::on_update(const protocol::NodeId& from, const Update& update, Time now) {
  Output out;
  if (!linked(from)) {
    ++stats_.dropped_unlinked;
    return out;
  }
  if (update.claim.owner.node != from) {
    ++stats_.dropped_foreign;
    return out;
  }
  ++stats_.updates_received;
  clock_.receive(update.claim.stamp, now);
  if (update.kind == UpdateKind::add) {
    add_claim(update.claim, now, out);
  } else if (const Claim* held = claim_of(update.claim.name, from);
             held != nullptr && held->owner == update.claim.owner) {
    remove_claim(update.claim.name, from, out);
  }
  return out;
}

Output NameTable::on_sync(const protocol::NodeId& from, const Sync& sync, Time now) {
  Output out;
  if (!linked(from)) {
    ++stats_.dropped_unlinked;
    return out;
  }
  ++stats_.syncs_received;
  NameSet synced;
  for (const Claim& claim : sync.claims) {
    if (claim.owner.node == from) synced.insert(claim.name);
  }
  // What the sender no longer owns goes first, then what it owns now.
  if (const auto owned = by_node_.find(from); owned != by_node_.end()) {
    std::vector<std::string> gone;
    for (const std::string& name : owned->second) {
      if (!synced.contains(name)) gone.push_back(name);
    }
    std::sort(gone.begin(), gone.end());
    for (const std::string& name : gone) remove_claim(name, from, out);
  }
  for (const Claim& claim : sync.claims) {
    if (claim.owner.node != from) {
      ++stats_.dropped_foreign;
      continue;
    }
    clock_.receive(claim.stamp, now);
    const Claim* held = claim_of(claim.name, from);
    if (held != nullptr && *held == claim) continue;
    add_claim(claim, now, out);
  }
  return out;
}

}  // namespace otp::global

namespace otp::global {

// -- reads --------------------------------------------------------------------------------------

const Claim* NameTable::whereis(std::string_view name) const {
  const auto it = names_.find(name);
  return it == names_.end() ? nullptr : &it->second.claims.front();
}

std::vector<std::string> NameTable::registered_names() const {
  std::vector<std::string> names;
  names.reserve(names_.size());
  for (const auto& [name, entry] : names_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<Claim> NameTable::snapshot() const {
  std::vector<Claim> visible;
  visible.reserve(names_.size());
  for (const auto& [name, entry] : names_) visible.push_back(entry.claims.front());
  std::sort(visible.begin(), visible.end(),
            [](const Claim& a, const Claim& b) { return a.name < b.name; });
  return visible;
}

std::vector<Claim> NameTable::claims(std::string_view name) const {
  const auto it = names_.find(name);
  return it == names_.end() ? std::vector<Claim>{} : it->second.claims;
}

std::vector<protocol::NodeId> NameTable::peers() const {
  std::vector<protocol::NodeId> linked;
  linked.reserve(links_.size());
  for (const auto& [full_name, node] : links_) linked.push_back(node);
  std::sort(linked.begin(), linked.end());
  return linked;
}

}  // namespace otp::global
