// Member names as small integers (slots), and each member's latest info shared between the cores
// that use one table. A core keeps its per-member state in a vector indexed by slot, so that a
// simulated cluster of 10,000 nodes (10^8 member entries) fits in a few GB; production gives each
// core a table of its own. Not thread-safe: share a table only between cores of one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "otp/membership/member.hpp"

namespace otp::membership::detail {

using Slot = uint32_t;

/// What a member says about itself, immutable once built (shared by every entry that holds it).
struct Info {
  protocol::NodeId id;
  Address gossip;
  Metadata meta;
  std::string full_name;  // id.full_name(), computed once

  bool same(const protocol::NodeId& i, const Address& g, const Metadata& m) const {
    return id == i && gossip == g && meta == m;
  }
};

using InfoPtr = std::shared_ptr<const Info>;

class NameTable {
 public:
  /// The slot of full_name, created if new. Every acquire is paired with one release.
  Slot acquire(std::string_view full_name);
  /// Drops one reference; the last one frees the slot for reuse.
  void release(Slot slot);
  std::optional<Slot> find(std::string_view full_name) const;
  /// One past the highest slot ever handed out.
  size_t capacity() const { return slots_.size(); }

  /// An Info holding these values: the one last interned for this slot when equal (no copy).
  InfoPtr intern(Slot slot, const protocol::NodeId& id, const Address& gossip,
                 const Metadata& meta);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct SlotData {
    std::string name;
    uint32_t refs = 0;
    InfoPtr latest;
  };

  std::unordered_map<std::string, Slot, Hash, std::equal_to<>> by_name_;
  std::vector<SlotData> slots_;
  std::vector<Slot> free_;
};

}  // namespace otp::membership::detail
