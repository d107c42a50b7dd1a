// News about members (alive, suspect, dead, left) and what it does to this node's view: the
// rules of SWIM's incarnation numbers, Lifeguard's suspicion timers, and the events they raise.
#include <algorithm>

#include "core.hpp"

namespace otp::membership {

void Membership::Core::apply(const gossip::Update& u, Time now, Output& out) {
  switch (u.kind) {
    case gossip::UpdateKind::alive:
      apply_alive(u, now, out);
      return;
    case gossip::UpdateKind::suspect:
      apply_suspect(u, now, out);
      return;
    case gossip::UpdateKind::dead:
    case gossip::UpdateKind::left:
      apply_dead(u, now, out);
      return;
  }
}

void Membership::Core::apply_alive(const gossip::Update& u, Time now, Output& out) {
  if (!u.has_info) {
    ++stats_.dropped_malformed;
    return;
  }
  const std::string full = u.node.full_name();
  const Info& me = *self_info();
  if (full == me.full_name) {
    const Entry& self = entries_[self_slot_];
    // News of an earlier run of ours (or of a namesake) does not concern this run.
    if (u.node.creation != me.id.creation || leaving_) return;
    if (u.incarnation > self.incarnation ||
        (u.incarnation == self.incarnation && !me.same(u.node, u.gossip, u.meta))) {
      refute(u.incarnation);
    }
    return;
  }
  const auto found = names_->find(full);
  Entry* e = found ? entry(*found) : nullptr;
  if (e == nullptr) {
    const Slot s = add_entry(u.node, u.gossip, u.meta, now);
    entries_[s].incarnation = u.incarnation;
    emit(EventKind::joined, entries_[s], out);
    queue_.push(s, "");
    return;
  }
  const Slot s = *found;
  if (u.node.creation < e->info->id.creation) return;  // a previous run's stale news
  if (u.node.creation > e->info->id.creation) {
    // A restarted node replaces its previous run whatever the incarnations; the previous run
    // is reported gone first, so users drop what they held of it (its pids).
    if (e->state == MemberState::alive || e->state == MemberState::suspect) {
      set_state(s, MemberState::failed, now);
      emit(EventKind::failed, *e, out);
    }
    e->info = names_->intern(s, u.node, u.gossip, u.meta);
    e->incarnation = u.incarnation;
    set_state(s, MemberState::alive, now);
    emit(EventKind::joined, *e, out);
    queue_.push(s, "");
    return;
  }
  if (u.incarnation <= e->incarnation) return;
  const MemberState old = e->state;
  const bool changed = !e->info->same(u.node, u.gossip, u.meta);
  if (changed) e->info = names_->intern(s, u.node, u.gossip, u.meta);
  e->incarnation = u.incarnation;
  if (old != MemberState::alive) set_state(s, MemberState::alive, now);
  if (old == MemberState::suspect || old == MemberState::failed) {
    emit(EventKind::alive, *e, out);
  } else if (old == MemberState::left) {
    emit(EventKind::joined, *e, out);
  }
  if (changed && old != MemberState::left) emit(EventKind::updated, *e, out);
  queue_.push(s, "");
}

void Membership::Core::apply_suspect(const gossip::Update& u, Time now, Output& out) {
  const std::string full = u.node.full_name();
  if (full == self_info()->full_name) {
    on_accused(u);
    return;
  }
  const auto found = names_->find(full);
  Entry* e = found ? entry(*found) : nullptr;
  if (e == nullptr || e->info->id.creation != u.node.creation) return;
  if (u.incarnation < e->incarnation) return;
  suspect(*found, u.incarnation, u.accuser, now, out);
}

void Membership::Core::suspect(Slot slot, uint32_t incarnation, const std::string& accuser,
                               Time now, Output& out) {
  Entry& e = entries_[slot];
  if (e.state == MemberState::suspect) {
    auto it = suspicions_.find(slot);
    if (it == suspicions_.end()) return;
    Suspicion& s = it->second;
    if (incarnation > e.incarnation) {
      // The member refuted the suspicion we hold (we missed that) and is suspected anew: a
      // fresh timer, not a confirmation of the old one (which would shorten it unduly).
      e.incarnation = incarnation;
      s.start = now;
      s.deadline = now + suspicion_timeout(0, s.k, s.min, s.max);
      s.accusers.assign(1, accuser);
      queue_.push(slot, accuser);
      return;
    }
    // Lifeguard: each independent accuser (up to k) brings the timeout closer to its minimum,
    // and is gossiped on so that the others' timers shrink too.
    if (accuser.empty() || s.accusers.size() > s.k ||
        std::find(s.accusers.begin(), s.accusers.end(), accuser) != s.accusers.end()) {
      return;
    }
    s.accusers.push_back(accuser);
    const auto confirmations = static_cast<uint32_t>(s.accusers.size() - 1);
    s.deadline = s.start + suspicion_timeout(confirmations, s.k, s.min, s.max);
    queue_.push(slot, accuser);
    return;
  }
  if (e.state != MemberState::alive) return;
  e.incarnation = incarnation;
  set_state(slot, MemberState::suspect, now);
  Suspicion s;
  s.start = now;
  s.min = min_suspicion_timeout(config_, present_);
  s.max = s.min * config_.suspicion_max_timeout_mult;
  s.k = expected_confirmations(config_, present_);
  s.deadline = now + suspicion_timeout(0, s.k, s.min, s.max);
  s.accusers.push_back(accuser);
  s.next_probe = now;
  suspicions_[slot] = std::move(s);
  ++stats_.suspicions_started;
  emit(EventKind::suspect, e, out);
  queue_.push(slot, accuser);
}

void Membership::Core::expire_suspicions(Time now, Output& out) {
  std::vector<Slot> expired;
  for (const auto& [slot, s] : suspicions_) {
    if (s.deadline <= now) expired.push_back(slot);
  }
  std::sort(expired.begin(), expired.end());  // unordered_map order is not deterministic enough
  for (const Slot slot : expired) {
    ++stats_.declared_failed;
    declare_failed(slot, self_info()->full_name, now, out);
  }
}

void Membership::Core::declare_failed(Slot slot, const std::string& accuser, Time now,
                                      Output& out) {
  set_state(slot, MemberState::failed, now);
  emit(EventKind::failed, entries_[slot], out);
  queue_.push(slot, accuser);
}

void Membership::Core::apply_dead(const gossip::Update& u, Time now, Output& out) {
  const std::string full = u.node.full_name();
  if (full == self_info()->full_name) {
    on_accused(u);
    return;
  }
  const auto found = names_->find(full);
  Entry* e = found ? entry(*found) : nullptr;
  if (e == nullptr || e->info->id.creation != u.node.creation) return;
  if (u.incarnation < e->incarnation) return;
  if (e->state == MemberState::failed || e->state == MemberState::left) return;
  e->incarnation = u.incarnation;
  if (u.kind == gossip::UpdateKind::left) {
    set_state(*found, MemberState::left, now);
    emit(EventKind::left, *e, out);
    queue_.push(*found, "");
  } else {
    declare_failed(*found, u.accuser, now, out);
  }
}

void Membership::Core::on_accused(const gossip::Update& u) {
  if (u.node.creation != self_info()->id.creation || leaving_) return;
  if (u.incarnation >= entries_[self_slot_].incarnation) {
    refute(u.incarnation);
  } else {
    // Stale news: we refuted already, but the sender never heard it (our refutation is sent
    // only retransmit_limit times, and loss may have hidden all of them from this member). Our
    // current state goes out again, first on the reply we are about to send it (Lifeguard's
    // buddy system pings a suspect with its suspicion, so this reaches the accuser directly).
    queue_.push(self_slot_, "");
  }
}

void Membership::Core::refute(uint32_t accused_incarnation) {
  Entry& self = entries_[self_slot_];
  self.incarnation = std::max(self.incarnation, accused_incarnation) + 1;
  ++stats_.refutations;
  // Lifeguard: being suspected hints that our own acks got lost.
  awareness_.apply(1);
  queue_.push(self_slot_, "");
}

void Membership::Core::emit(EventKind kind, const Entry& e, Output& out) const {
  out.events.push_back(Event{kind, to_member(e)});
}

std::optional<gossip::Update> Membership::Core::update_about(Slot slot,
                                                             const std::string& accuser) const {
  const Entry* e = entry(slot);
  if (e == nullptr) return std::nullopt;
  gossip::Update u;
  u.node = e->info->id;
  u.incarnation = e->incarnation;
  switch (e->state) {
    case MemberState::alive:
      u.kind = gossip::UpdateKind::alive;
      u.has_info = true;
      u.gossip = e->info->gossip;
      u.meta = e->info->meta;
      break;
    case MemberState::suspect:
      u.kind = gossip::UpdateKind::suspect;
      u.accuser = accuser.empty() ? self_info()->full_name : accuser;
      break;
    case MemberState::failed:
      u.kind = gossip::UpdateKind::dead;
      u.accuser = accuser.empty() ? self_info()->full_name : accuser;
      break;
    case MemberState::left:
      u.kind = gossip::UpdateKind::left;
      break;
  }
  return u;
}

}  // namespace otp::membership
