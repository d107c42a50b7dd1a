// Construction, the member table, timers and the facade of Membership.
#include "core.hpp"

#include <algorithm>

namespace otp::membership {

Membership::Core::Core(Options config, protocol::NodeId self, Address gossip_address,
                       Metadata metadata, uint64_t rng_seed,
                       std::shared_ptr<detail::NameTable> names)
    : config_(std::move(config)),
      key_{config_.cluster, config_.cookie},
      names_(names ? std::move(names) : std::make_shared<detail::NameTable>()),
      rng_(rng_seed),
      gossip_address_(std::move(gossip_address)),
      awareness_(config_.awareness_max_multiplier) {
  self_slot_ = add_entry(self, gossip_address_, metadata, Time{}, true);
}

Membership::Core::~Core() {
  for (Slot s = 0; s < entries_.size(); ++s) {
    if (entries_[s].info) names_->release(s);
  }
}

// -- the member table ---------------------------------------------------------------------------

Membership::Core::Entry* Membership::Core::entry(Slot slot) {
  if (slot >= entries_.size() || !entries_[slot].info) return nullptr;
  return &entries_[slot];
}

const Membership::Core::Entry* Membership::Core::entry(Slot slot) const {
  if (slot >= entries_.size() || !entries_[slot].info) return nullptr;
  return &entries_[slot];
}

const Membership::Core::Entry* Membership::Core::find_entry(std::string_view full_name) const {
  const auto slot = names_->find(full_name);
  if (!slot || *slot >= entries_.size() || !entries_[*slot].info) return nullptr;
  return &entries_[*slot];
}

Slot Membership::Core::add_entry(const protocol::NodeId& id, const Address& gossip,
                                 const Metadata& meta, Time now, bool is_self) {
  const Slot slot = names_->acquire(id.full_name());
  if (slot >= entries_.size()) entries_.resize(std::max<size_t>(slot + 1, names_->capacity()));
  Entry& e = entries_[slot];
  e.info = names_->intern(slot, id, gossip, meta);
  e.incarnation = 0;
  e.state = MemberState::alive;
  e.since = now;
  ++present_;
  if (is_self) return slot;
  ++live_peers_;
  if (!e.in_probe_list) {
    // At a random place, so a new member is probed within a round, not after everyone else.
    e.in_probe_list = true;
    probe_list_.push_back(slot);
    const size_t at = std::uniform_int_distribution<size_t>(0, probe_list_.size() - 1)(rng_);
    std::swap(probe_list_[at], probe_list_.back());
  }
  return slot;
}

void Membership::Core::remove_entry(Slot slot) {
  Entry& e = entries_[slot];
  if (e.state == MemberState::alive || e.state == MemberState::suspect) --live_peers_;
  e.info.reset();
  --present_;
  suspicions_.erase(slot);
  queue_.erase(slot);
  names_->release(slot);
  // The probe list drops it at its next reshuffle (in_probe_list stays set until then, so a slot
  // reused meanwhile is not listed twice).
}

void Membership::Core::set_state(Slot slot, MemberState state, Time now) {
  Entry& e = entries_[slot];
  const bool was_live = e.state == MemberState::alive || e.state == MemberState::suspect;
  const bool is_live = state == MemberState::alive || state == MemberState::suspect;
  if (slot != self_slot_) {
    if (was_live && !is_live) --live_peers_;
    if (!was_live && is_live) ++live_peers_;
  }
  if (state != MemberState::suspect) suspicions_.erase(slot);
  e.state = state;
  e.since = now;
  if (slot != self_slot_ && state == MemberState::failed) {
    reap_queue_.emplace(now + config_.reap_failed_after, slot);
  } else if (slot != self_slot_ && state == MemberState::left) {
    reap_queue_.emplace(now + config_.reap_left_after, slot);
  }
}

Member Membership::Core::to_member(const Entry& e) const {
  return Member{e.info->id, e.info->gossip, e.info->meta, e.incarnation, e.state};
}

void Membership::Core::reap(Time now) {
  while (!reap_queue_.empty() && reap_queue_.begin()->first <= now) {
    const Slot slot = reap_queue_.begin()->second;
    reap_queue_.erase(reap_queue_.begin());
    Entry* e = entry(slot);
    if (e == nullptr) continue;
    if (e->state != MemberState::failed && e->state != MemberState::left) continue;
    const Duration after =
        e->state == MemberState::failed ? config_.reap_failed_after : config_.reap_left_after;
    // A member that died again later, or left after failing, has a newer reap time of its own.
    if (e->since + after > now) continue;
    remove_entry(slot);
    ++stats_.reaped;
  }
}

std::vector<Slot> Membership::Core::random_live_members(size_t n, Slot exclude) {
  std::vector<Slot> picked;
  if (probe_list_.empty() || n == 0) return picked;
  // Sampling with a bounded number of tries (memberlist's kRandomNodes): O(n), not O(members).
  std::uniform_int_distribution<size_t> pick(0, probe_list_.size() - 1);
  for (size_t tries = 0; tries < 3 * n + 8 && picked.size() < n; ++tries) {
    const Slot s = probe_list_[pick(rng_)];
    const Entry* e = entry(s);
    if (e == nullptr || s == exclude || s == self_slot_ || e->state != MemberState::alive) {
      continue;
    }
    if (std::find(picked.begin(), picked.end(), s) != picked.end()) continue;
    picked.push_back(s);
  }
  return picked;
}

// -- the facade ---------------------------------------------------------------------------------

Output Membership::Core::join(std::vector<Address> seeds, Time now) {
  Output out;
  started_ = true;
  joined_at_ = now;
  latest_ = now;
  set_seeds(std::move(seeds));
  // Random phases, so nodes started together do not probe and gossip in lockstep.
  const auto phase = [&](Duration period) {
    return Duration(
        std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(0, period.count() - 1))(rng_));
  };
  next_probe_at_ = now + phase(config_.probe_interval);
  next_gossip_at_ = now + phase(config_.gossip_interval);
  next_push_pull_at_ = now + push_pull_interval(config_, present_) / 2 +
                       phase(push_pull_interval(config_, present_) / 2);
  for (const Address& seed : seeds_) start_push_pull(seed, true, out);
  // Announce ourselves too (memberlist's setAlive): otherwise the news of a join spreads only
  // from the seed, and a node that misses those copies learns of us at the next push-pull.
  queue_.push(self_slot_, "");
  next_seed_at_ = now + config_.seed_retry_interval;
  next_reconnect_at_ = now + phase(config_.reconnect_interval);
  return out;
}

