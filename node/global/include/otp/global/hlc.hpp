// A hybrid logical clock (Kulkarni et al., 2014): stamps that follow physical time (milliseconds
// of the driver's wall clock) yet never go backwards and always order an event after every
// stamp this node has seen, so "registered earlier" means the same thing on every node.
//
// clang-format off
//   Hlc clock;
//   Stamp a = clock.tick(now);             // a local event
//   Stamp b = clock.receive(remote, now);  // a stamp from a peer: b > remote, b > a
// clang-format on
//
// Stamps compare by physical time, then by the logical counter; two nodes can make equal
// stamps (the name table breaks those ties by owner).
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <ostream>
#include <string>

namespace otp::global {

/// Milliseconds of the driver's wall clock (system_clock since the Unix epoch in production, so
/// that stamps of different nodes are comparable; virtual time in the simulator). It may jump
/// backwards (NTP): stamps do not.
using Time = std::chrono::milliseconds;

/// One point of the hybrid logical clock.
struct Stamp {
  uint64_t physical_ms = 0;  // the largest wall-clock time seen, in ms
  uint32_t logical = 0;      // orders events within one physical_ms

  /// "physical_ms.logical", e.g. "1700000000123.4".
  std::string to_string() const;  // "1700000000123.4"
  friend bool operator==(const Stamp&, const Stamp&) = default;
  friend std::strong_ordering operator<=>(const Stamp&, const Stamp&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Stamp& s) { return os << s.to_string(); }
};

/// The clock of one node: tick() for a local event, receive() for every stamp from a peer.
class Hlc {
 public:
  /// A stamp for a local event: greater than every stamp made or received before.
  Stamp tick(Time now);
  /// Merges a peer's stamp: the result is greater than `remote` and than every earlier stamp.
  Stamp receive(const Stamp& remote, Time now);
  /// The last stamp made.
  const Stamp& last() const { return last_; }

 private:
  Stamp last_{};
};

}  // namespace otp::global
