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
struct RuntimeAccess;
}  // namespace detail

/// A process's identity, local or remote; a value (copy it freely).
class Pid {
 public:
  /// An invalid pid (`!pid`); every operation on it fails with noproc.
  Pid() = default;
  /// The pid of a process control block (the runtime makes pids; users get them from start).
  explicit Pid(std::shared_ptr<detail::Process> process);

  /// False for a default-constructed pid. A valid pid may name a dead process.
  bool valid() const noexcept { return process_ != nullptr; }
  /// valid().
  explicit operator bool() const noexcept { return valid(); }

  /// The node incarnation the process belongs to (the first number of `<1.42.0>`).
  uint32_t node_serial() const noexcept { return node_serial_; }
  /// A process of another node (see otp/distribution.hpp).
  bool remote() const noexcept;
  /// The process number within its node (the second number of `<1.42.0>`).
  uint64_t id() const noexcept { return id_; }

  /// `<1.42.0>`, `<b@host.42.0>` for a remote process, `<invalid>`.
  std::string to_string() const;

  friend bool operator==(const Pid& a, const Pid& b) noexcept {
    return a.id_ == b.id_ && a.node_serial_ == b.node_serial_;
  }
  friend std::strong_ordering operator<=>(const Pid& a, const Pid& b) noexcept {
    if (auto c = a.node_serial_ <=> b.node_serial_; c != 0) return c;
    return a.id_ <=> b.id_;
  }
  friend std::ostream& operator<<(std::ostream& os, const Pid& p) { return os << p.to_string(); }

 private:
  friend struct detail::RuntimeAccess;  // the process control block
  std::shared_ptr<detail::Process> process_;
  uint32_t node_serial_ = 0;
  uint64_t id_ = 0;
};

/// A unique reference (Erlang's make_ref): names a monitor, a call, a timer.
class Ref {
 public:
  /// An invalid ref (`!ref`).
  Ref() = default;
  /// A fresh reference, unique in this OS process.
  static Ref make();

  /// The number behind the ref (unique in this OS process; 0 for an invalid ref).
  uint64_t value() const noexcept { return value_; }
  /// False for a default-constructed ref.
  bool valid() const noexcept { return value_ != 0; }
  /// valid().
  explicit operator bool() const noexcept { return valid(); }
  /// `#Ref<977>`.
  std::string to_string() const { return "#Ref<" + std::to_string(value_) + ">"; }

  friend bool operator==(const Ref&, const Ref&) = default;
  friend auto operator<=>(const Ref&, const Ref&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Ref& r) { return os << r.to_string(); }

 private:
  friend struct detail::RuntimeAccess;  // a ref that came back from another node
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