void Membership::Core::set_seeds(std::vector<Address> seeds) {
  std::erase(seeds, gossip_address_);
  seeds_ = std::move(seeds);
}

void Membership::Core::contact_seed(Time now, Output& out) {
  next_seed_at_ = now + config_.seed_retry_interval;
  if (seeds_.empty()) return;
  start_push_pull(seeds_[seed_index_++ % seeds_.size()], true, out);
}

void Membership::Core::reconnect(Time now, Output& out) {
  // Uniform in [interval / 2, 3 * interval / 2]: on average one attempt per interval, and the
  // nodes of a healed partition do not all push-pull across in the same instant (a push-pull
  // brings the other side's verdicts, which every receiver must then get refuted).
  const int64_t interval = config_.reconnect_interval.count();
  next_reconnect_at_ = now + Duration(interval / 2 + std::uniform_int_distribution<int64_t>(
                                                         0, std::max<int64_t>(0, interval))(rng_));
  // The reap queue holds every failed or left member (and stale pairs, skipped here).
  std::vector<Slot> failed;
  for (const auto& [at, slot] : reap_queue_) {
    const Entry* e = entry(slot);
    if (e != nullptr && e->state == MemberState::failed &&
        std::find(failed.begin(), failed.end(), slot) == failed.end()) {
      failed.push_back(slot);
    }
  }
  if (failed.empty()) return;
  const Slot pick = failed[std::uniform_int_distribution<size_t>(0, failed.size() - 1)(rng_)];
  start_push_pull(entries_[pick].info->gossip, false, out);
}

Output Membership::Core::tick(Time now) {
  Output out;
  if (!started_) return out;
  latest_ = std::max(latest_, now);
  expire_relays(now, out);
  expire_suspicions(now, out);
  if (!leaving_) run_probe(now, out);
  if (now >= next_gossip_at_) {
    gossip_round(out);
    next_gossip_at_ = now + config_.gossip_interval;
  }
  if (!leaving_ && now >= next_push_pull_at_) {
    next_push_pull_at_ = now + push_pull_interval(config_, present_);
    const auto peer = random_live_members(1, self_slot_);
    if (!peer.empty()) start_push_pull(entries_[peer[0]].info->gossip, false, out);
  }
  if (!leaving_ && live_peers_ == 0 && now >= next_seed_at_) contact_seed(now, out);
  if (!leaving_ && now >= next_reconnect_at_) reconnect(now, out);
  reap(now);
  return out;
}

Time Membership::Core::next_deadline() const {
  if (!started_) return kNever;
  Time t = kNever;
  if (!leaving_) {
    if (probe_) {
      if (!probe_->indirect_sent) {
        t = probe_->indirect_at;
      } else if (!probe_->retried && probe_->retry_at < probe_->deadline) {
        t = probe_->retry_at;
      } else {
        t = probe_->deadline;
      }
    } else {
      t = next_probe_at_;
    }
    t = std::min(t, next_push_pull_at_);
    if (live_peers_ == 0 && !seeds_.empty()) t = std::min(t, next_seed_at_);
    if (!reap_queue_.empty()) t = std::min(t, next_reconnect_at_);
  }
  if (!queue_.empty()) t = std::min(t, next_gossip_at_);
  for (const auto& [seq, relay] : relays_) t = std::min(t, relay.nack_at);
  for (const auto& [slot, s] : suspicions_) t = std::min(t, suspicion_deadline(s));
  if (!reap_queue_.empty()) t = std::min(t, reap_queue_.begin()->first);
  return t;
}

