#include "name_table.hpp"

namespace otp::membership::detail {

Slot NameTable::acquire(std::string_view full_name) {
  if (auto it = by_name_.find(full_name); it != by_name_.end()) {
    ++slots_[it->second].refs;
    return it->second;
  }
  Slot slot = 0;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<Slot>(slots_.size());
    slots_.emplace_back();
  }
  slots_[slot] = SlotData{std::string(full_name), 1, nullptr};
  by_name_.emplace(std::string(full_name), slot);
  return slot;
}

void NameTable::release(Slot slot) {
  SlotData& d = slots_[slot];
  if (--d.refs > 0) return;
  by_name_.erase(d.name);
  d = SlotData{};
  free_.push_back(slot);
}

std::optional<Slot> NameTable::find(std::string_view full_name) const {
  auto it = by_name_.find(full_name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

InfoPtr NameTable::intern(Slot slot, const protocol::NodeId& id, const Address& gossip,
                          const Metadata& meta) {
  SlotData& d = slots_[slot];
  if (d.latest && d.latest->same(id, gossip, meta)) return d.latest;
  d.latest = std::make_shared<const Info>(Info{id, gossip, meta, d.name});
  return d.latest;
}

}  // namespace otp::membership::detail
