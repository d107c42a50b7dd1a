#include "otp/global/name_table.hpp"

#include <algorithm>
#include <unordered_set>
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
    case EventKind::updated:
      return "updated";
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

const char* to_string(OwnerStatus status) {
  switch (status) {
    case OwnerStatus::ok:
      return "ok";
    case OwnerStatus::not_registered:
      return "not_registered";
    case OwnerStatus::not_owner:
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

namespace {

/// Metadata as stored: null when empty (most names have none: no allocation).
std::unique_ptr<const Metadata> store(Metadata metadata) {
  if (metadata.empty()) return nullptr;
  return std::make_unique<const Metadata>(std::move(metadata));
}

const std::shared_ptr<const Metadata>& no_metadata() {
  static const auto empty = std::make_shared<const Metadata>();
  return empty;
}

const Metadata& text(const std::unique_ptr<const Metadata>& metadata) {
  return metadata ? *metadata : *no_metadata();
}

}  // namespace

// -- the table ----------------------------------------------------------------------------------

void NameTable::Claims::push_back(Held held) {
  if (!reserve_) reserve_ = std::make_unique<std::vector<Held>>();
  reserve_->push_back(std::move(held));
}

void NameTable::Claims::erase(size_t i) {
  if (i + 1 < size()) (*this)[i] = std::move(reserve_->back());
  reserve_->pop_back();
  if (reserve_->empty()) reserve_.reset();
}

size_t NameTable::Claims::find(NodeRef node) const {
  size_t i = 0;
  while (i < size() && (*this)[i].node != node) ++i;
  return i;
}

NameTable::NameTable(protocol::NodeId self, Resolver resolver) : resolver_(std::move(resolver)) {
  if (!resolver_) resolver_ = earlier_wins;
  nodes_.push_back(KnownNode{std::move(self), {}});
  node_refs_.emplace(nodes_[kSelf].id, kSelf);
}

std::optional<NameTable::NodeRef> NameTable::find_node(const protocol::NodeId& node) const {
  const auto it = node_refs_.find(node);
  if (it == node_refs_.end()) return std::nullopt;
  return it->second;
}

NameTable::NodeRef NameTable::intern(const protocol::NodeId& node) {
  if (const auto known = find_node(node)) return *known;
  NodeRef ref = 0;
  if (!free_nodes_.empty()) {
    ref = free_nodes_.back();
    free_nodes_.pop_back();
    nodes_[ref].id = node;
  } else {
    ref = static_cast<NodeRef>(nodes_.size());
    nodes_.push_back(KnownNode{node, {}});
  }
  node_refs_.emplace(node, ref);
  return ref;
}

void NameTable::release_if_unused(NodeRef node) {
  KnownNode& known = nodes_[node];
  if (node == kSelf || !known.names.empty()) return;
  node_refs_.erase(known.id);
  known.id = {};
  known.names = {};  // its buckets too
  free_nodes_.push_back(node);
}

Claim NameTable::claim_of(const Slot& slot, const Held& held) const {
  return Claim{slot.first, pid_of(held), held.stamp(), text(held.metadata)};
}

Event NameTable::event(EventKind kind, const Slot& slot, const Held& held) const {
  Event e{kind, slot.first, pid_of(held), {}, {}, false};
  if (kind == EventKind::registered || kind == EventKind::updated) e.metadata = text(held.metadata);
  return e;
}

bool NameTable::beats(const Slot& slot, const Held& a, const Held& b) const {
  // Only names with two claims or more come here (conflicts are rare): the resolver sees
  // whole claims.
  return resolver_(claim_of(slot, a), claim_of(slot, b));
}

bool NameTable::linked(const protocol::NodeId& node) const {
  const auto it = links_.find(node.full_name());
  return it != links_.end() && it->second == node;
}

void NameTable::broadcast(Update update, Output& out) {
  out.messages.push_back(Outgoing{std::nullopt, Message{std::move(update)}});
  ++stats_.updates_sent;
}

const NameTable::Held* NameTable::held_by(std::string_view name, NodeRef node) const {
  const auto it = names_.find(name);
  if (it == names_.end()) return nullptr;
  const size_t i = it->second.find(node);
  return i < it->second.size() ? &it->second[i] : nullptr;
}

void NameTable::add_claim(Claim claim, Time now, Output& out) {
  // One lookup of the node and one of the name on the common path (a name new here): a sync
  // of 100,000 names comes through here.
  const NodeRef node = intern(claim.owner.node);
  Held held{claim.owner.id, claim.stamp.physical_ms, claim.stamp.logical, node,
            store(std::move(claim.metadata))};
  const auto [it, fresh] = names_.try_emplace(std::move(claim.name), std::move(held));
  Slot& slot = *it;
  Claims& claims = slot.second;
  if (!fresh) {
    if (const size_t i = claims.find(node); i < claims.size()) {
      if (claims[i].pid == held.pid && claims[i].stamp() == held.stamp()) {
        // The same registration (stamps of one node never repeat): new metadata.
        change_metadata(slot, i, std::move(held.metadata), now, out);
        return;
      }
      // A node claims a name at most once: a new claim of the same node replaces the old one.
      Claim replacing{slot.first, claim.owner, claim.stamp, text(held.metadata)};
      remove_claim(replacing.name, node, out);
      add_claim(std::move(replacing), now, out);
      return;
    }
  }
  ++claim_count_;
  nodes_[node].names.insert(&slot);
  if (fresh) {
    out.events.push_back(event(EventKind::registered, slot, claims.front()));
    return;
  }
  claims.push_back(std::move(held));
  const size_t added = claims.size() - 1;
  if (beats(slot, claims[added], claims.front())) {
    promote(slot, added, now, out);
    return;
  }
  // Held in reserve: its node drops it when it hears of the winner.
  out.events.push_back(Event{EventKind::conflict,
                             slot.first,
                             pid_of(claims[added]),
                             pid_of(claims.front()),
                             {},
                             claims[added].node == kSelf});
  ++stats_.conflicts;
}

void NameTable::promote(Slot& slot, size_t index, Time now, Output& out) {
  auto& claims = slot.second;
  const bool local_loser = claims.front().node == kSelf;
  out.events.push_back(Event{EventKind::conflict,
                             slot.first,
                             pid_of(claims.front()),
                             pid_of(claims[index]),
                             {},
                             local_loser});
  ++stats_.conflicts;
  out.events.push_back(event(EventKind::unregistered, slot, claims.front()));
  out.events.push_back(event(EventKind::registered, slot, claims[index]));
  std::swap(claims.front(), claims[index]);
  if (!local_loser) return;
  // This node's claim is always the visible one while it exists (a claim that beats it removes
  // it right here), so the loser was the visible one: drop it and tell every peer.
  ++stats_.local_losses;
  const Held lost = std::move(claims[index]);
  claims.erase(index);
  --claim_count_;
  nodes_[kSelf].names.erase(&slot);
  forget_local(slot.first, lost.pid);
  broadcast(Update{UpdateKind::remove, Claim{slot.first, pid_of(lost), clock_.tick(now), {}}}, out);
}

void NameTable::change_metadata(Slot& slot, size_t index, std::unique_ptr<const Metadata> metadata,
                                Time now, Output& out) {
  auto& claims = slot.second;
  if (text(claims[index].metadata) == text(metadata)) return;
  claims[index].metadata = std::move(metadata);
  if (index == 0) out.events.push_back(event(EventKind::updated, slot, claims.front()));
  // A user resolver may read metadata: the winner may change with it.
  size_t best = 0;
  for (size_t i = 1; i < claims.size(); ++i) {
    if (beats(slot, claims[i], claims[best])) best = i;
  }
  if (best != 0) promote(slot, best, now, out);
}

bool NameTable::remove_claim(std::string_view name, NodeRef node, Output& out) {
  const auto it = names_.find(name);
  if (it == names_.end()) return false;
  if (it->second.find(node) == it->second.size()) return false;
  nodes_[node].names.erase(&*it);
  remove_held(it, node, out);
  release_if_unused(node);
  return true;
}

void NameTable::remove_held(NameMap::iterator it, NodeRef node, Output& out) {
  Slot& slot = *it;
  Claims& claims = slot.second;
  const size_t pos = claims.find(node);
  const bool was_visible = pos == 0;
  if (was_visible) out.events.push_back(event(EventKind::unregistered, slot, claims[pos]));
  --claim_count_;
  if (claims.size() == 1) {
    names_.erase(it);
    return;
  }
  claims.erase(pos);
  if (!was_visible) return;
  // A claim held in reserve becomes visible: its node never heard of the one that beat it.
  size_t best = 0;
  for (size_t i = 1; i < claims.size(); ++i) {
    if (beats(slot, claims[i], claims[best])) best = i;
  }
  std::swap(claims.front(), claims[best]);
  out.events.push_back(event(EventKind::registered, slot, claims.front()));
}

void NameTable::drop_node(const protocol::NodeId& node, Output& out) {
  const auto known = find_node(node);
  if (!known) return;
  const auto& names = nodes_[*known].names;
  remove_all(*known, std::vector<Slot*>(names.begin(), names.end()), out);
}

void NameTable::remove_all(NodeRef node, std::vector<Slot*> slots, Output& out) {
  // By pointer, in the names' sorted order (events in a deterministic order): a node may claim
  // 100,000 names, and readers wait while this runs.
  std::sort(slots.begin(), slots.end(),
            [](const Slot* a, const Slot* b) { return a->first < b->first; });
  out.events.reserve(out.events.size() + slots.size());
  auto& index = nodes_[node].names;
  const bool all = slots.size() == index.size();
  for (Slot* slot : slots) {
    if (!all) index.erase(slot);
    remove_held(names_.find(std::string_view(slot->first)), node, out);
  }
  if (all) index.clear();
  release_if_unused(node);
}

void NameTable::forget_local(const std::string& name, uint64_t pid) {
  const auto it = by_local_pid_.find(pid);
  if (it == by_local_pid_.end()) return;
  std::erase(it->second, name);
  if (it->second.empty()) by_local_pid_.erase(it);
}

void NameTable::drop_local(const std::string& name, const protocol::Pid& pid, Stamp stamp,
                           Output& out) {
  remove_claim(name, kSelf, out);
  broadcast(Update{UpdateKind::remove, Claim{name, pid, stamp, {}}}, out);
}

// -- this node's processes ----------------------------------------------------------------------

RegisterOutcome NameTable::register_name(std::string name, const protocol::Pid& pid,
                                         Metadata metadata, Time now) {
  RegisterOutcome outcome;
  if (pid.node != self()) {
    outcome.status = RegisterStatus::not_local;
    outcome.holder = pid;
    return outcome;
  }
  if (const auto it = names_.find(name); it != names_.end()) {
    outcome.status = RegisterStatus::already_registered;
    outcome.holder = pid_of(it->second.front());
    return outcome;
  }
  outcome.holder = pid;
  Claim claim{std::move(name), pid, clock_.tick(now), std::move(metadata)};
  by_local_pid_[pid.id].push_back(claim.name);
  Update update{UpdateKind::add, claim};
  add_claim(std::move(claim), now, outcome.output);
  broadcast(std::move(update), outcome.output);
  return outcome;
}

OwnerOutcome NameTable::unregister_name(std::string_view name, Time now) {
  OwnerOutcome outcome;
  const auto it = names_.find(name);
  if (it == names_.end()) {
    outcome.status = OwnerStatus::not_registered;
    return outcome;
  }
  const Held& owner = it->second.front();
  outcome.holder = pid_of(owner);
  if (owner.node != kSelf) {
    outcome.status = OwnerStatus::not_owner;
    return outcome;
  }
  const std::string held(name);
  const protocol::Pid pid = outcome.holder;
  forget_local(held, pid.id);
  drop_local(held, pid, clock_.tick(now), outcome.output);
  return outcome;
}

OwnerOutcome NameTable::update_metadata(std::string_view name, Metadata metadata, Time now) {
  OwnerOutcome outcome;
  const auto it = names_.find(name);
  if (it == names_.end()) {
    outcome.status = OwnerStatus::not_registered;
    return outcome;
  }
  const Held& owner = it->second.front();
  outcome.holder = pid_of(owner);
  if (owner.node != kSelf) {
    outcome.status = OwnerStatus::not_owner;
    return outcome;
  }
  (void)clock_.tick(now);
  if (text(owner.metadata) == metadata) return outcome;  // nothing changes, nothing to send
  // The claim as it was registered, with the new metadata: receivers recognize the claim by its
  // owner and stamp.
  broadcast(Update{UpdateKind::add, Claim{it->first, outcome.holder, owner.stamp(), metadata}},
            outcome.output);
  change_metadata(*it, 0, store(std::move(metadata)), now, outcome.output);
  return outcome;
}

Output NameTable::process_exit(protocol::Pid pid, Time now) {
  Output out;
  if (pid.node != self()) return out;
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
  if (peer.full_name() == self().full_name()) return out;
  // Any other run of this node is gone for good: its names with it.
  std::vector<protocol::NodeId> older;
  for (const auto& [node, ref] : node_refs_) {
    if (node != peer && node.name == peer.name && node.host == peer.host) older.push_back(node);
  }
  std::sort(older.begin(), older.end());
  for (const protocol::NodeId& node : older) drop_node(node, out);
  links_.insert_or_assign(peer.full_name(), peer);

  Sync sync;
  const auto& own = nodes_[kSelf].names;
  sync.claims.reserve(own.size());
  for (const Slot* slot : own) sync.claims.push_back(claim_of(*slot, slot->second.front()));
  std::sort(sync.claims.begin(), sync.claims.end(),
            [](const Claim& a, const Claim& b) { return a.name < b.name; });
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

Output NameTable::on_nodedown(const protocol::NodeId& peer, size_t max_names, bool* done) {
  Output out;
  if (linked(peer)) links_.erase(peer.full_name());
  *done = true;
  const auto known = find_node(peer);
  if (!known) return out;
  const auto& names = nodes_[*known].names;
  if (names.size() <= max_names) {
    drop_node(peer, out);
    return out;
  }
  *done = false;
  std::vector<Slot*> part;
  part.reserve(max_names);
  for (auto it = names.begin(); part.size() < max_names; ++it) part.push_back(*it);
  remove_all(*known, std::move(part), out);
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
  } else if (const auto sender = find_node(from)) {
    const Held* held = held_by(update.claim.name, *sender);
    if (held != nullptr && held->pid == update.claim.owner.id) {
      remove_claim(update.claim.name, *sender, out);
    }
  }
  return out;
}

Output NameTable::on_sync(const protocol::NodeId& from, const Sync& sync, Time now) {
  return on_sync(from, Sync(sync), now);
}

Output NameTable::on_sync(const protocol::NodeId& from, Sync&& sync, Time now) {
  Output out;
  if (!linked(from)) {
    ++stats_.dropped_unlinked;
    return out;
  }
  ++stats_.syncs_received;
  // What the sender no longer owns goes first, then what it owns now.
  if (const auto sender = find_node(from); sender && !nodes_[*sender].names.empty()) {
    std::unordered_set<std::string_view> synced;
    synced.reserve(sync.claims.size());
    for (const Claim& claim : sync.claims) {
      if (claim.owner.node == from) synced.insert(claim.name);
    }
    std::vector<Slot*> gone;
    for (Slot* slot : nodes_[*sender].names) {
      if (!synced.contains(slot->first)) gone.push_back(slot);
    }
    if (!gone.empty()) remove_all(*sender, std::move(gone), out);
  }
  out.events.reserve(out.events.size() + sync.claims.size());
  names_.reserve(names_.size() + sync.claims.size());
  // Unknown here: the sender claims nothing yet, every claim is new. Known: its ref stays the
  // same through the loop (a ref released on the way is the one the next intern takes back).
  const auto sender = find_node(from);
  for (Claim& claim : sync.claims) {
    if (claim.owner.node != from) {
      ++stats_.dropped_foreign;
      continue;
    }
    clock_.receive(claim.stamp, now);
    if (sender) {
      const Held* held = held_by(claim.name, *sender);
      if (held != nullptr && held->pid == claim.owner.id && held->stamp() == claim.stamp &&
          text(held->metadata) == claim.metadata) {
        continue;  // known as is
      }
    }
    add_claim(std::move(claim), now, out);
  }
  return out;
}

}  // namespace otp::global

namespace otp::global {

// -- reads --------------------------------------------------------------------------------------

std::optional<Owner> NameTable::whereis(std::string_view name) const {
  const auto it = names_.find(name);
  if (it == names_.end()) return std::nullopt;
  const Held& h = it->second.front();
  return Owner{pid_of(h), h.stamp(),
               h.metadata ? std::make_shared<const Metadata>(*h.metadata) : no_metadata()};
}

std::optional<protocol::Pid> NameTable::owner_pid(std::string_view name) const {
  const auto it = names_.find(name);
  if (it == names_.end()) return std::nullopt;
  return pid_of(it->second.front());
}

std::vector<std::string> NameTable::registered_names() const {
  std::vector<std::string> names;
  names.reserve(names_.size());
  for (const auto& [name, claims] : names_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<Claim> NameTable::snapshot() const {
  std::vector<Claim> visible;
  visible.reserve(names_.size());
  for (const Slot& slot : names_) visible.push_back(claim_of(slot, slot.second.front()));
  std::sort(visible.begin(), visible.end(),
            [](const Claim& a, const Claim& b) { return a.name < b.name; });
  return visible;
}

std::vector<Claim> NameTable::claims(std::string_view name) const {
  std::vector<Claim> all;
  const auto it = names_.find(name);
  if (it == names_.end()) return all;
  for (size_t i = 0; i < it->second.size(); ++i) all.push_back(claim_of(*it, it->second[i]));
  return all;
}

std::vector<protocol::NodeId> NameTable::peers() const {
  std::vector<protocol::NodeId> linked;
  linked.reserve(links_.size());
  for (const auto& [full_name, node] : links_) linked.push_back(node);
  std::sort(linked.begin(), linked.end());
  return linked;
}

}  // namespace otp::global
