// otp::Pid and otp::Ref: the identity of a process and of a monitor, call or timer.
//
// A Pid is printable (`<1.42.0>`: node serial, process number; `<b@host.42.0>` for a process
// of another node), comparable and hashable, and stays valid after its process died: operations
// on a dead pid fail with noproc or are dropped, as in Erlang. A Ref is unique within the OS
// process (`#Ref<977>`).
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

namespace otp {

namespace detail {
class Process;
}

class Pid {
 public:
  /// An invalid pid (`!pid`); every operation on it fails with noproc.
  Pid() = default;
  explicit Pid(std::shared_ptr<detail::Process> process);

  bool valid() const noexcept { return process_ != nullptr; }
  explicit operator bool() const noexcept { return valid(); }

  uint32_t node_serial() const noexcept { return node_serial_; }
  /// A process of another node (see otp/distribution.hpp).
  bool remote() const noexcept;
  uint64_t id() const noexcept { return id_; }

  std::string to_string() const;

  friend bool operator==(const Pid& a, const Pid& b) noexcept {
    return a.id_ == b.id_ && a.node_serial_ == b.node_serial_;
  }
  friend std::strong_ordering operator<=>(const Pid& a, const Pid& b) noexcept {
    if (auto c = a.node_serial_ <=> b.node_serial_; c != 0) return c;
    return a.id_ <=> b.id_;
  }
  friend std::ostream& operator<<(std::ostream& os, const Pid& p) { return os << p.to_string(); }

  /// Internal: the process control block.
  const std::shared_ptr<detail::Process>& process() const noexcept { return process_; }

 private:
  std::shared_ptr<detail::Process> process_;
  uint32_t node_serial_ = 0;
  uint64_t id_ = 0;
};

class Ref {
 public:
  Ref() = default;
  /// A fresh reference, unique in this OS process.
  static Ref make();
  /// Internal (the distribution): the reference with this value.
  static Ref from_value(uint64_t value) { return Ref(value); }

  uint64_t value() const noexcept { return value_; }
  bool valid() const noexcept { return value_ != 0; }
  explicit operator bool() const noexcept { return valid(); }
  std::string to_string() const { return "#Ref<" + std::to_string(value_) + ">"; }

  friend bool operator==(const Ref&, const Ref&) = default;
  friend auto operator<=>(const Ref&, const Ref&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Ref& r) { return os << r.to_string(); }

 private:
  explicit Ref(uint64_t v) : value_(v) {}
  uint64_t value_ = 0;
};

}  // namespace otp

template <>
struct std::hash<otp::Pid> {
  // The id itself, not a scrambled one: pids are numbered in start order, so a node's pids
  // fill neighbouring buckets of a hash table (a supervisor's link set of 100,000 children then
  // inserts into warm memory instead of a random bucket). The node goes to the high bits.
  size_t operator()(const otp::Pid& p) const noexcept {
    return std::hash<uint64_t>{}(p.id() ^ (uint64_t{p.node_serial()} << 40));
  }
};
template <>
struct std::hash<otp::Ref> {
  size_t operator()(const otp::Ref& r) const noexcept { return std::hash<uint64_t>{}(r.value()); }
};
