// otp::protocol::NodeId: the identity of one run of a node, `name@host` plus a creation number
// that changes at every start, so a pid from a dead incarnation never reaches the new one.
//
// clang-format off
//   NodeId a{"a", "10.0.0.1", 7};
//   a.to_string();    // "a@10.0.0.1#7"
//   a.full_name();    // "a@10.0.0.1" (what users type; creation is for the runtime)
// clang-format on
//
// Comparable (by name, host, creation), hashable (std::hash), printable.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace otp::protocol {

/// One run of a node (see above): a value; equal only when name, host and creation are.
struct NodeId {
  std::string name;       // the node's name, e.g. "a"
  std::string host;       // the host it runs on, e.g. "127.0.0.1" or a DNS name
  uint64_t creation = 0;  // changes at every start of the node, and grows: see new_creation

  /// "name@host".
  std::string full_name() const;
  /// "name@host#creation".
  std::string to_string() const;

  friend bool operator==(const NodeId&, const NodeId&) = default;
  friend std::strong_ordering operator<=>(const NodeId&, const NodeId&) = default;
  friend std::ostream& operator<<(std::ostream& os, const NodeId& n) { return os << n.to_string(); }
};

/// A creation number for a node that is starting: the wall clock in microseconds since the Unix
/// epoch, so a restarted node's run is newer than its previous one (membership keeps the run
/// with the larger creation) unless the clock stepped back by more than the restart took. Never
/// 0 (0 means "not chosen yet").
uint64_t new_creation();

/// Combines a hash into a seed (boost::hash_combine's mixing).
inline size_t hash_combine(size_t seed, size_t h) noexcept {
  return seed ^ (h + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

}  // namespace otp::protocol

template <>
/// Hashes name, host and creation, for unordered containers.
struct std::hash<otp::protocol::NodeId> {
  size_t operator()(const otp::protocol::NodeId& n) const noexcept {
    size_t h = std::hash<std::string>{}(n.name);
    h = otp::protocol::hash_combine(h, std::hash<std::string>{}(n.host));
    return otp::protocol::hash_combine(h, std::hash<uint64_t>{}(n.creation));
  }
};
