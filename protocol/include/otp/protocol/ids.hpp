// otp::protocol::Pid and Ref: a process and a reference (monitor, call tag) as they cross the
// wire: the NodeId of the node that made them plus a number unique on that node run. The
// transport maps them to and from the node's otp::Pid / otp::Ref.
//
// clang-format off
//   Pid p{NodeId{"a", "h", 1}, 42};   p.to_string() == "<a@h#1.42>"
//   Ref r{NodeId{"a", "h", 1}, 7};    r.to_string() == "#Ref<a@h#1.7>"
// clang-format on
//
// A Target is where a message goes: a pid, or a name registered on the receiving node (Erlang's
// {Name, Node} addressing; the node is the connection's peer).
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <variant>

#include "otp/protocol/node_id.hpp"

namespace otp::protocol {

/// A process on some node.
struct Pid {
  /// The node run the process lives on.
  NodeId node;
  /// The process number, unique on that node run.
  uint64_t id = 0;

  /// "<a@h#1.42>".
  std::string to_string() const;
  friend bool operator==(const Pid&, const Pid&) = default;
  friend std::strong_ordering operator<=>(const Pid&, const Pid&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Pid& p) { return os << p.to_string(); }
};

/// A reference made on some node (a monitor, a call's tag).
struct Ref {
  /// The node run that made the ref.
  NodeId node;
  /// Unique on that node run.
  uint64_t id = 0;

  /// "#Ref<a@h#1.7>".
  std::string to_string() const;
  friend bool operator==(const Ref&, const Ref&) = default;
  friend std::strong_ordering operator<=>(const Ref&, const Ref&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Ref& r) { return os << r.to_string(); }
};

/// A pid, or a name registered on the receiving node. On the wire a name is a string and a pid
/// is not, so the two never mix up.
using Target = std::variant<Pid, std::string>;

/// "<a@h#1.42>" or the name.
std::string to_string(const Target& target);

}  // namespace otp::protocol

template <>
/// Hashes node and id, for unordered containers.
struct std::hash<otp::protocol::Pid> {
  size_t operator()(const otp::protocol::Pid& p) const noexcept {
    return otp::protocol::hash_combine(std::hash<otp::protocol::NodeId>{}(p.node),
                                       std::hash<uint64_t>{}(p.id));
  }
};

template <>
/// Hashes node and id, for unordered containers.
struct std::hash<otp::protocol::Ref> {
  size_t operator()(const otp::protocol::Ref& r) const noexcept {
    return otp::protocol::hash_combine(std::hash<otp::protocol::NodeId>{}(r.node),
                                       std::hash<uint64_t>{}(r.id));
  }
};
