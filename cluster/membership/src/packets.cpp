// Receiving (authenticate, decode, dispatch), sending (piggybacking queued updates up to the
// datagram budget), gossip rounds and the push-pull full-state exchange.
#include "core.hpp"

namespace otp::membership {

bool Membership::Core::count_rejection(gossip::Rejection r) {
  switch (r) {
    case gossip::Rejection::none:
      return false;
    case gossip::Rejection::oversized:
      ++stats_.dropped_oversized;
      break;
    case gossip::Rejection::malformed:
      ++stats_.dropped_malformed;
      break;
    case gossip::Rejection::unsupported_version:
      ++stats_.dropped_unsupported_version;
      break;
    case gossip::Rejection::other_cluster:
      ++stats_.dropped_other_cluster;
      break;
    case gossip::Rejection::bad_mac:
      ++stats_.dropped_bad_mac;
      break;
  }
  return true;
}

Output Membership::Core::on_packet(const Address& from, std::span<const uint8_t> bytes,
                                   Channel channel, Time now) {
  Output out;
  if (started_) latest_ = std::max(latest_, now);
  ++stats_.packets_received;
  stats_.bytes_received += bytes.size();
  const size_t limit =
      channel == Channel::datagram ? config_.max_datagram_size : config_.max_stream_size;
  if (count_rejection(gossip::authenticate(bytes, key_, limit))) return out;
  auto packet = gossip::decode(bytes);
  if (!packet) {
    ++stats_.dropped_malformed;
    return out;
  }
  const bool is_push_pull = std::holds_alternative<gossip::PushPull>(packet->body);
  if (is_push_pull != (channel == Channel::stream)) {
    ++stats_.dropped_wrong_channel;
    return out;
  }
  for (const gossip::Update& u : packet->updates) apply(u, now, out);
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, gossip::Ping>) {
          on_ping(from, body, out);
        } else if constexpr (std::is_same_v<T, gossip::PingReq>) {
          on_ping_req(from, body, now, out);
        } else if constexpr (std::is_same_v<T, gossip::Ack>) {
          on_ack(body.seq, out);
        } else if constexpr (std::is_same_v<T, gossip::Nack>) {
          on_nack(body.seq);
        } else if constexpr (std::is_same_v<T, gossip::PushPull>) {
          on_push_pull(from, body, now, out);
        }
      },
      packet->body);
  return out;
}

void Membership::Core::send(const Address& to, gossip::Body body, std::vector<gossip::Update> first,
                            Output& out) {
  gossip::Packet packet{std::move(body), {}};
  // Two bytes for the update count: up to 16383 updates, more than any datagram holds.
  const size_t overhead = gossip::encoded_size_without_updates(packet.body, key_) + 1;
  size_t budget = config_.max_datagram_size > overhead ? config_.max_datagram_size - overhead : 0;
  for (auto& u : first) {
    const size_t size = gossip::encoded_size(u);
    if (size > budget) continue;
    budget -= size;
    packet.updates.push_back(std::move(u));
  }
  queue_.fill(budget, retransmits(), packet.updates, [this](Slot slot, const std::string& accuser) {
    return update_about(slot, accuser);
  });
  stats_.updates_sent += packet.updates.size();
  std::vector<uint8_t> bytes = gossip::encode(packet, key_);
  ++stats_.packets_sent;
  stats_.bytes_sent += bytes.size();
  out.packets.push_back(Outgoing{to, std::move(bytes), Channel::datagram});
}

void Membership::Core::gossip_round(Output& out) {
  if (queue_.empty()) return;
  for (const Slot target : random_live_members(config_.gossip_nodes, self_slot_)) {
    if (queue_.empty()) return;
    send(entries_[target].info->gossip, gossip::Gossip{}, {}, out);
  }
}

void Membership::Core::start_push_pull(const Address& to, bool join, Output& out) {
  std::vector<uint8_t> bytes = gossip::encode(gossip::Packet{full_state(false, join), {}}, key_);
  ++stats_.push_pulls_sent;
  ++stats_.packets_sent;
  stats_.bytes_sent += bytes.size();
  out.packets.push_back(Outgoing{to, std::move(bytes), Channel::stream});
}

gossip::PushPull Membership::Core::full_state(bool reply, bool join) {
  gossip::PushPull pp{reply, join, self_info()->id, {}};
  pp.members.reserve(present_);
  // Ten bytes for the member count varint, whatever it is.
  const size_t overhead = gossip::encoded_size_without_updates(pp, key_) + 10;
  size_t budget = config_.max_stream_size > overhead ? config_.max_stream_size - overhead : 0;
  for (Slot slot = 0; slot < entries_.size(); ++slot) {
    const Entry& e = entries_[slot];
    if (!e.info) continue;
    gossip::Update u;
    u.node = e.info->id;
    u.incarnation = e.incarnation;
    u.has_info = true;
    u.gossip = e.info->gossip;
    u.meta = e.info->meta;
    switch (e.state) {
      case MemberState::alive:
        u.kind = gossip::UpdateKind::alive;
        break;
      case MemberState::suspect:
        u.kind = gossip::UpdateKind::suspect;
        break;
      case MemberState::failed:
        u.kind = gossip::UpdateKind::dead;
        break;
      case MemberState::left:
        u.kind = gossip::UpdateKind::left;
        break;
    }
    const size_t size = gossip::encoded_size(u);
    if (size > budget) {
      ++stats_.push_pull_truncated;
      break;
    }
    budget -= size;
    pp.members.push_back(std::move(u));
  }
  return pp;
}

void Membership::Core::on_push_pull(const Address& from, const gossip::PushPull& pp, Time now,
                                    Output& out) {
  ++stats_.push_pulls_received;
  heard_from(pp.source);
  const std::string source = pp.source.full_name();
  for (gossip::Update u : pp.members) {
    if (!u.has_info) continue;
    switch (u.kind) {
      case gossip::UpdateKind::alive:
        apply_alive(u, now, out);
        break;
      case gossip::UpdateKind::suspect:
      case gossip::UpdateKind::dead: {
        // Like memberlist, a remote verdict of death only makes us suspect: our own timer
        // decides, and the member gets the chance to refute. A member we did not know at all is
        // learnt as alive first, so a late joiner also watches the suspect.
        if (find_entry(u.node.full_name()) == nullptr) {
          gossip::Update alive = u;
          alive.kind = gossip::UpdateKind::alive;
          if (u.kind == gossip::UpdateKind::dead) break;
          apply_alive(alive, now, out);
        }
        u.kind = gossip::UpdateKind::suspect;
        if (u.accuser.empty()) u.accuser = source;
        apply_suspect(u, now, out);
        break;
      }
      case gossip::UpdateKind::left:
        apply_dead(u, now, out);
        break;
    }
  }
  if (!pp.reply) {
    std::vector<uint8_t> bytes = gossip::encode(gossip::Packet{full_state(true, false), {}}, key_);
    ++stats_.packets_sent;
    stats_.bytes_sent += bytes.size();
    out.packets.push_back(Outgoing{from, std::move(bytes), Channel::stream});
  }
}

}  // namespace otp::membership
