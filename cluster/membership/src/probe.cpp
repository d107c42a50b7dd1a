// Probing (SWIM): one member per probe interval, round-robin over a shuffled list; a direct
// ping, then ping_req through indirect_checks others, then suspicion. Lifeguard's local health
// awareness stretches the interval and the timeouts of a node that misses its own acks.
#include <algorithm>

#include "core.hpp"

namespace otp::membership {

std::optional<Slot> Membership::Core::next_probe_target(Time now) {
  // Suspects first, every other interval: the ping carries the suspicion (buddy system) and
  // the ack carries the suspect's refutation back, so an accuser that missed the refutation's
  // gossip still hears it before its timer runs out.
  // At most every other probe goes to a suspect, though: with several suspects (the other side
  // of a partition) they would otherwise take every probe, and the members not suspected yet
  // would wait, unprobed, until the suspects were declared failed.
  std::optional<Slot> suspect;
  if (!last_probe_was_suspect_) {
    for (auto& [slot, s] : suspicions_) {
      if (s.next_probe <= now && (!suspect || slot < *suspect)) suspect = slot;
    }
  }
  last_probe_was_suspect_ = suspect.has_value();
  if (suspect) {
    suspicions_[*suspect].next_probe = now + 2 * config_.probe_interval;
    return suspect;
  }
  for (size_t scanned = 0; scanned <= probe_list_.size();) {
    if (probe_index_ >= probe_list_.size()) {
      // End of a round: forget reaped members and start over in the same order. The list was
      // shuffled once (new members go to a random place), so each node probes in an order of
      // its own; keeping it makes the gap between two probes of a member exactly one round.
      // SWIM reshuffles every round, which bounds that gap by two rounds only: a member probed
      // first in one round and last in the next waits 2N - 3 periods, and a node that stops
      // answering was first probed (so first suspected) up to 1 s after it stopped on five
      // nodes, 0.6 s at the 90th percentile (tests/membership/detection_test.cpp).
      std::erase_if(probe_list_, [this](Slot s) {
        if (entries_[s].info) return false;
        entries_[s].in_probe_list = false;
        return true;
      });
      probe_index_ = 0;
      if (probe_list_.empty()) return std::nullopt;
    }
    const Slot s = probe_list_[probe_index_++];
    ++scanned;
    const Entry* e = entry(s);
    if (e != nullptr && (e->state == MemberState::alive || e->state == MemberState::suspect)) {
      return s;
    }
  }
  return std::nullopt;
}

void Membership::Core::run_probe(Time now, Output& out) {
  const Time due = probe_ ? probe_->deadline : next_probe_at_;
  if (now >= due + config_.probe_interval) {
    // We did not run for a whole interval past our own schedule (a pause, a starved process):
    // a missing ack says nothing about the target then, so no accusation; it does say that we
    // are unhealthy.
    ++stats_.stalls;
    awareness_.apply(1);
    probe_.reset();
    next_probe_at_ = now;
  }
  if (probe_) {
    if (!probe_->indirect_sent && now >= probe_->indirect_at) send_indirect_probes(out);
    if (probe_->indirect_sent && !probe_->retried && now >= probe_->retry_at &&
        now < probe_->deadline) {
      // A third direct ping, halfway between the indirect probes and the deadline: under random
      // loss the direct path is still the likeliest to work (memberlist ends with a ping over
      // TCP, which retransmits). At 10 % loss it cuts false suspicions about 5x, for one packet
      // on the ~19 % of probes that missed their first ack.
      probe_->retried = true;
      send_ping(out);
    }
    if (now >= probe_->deadline) finish_failed_probe(now, out);
  }
  if (!probe_ && now >= next_probe_at_) start_probe(now, out);
}

void Membership::Core::start_probe(Time now, Output& out) {
  const auto slot = next_probe_target(now);
  if (!slot) {
    next_probe_at_ = now + config_.probe_interval;
    return;
  }
  const Entry& e = entries_[*slot];
  Probe p;
  p.slot = *slot;
  p.target = e.info->id;
  p.seq = ++seq_;
  p.indirect_seq = ++seq_;
  p.indirect_at = now + awareness_.scale(config_.probe_timeout);
  p.deadline = now + awareness_.scale(config_.probe_interval);
  p.retry_at = p.indirect_at + (p.deadline - p.indirect_at) / 2;
  next_probe_at_ = p.deadline;
  ++stats_.probes;
  probe_ = std::move(p);
  send_ping(out);
}

void Membership::Core::send_ping(Output& out) {
  const Entry& e = entries_[probe_->slot];
  std::vector<gossip::Update> first;
  if (e.state == MemberState::suspect) {
    // Lifeguard's buddy system: a suspect hears of its suspicion from the prober at once.
    const auto& accusers = suspicions_[probe_->slot].accusers;
    if (auto u = update_about(probe_->slot, accusers.empty() ? "" : accusers.front())) {
      first.push_back(std::move(*u));
    }
  }
  send(e.info->gossip, gossip::Ping{probe_->seq, probe_->target, self_info()->id}, std::move(first),
       out);
}

void Membership::Core::send_indirect_probes(Output& out) {
  probe_->indirect_sent = true;
  const Entry* target = entry(probe_->slot);
  if (target == nullptr || target->info->id != probe_->target) return;
  const auto helpers = random_live_members(config_.indirect_checks, probe_->slot);
  probe_->expected_nacks = static_cast<uint32_t>(helpers.size());
  for (const Slot h : helpers) {
    ++stats_.indirect_probes;
    send(entries_[h].info->gossip,
         gossip::PingReq{probe_->indirect_seq, probe_->target, target->info->gossip, true}, {},
         out);
  }
  // A second direct ping beside them (memberlist's TCP fallback ping, over the datagram path):
  // under random loss the direct path is the likeliest to work, and it costs one packet per
  // probe that missed its first ack. It cuts false suspicions at 10% loss by about 5x.
  send_ping(out);
}

void Membership::Core::finish_failed_probe(Time now, Output& out) {
  const Probe p = std::move(*probe_);
  probe_.reset();
  ++stats_.probes_failed;
  // Lifeguard: helpers that did not even nack suggest that our own network is the problem;
  // without helpers every failed probe counts against our health. But one nack is enough to
  // show that our path out to a helper and back works: the helpers that stayed silent are then
  // unreachable themselves (across the same partition as the target, or down), which says
  // nothing about us. Counting them would slow the probing of a node on the small side of a
  // partition 8x, just when it must see the split (docs/membership.md, "Lifeguard").
  int delta = 0;
  if (p.expected_nacks == 0) {
    delta = 1;
  } else if (p.nacks == 0) {
    delta = static_cast<int>(p.expected_nacks);
  }
  awareness_.apply(delta);
  Entry* e = entry(p.slot);
  if (e == nullptr || e->info->id != p.target) return;  // replaced by a restarted run meanwhile
  if (e->state != MemberState::alive && e->state != MemberState::suspect) return;
  if (e->state == MemberState::alive) ++stats_.suspicions_raised;
  suspect(p.slot, e->incarnation, self_info()->full_name, now, out);
}

void Membership::Core::on_ack(uint32_t seq, Output& out) {
  if (probe_ && (probe_->seq == seq || probe_->indirect_seq == seq)) {
    if (probe_->seq == seq) heard_from(probe_->slot);  // the target itself answered us
    awareness_.apply(-1);
    probe_.reset();
    return;
  }
  if (auto it = last_calls_.find(seq); it != last_calls_.end()) {
    const Slot slot = it->second;
    last_calls_.erase(it);
    if (auto s = suspicions_.find(slot); s != suspicions_.end() && s->second.last_call == seq) {
      heard_from(slot);
    }
    return;
  }
  if (auto it = relays_.find(seq); it != relays_.end()) {
    const Relay relay = std::move(it->second);
    relays_.erase(it);
    if (relay.target) heard_from(*relay.target);
    send(relay.requester, gossip::Ack{relay.requester_seq}, {}, out);
  }
}

void Membership::Core::on_nack(uint32_t seq) {
  if (probe_ && probe_->indirect_seq == seq) {
    ++probe_->nacks;
    ++stats_.nacks_received;
  }
}

void Membership::Core::on_ping(const Address& from, const gossip::Ping& ping, Output& out) {
  const Info& me = *self_info();
  if (ping.target.creation != me.id.creation || ping.target.full_name() != me.full_name) {
    ++stats_.dropped_wrong_target;
    return;
  }
  std::vector<gossip::Update> first;
  // A prober we hold as failed (e.g. it was paused) learns it now, so it refutes at once
  // instead of waiting for a push-pull.
  heard_from(ping.source);
  const Entry* source = find_entry(ping.source.full_name());
  if (source != nullptr && source->info->id == ping.source &&
      (source->state == MemberState::failed || source->state == MemberState::suspect)) {
    const Slot slot = *names_->find(ping.source.full_name());
    if (auto u = update_about(slot, "")) first.push_back(std::move(*u));
  }
  send(from, gossip::Ack{ping.seq}, std::move(first), out);
}

void Membership::Core::on_ping_req(const Address& from, const gossip::PingReq& req, Time now,
                                   Output& out) {
  const uint32_t seq = ++seq_;
  // The nack must reach the requester before its probe interval ends: it sent us the request
  // probe_timeout into an interval of (at least) twice that.
  const Duration nack_after = config_.probe_timeout * 4 / 5;
  std::optional<Slot> target;
  if (const auto slot = names_->find(req.target.full_name());
      slot && entry(*slot) != nullptr && entries_[*slot].info->id == req.target) {
    target = *slot;
  }
  relays_[seq] = Relay{target, from, req.seq, req.want_nack, now + nack_after};
  send(req.target_address, gossip::Ping{seq, req.target, self_info()->id}, {}, out);
}

void Membership::Core::expire_relays(Time now, Output& out) {
  for (auto it = relays_.begin(); it != relays_.end();) {
    if (it->second.nack_at > now) {
      ++it;
      continue;
    }
    if (it->second.want_nack) {
      send(it->second.requester, gossip::Nack{it->second.requester_seq}, {}, out);
    }
    it = relays_.erase(it);
  }
}

}  // namespace otp::membership
