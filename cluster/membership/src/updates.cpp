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
      s.accusers.assign(1, accuser);
      s.heard = false;
      s.held_until = Time{};
      s.last_call = 0;
      s.declared_elsewhere = false;
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
  s.accusers.push_back(accuser);
  s.next_probe = now;
  suspicions_[slot] = std::move(s);
  ++stats_.suspicions_started;
  emit(EventKind::suspect, e, out);
  queue_.push(slot, accuser);
}

uint32_t Membership::Core::expected_confirmations_now(const Suspicion& s) const {
  // Lifeguard expects k independent confirmations before the timer is down to its minimum. Only
  // members we hold alive can give one: a member we suspect ourselves is one we cannot hear
  // (across a partition, or down). So k shrinks to the alive members, but never below one: a node
  // whose suspicions nobody confirms (it is deaf, or alone on its side) still waits the maximum,
  // which leaves the suspects time to refute. On the two-node side of a 2|3 partition the peer's
  // own suspicions are that one confirmation, instead of waiting near the maximum for two that
  // cannot come.
  if (s.k == 0) return 0;
  const size_t suspects = suspicions_.size();
  const size_t alive_others = live_peers_ > suspects ? live_peers_ - suspects : 0;
  return static_cast<uint32_t>(std::clamp<size_t>(alive_others, 1, s.k));
}

Time Membership::Core::suspicion_deadline(const Suspicion& s) const {
  const auto confirmations = static_cast<uint32_t>(s.accusers.size() - 1);
  const Time timer =
      s.declared_elsewhere
          ? s.start + s.min
          : s.start + suspicion_timeout(confirmations, expected_confirmations_now(s), s.min, s.max);
  const Time verdict = std::max(timer, s.held_until);
  // The last call goes out one probe timeout before the verdict is due, so that its answer is
  // in by then: it costs the verdict no time (it used to add that timeout to every verdict).
  if (s.last_call == 0) return verdict - awareness_.scale(config_.probe_timeout);
  return verdict;
}

void Membership::Core::heard_from(Slot slot) {
  if (auto it = suspicions_.find(slot); it != suspicions_.end()) it->second.heard = true;
}

void Membership::Core::heard_from(const protocol::NodeId& id) {
  if (suspicions_.empty()) return;
  const auto slot = names_->find(id.full_name());
  if (slot && entry(*slot) != nullptr && entries_[*slot].info->id == id) heard_from(*slot);
}

void Membership::Core::expire_suspicions(Time now, Output& out) {
  // Last calls whose suspicion ended (refuted, declared, held) are not waited for any more.
  std::erase_if(last_calls_, [this](const auto& call) {
    const auto it = suspicions_.find(call.second);
    return it == suspicions_.end() || it->second.last_call != call.first;
  });
  std::vector<Slot> expired;
  std::vector<Slot> last_calls;
  for (auto& [slot, s] : suspicions_) {
    if (suspicion_deadline(s) > now) continue;
    if (s.heard) {
      // The suspect itself spoke to us after we suspected it (a partition healed, or loss hid
      // its answers for a while): we do not declare it failed. Our suspicion stays (only a
      // higher incarnation clears it: SWIM's rule), the verdict waits one more minimum timeout
      // and we ping it now: the ping carries the suspicion, its ack the refutation. If it
      // stays silent from now on, the timer fires then.
      s.heard = false;
      s.last_call = 0;
      s.held_until = now + s.min;
      s.next_probe = now;
      ++stats_.verdicts_held;
      continue;
    }
    if (s.last_call == 0) {
      last_calls.push_back(slot);
      continue;
    }
    expired.push_back(slot);
  }
  // unordered_map order is not deterministic enough
  std::sort(last_calls.begin(), last_calls.end());
  std::sort(expired.begin(), expired.end());
  for (const Slot slot : last_calls) {
    // The last call: one ping, carrying the suspicion, answered within a probe timeout by a
    // member that is reachable now. Sent that timeout before the verdict is due (see
    // suspicion_deadline), it makes sure that a member reachable at the moment of the verdict
    // is not declared failed by us (e.g. just after a partition healed, before its refutation
    // reached us).
    Suspicion& s = suspicions_.at(slot);
    s.last_call = ++seq_;
    s.held_until = std::max(s.held_until, now + awareness_.scale(config_.probe_timeout));
    last_calls_[s.last_call] = slot;
    std::vector<gossip::Update> first;
    if (auto u = update_about(slot, s.accusers.front())) first.push_back(std::move(*u));
    const Entry& e = entries_[slot];
    send(e.info->gossip, gossip::Ping{s.last_call, e.info->id, self_info()->id}, std::move(first),
         out);
  }
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
  if (u.kind == gossip::UpdateKind::left) {
    e->incarnation = u.incarnation;
    set_state(*found, MemberState::left, now);
    emit(EventKind::left, *e, out);
    queue_.push(*found, "");
    return;
  }
  // Another member's verdict is taken as it is when we have nothing better: we have suspected
  // the member ourselves for at least the minimum timeout (so we would have declared it too,
  // given the confirmations) and have not heard from it since. Otherwise it is a confirmation
  // of our suspicion, or starts one, and our timer runs at its minimum from the suspicion's
  // start: our own evidence decides, and the member is pinged with the accusation (last call)
  // before we declare it. Its refutation, a higher incarnation, then overrides the verdict
  // everywhere. This keeps a verdict raced by a heal from spreading to the nodes that talk to
  // the member (memberlist treats a dead in push-pull the same way). A crash costs the nodes
  // that missed the suspicion one minimum timeout more.
  const auto running = suspicions_.find(*found);
  if (running != suspicions_.end() && !running->second.heard &&
      now >= running->second.start + running->second.min) {
    e->incarnation = u.incarnation;
    declare_failed(*found, u.accuser, now, out);
    return;
  }
  suspect(*found, u.incarnation, u.accuser, now, out);
  if (auto it = suspicions_.find(*found); it != suspicions_.end()) {
    it->second.declared_elsewhere = true;
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