Output Membership::Core::leave(Time now) {
  Output out;
  if (leaving_) return out;
  leaving_ = true;
  probe_.reset();
  Entry& self = entries_[self_slot_];
  ++self.incarnation;
  self.state = MemberState::left;
  self.since = now;
  queue_.push(self_slot_, "");
  gossip_round(out);
  return out;
}

bool Membership::Core::leave_propagated() const {
  return leaving_ && (!queue_.contains(self_slot_) || live_peers_ == 0);
}

Output Membership::Core::update_metadata(Metadata metadata, Time now) {
  Output out;
  Entry& self = entries_[self_slot_];
  self.info = names_->intern(self_slot_, self.info->id, self.info->gossip, metadata);
  ++self.incarnation;
  self.since = now;
  queue_.push(self_slot_, "");
  if (started_) gossip_round(out);
  return out;
}

Output Membership::Core::update_address(Address gossip, Metadata metadata, Time now) {
  gossip_address_ = std::move(gossip);
  Entry& self = entries_[self_slot_];
  self.info = names_->intern(self_slot_, self.info->id, gossip_address_, metadata);
  ++self.incarnation;
  self.since = now;
  queue_.push(self_slot_, "");
  Output out;
  if (started_) gossip_round(out);
  return out;
}

std::vector<Member> Membership::Core::members() const {
  std::vector<Member> all;
  all.reserve(present_);
  for (const Entry& e : entries_) {
    if (e.info) all.push_back(to_member(e));
  }
  return all;
}

std::optional<Member> Membership::Core::member(std::string_view full_name) const {
  const Entry* e = find_entry(full_name);
  if (e == nullptr) return std::nullopt;
  return to_member(*e);
}

Stats Membership::Core::stats() const {
  Stats s = stats_;
  s.awareness = awareness_.score();
  s.running = started_ ? latest_ - joined_at_ : Duration(0);
  return s;
}

void Membership::Core::preload(std::span<const Member> members, Time now) {
  for (const Member& m : members) {
    if (m.id.full_name() == self_info()->full_name || find_entry(m.id.full_name()) != nullptr) {
      continue;
    }
    const Slot slot = add_entry(m.id, m.gossip, m.meta, now);
    entries_[slot].incarnation = m.incarnation;
  }
}

// -- Membership forwards to its core ------------------------------------------------------------

Membership::Membership(Options config, protocol::NodeId self, Address gossip_address,
                       Metadata metadata, uint64_t rng_seed)
    : Membership(std::move(config), std::move(self), std::move(gossip_address), std::move(metadata),
                 rng_seed, nullptr) {}

Membership::Membership(Options config, protocol::NodeId self, Address gossip_address,
                       Metadata metadata, uint64_t rng_seed,
                       std::shared_ptr<detail::NameTable> names)
    : core_(std::make_unique<Core>(std::move(config), std::move(self), std::move(gossip_address),
                                   std::move(metadata), rng_seed, std::move(names))) {}

Membership::~Membership() = default;
Membership::Membership(Membership&&) noexcept = default;
Membership& Membership::operator=(Membership&&) noexcept = default;

Output Membership::join(std::vector<Address> seeds, Time now) {
  return core_->join(std::move(seeds), now);
}
void Membership::set_seeds(std::vector<Address> seeds) {
  core_->set_seeds(std::move(seeds));
}
Output Membership::on_packet(const Address& from, std::span<const uint8_t> bytes, Channel channel,
                             Time now) {
  return core_->on_packet(from, bytes, channel, now);
}
Output Membership::tick(Time now) {
  return core_->tick(now);
}
Time Membership::next_deadline() const {
  return core_->next_deadline();
}
Output Membership::leave(Time now) {
  return core_->leave(now);
}
bool Membership::leave_propagated() const {
  return core_->leave_propagated();
}
Output Membership::update_metadata(Metadata metadata, Time now) {
  return core_->update_metadata(std::move(metadata), now);
}
Output Membership::update_address(Address gossip, Metadata metadata, Time now) {
  return core_->update_address(std::move(gossip), std::move(metadata), now);
}
std::vector<Member> Membership::members() const {
  return core_->members();
}
std::optional<Member> Membership::member(std::string_view full_name) const {
  return core_->member(full_name);
}
size_t Membership::live_peers() const {
  return core_->live_peers();
}
const protocol::NodeId& Membership::self() const {
  return core_->self();
}
uint32_t Membership::incarnation() const {
  return core_->incarnation();
}
Stats Membership::stats() const {
  return core_->stats();
}
void Membership::preload(std::span<const Member> members, Time now) {
  core_->preload(members, now);
}

}  // namespace otp::membership
