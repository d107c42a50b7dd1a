#include "broadcast_queue.hpp"

#include <limits>

namespace otp::membership::detail {

void BroadcastQueue::push(Slot slot, std::string accuser) {
  erase(slot);
  const Key key{0, std::numeric_limits<uint64_t>::max() - ++pushed_};
  items_.emplace(key, Item{slot, std::move(accuser)});
  index_.emplace(slot, key);
}

void BroadcastQueue::erase(Slot slot) {
  auto it = index_.find(slot);
  if (it == index_.end()) return;
  items_.erase(it->second);
  index_.erase(it);
}

}  // namespace otp::membership::detail
