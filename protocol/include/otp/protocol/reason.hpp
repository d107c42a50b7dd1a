// otp::protocol::ExitReason: an exit reason as it crosses the wire, {kind, detail}. The kinds
// mirror otp::Reason's (otp/reason.hpp); the transport converts between the two.
// Wire ids are explicit: ONLY APPEND to ReasonKind, the numbers are part of the protocol.
//
// clang-format off
//   ExitReason{ReasonKind::error, "boom"}      // a crash
//   ExitReason{ReasonKind::noconnection, ""}   // what a monitor of a pid on a lost node gets
// clang-format on
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace otp::protocol {

/// ONLY APPEND. The numeric values are part of the protocol itself.
enum class ReasonKind : uint8_t {
  normal = 0,
  shutdown = 1,  // detail: {shutdown, detail} when not empty
  kill = 2,
  killed = 3,
  noproc = 4,
  noconnection = 5,
  error = 6,  // detail says what
};

/// "normal", "shutdown", ...: the kind's name in the JSON codec; "unknown" for another value.
const char* to_string(ReasonKind kind);
/// The kind named name; nullopt for a name this version does not know.
std::optional<ReasonKind> reason_kind_from_string(std::string_view name);

/// An exit reason on the wire (see above); the transport converts it to and from otp::Reason.
struct ExitReason {
  /// What kind of exit.
  ReasonKind kind = ReasonKind::normal;
  /// For shutdown the X of {shutdown, X}, for error what happened; usually empty otherwise.
  std::string detail;

  /// "normal", "shutdown", "{shutdown, detail}", "error: detail", ...
  std::string to_string() const;
  friend bool operator==(const ExitReason&, const ExitReason&) = default;
  friend std::ostream& operator<<(std::ostream& os, const ExitReason& r) {
    return os << r.to_string();
  }
};

}  // namespace otp::protocol
