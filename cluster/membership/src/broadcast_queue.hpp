// Updates waiting to be piggybacked, each sent a limited number of times (memberlist's
// TransmitLimitedQueue). One item per member: news about a member replaces older news about it.
// Least-sent items go first, newest first among equals, so fresh news spreads fastest.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "name_table.hpp"
#include "otp/protocol/gossip.hpp"

namespace otp::membership::detail {

class BroadcastQueue {
 public:
  /// Queues news about slot (the core encodes it from the member's state when sending);
  /// accuser is the full name of who suspects / declared it dead, if anyone.
  void push(Slot slot, std::string accuser);
  void erase(Slot slot);
  bool contains(Slot slot) const { return index_.contains(slot); }
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }

  /// Appends queued updates to out while they fit in budget bytes; each is counted as sent
  /// once and dropped after `limit` sends. make(slot, accuser) returns the update to send, or
  /// nullopt when the news is stale (then it is dropped). Returns the bytes used.
  template <class Make>
  size_t fill(size_t budget, uint32_t limit, std::vector<protocol::gossip::Update>& out,
              Make&& make);

 private:
  struct Key {
    uint32_t transmits = 0;
    uint64_t newest_first = 0;  // UINT64_MAX - insertion order
    friend auto operator<=>(const Key&, const Key&) = default;
  };
  struct Item {
    Slot slot = 0;
    std::string accuser;
  };
  // Bounds the work per packet when the queue is long and its first items do not fit.
  static constexpr size_t kMaxScan = 64;
  // No update is smaller than this (kind, flags, two one-byte strings, creation, incarnation).
  static constexpr size_t kMinUpdateSize = 8;

  std::map<Key, Item> items_;
  std::unordered_map<Slot, Key> index_;
  uint64_t pushed_ = 0;
};

template <class Make>
size_t BroadcastQueue::fill(size_t budget, uint32_t limit,
                            std::vector<protocol::gossip::Update>& out, Make&& make) {
  size_t used = 0;
  size_t scanned = 0;
  std::vector<std::pair<Key, Item>> sent_again;
  for (auto it = items_.begin();
       it != items_.end() && scanned < kMaxScan && budget - used >= kMinUpdateSize;) {
    ++scanned;
    std::optional<protocol::gossip::Update> update = make(it->second.slot, it->second.accuser);
    if (!update) {
      index_.erase(it->second.slot);
      it = items_.erase(it);
      continue;
    }
    const size_t size = protocol::gossip::encoded_size(*update);
    if (size > budget - used) {
      ++it;
      continue;
    }
    used += size;
    out.push_back(std::move(*update));
    Key key = it->first;
    Item item = std::move(it->second);
    it = items_.erase(it);
    if (++key.transmits < limit) {
      sent_again.emplace_back(key, std::move(item));
    } else {
      index_.erase(item.slot);
    }
  }
  for (auto& [key, item] : sent_again) {
    index_[item.slot] = key;
    items_.emplace(key, std::move(item));
  }
  return used;
}

}  // namespace otp::membership::detail
