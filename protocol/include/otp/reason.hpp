// otp::Reason: why a process exited, as in Erlang (normal, shutdown, {shutdown, X}, kill, killed,
// noproc, noconnection, or an error with a description).
//
// Reasons drive links and supervisors exactly as in OTP: `normal` exits do not propagate over
// links and do not restart transient children; `shutdown` and `{shutdown, X}` are "clean" too for
// transient children and are not logged as crashes; `kill` can not be trapped and turns into
// `killed` for everyone linked to the victim.
#pragma once

#include <ostream>
#include <string>

namespace otp {

class Reason {
 public:
  enum class Kind {
    normal,        // the process finished its work
    shutdown,      // ordered to stop by its supervisor / the node (detail: {shutdown, detail})
    kill,          // untrappable; only ever a signal, a process killed exits with `killed`
    killed,        // exit reason of a process that received `kill`
    noproc,        // the process did not exist (monitor/link of a dead pid)
    noconnection,  // the node hosting the process is unreachable
    error,         // anything else: a crash, a custom stop reason; detail says what
  };

  Reason() = default;  // normal
  Reason(Kind kind, std::string detail = {}) : kind_(kind), detail_(std::move(detail)) {}

  static Reason normal() { return {Kind::normal}; }
  static Reason shutdown(std::string detail = {}) { return {Kind::shutdown, std::move(detail)}; }
  static Reason kill() { return {Kind::kill}; }
  static Reason killed() { return {Kind::killed}; }
  static Reason noproc() { return {Kind::noproc}; }
  static Reason noconnection() { return {Kind::noconnection}; }
  /// A custom reason, e.g. Reason::error("bad_config") or the description of a crash.
  static Reason error(std::string what) { return {Kind::error, std::move(what)}; }

  Kind kind() const noexcept { return kind_; }
  const std::string& detail() const noexcept { return detail_; }

  bool is_normal() const noexcept { return kind_ == Kind::normal; }
  /// normal, shutdown or {shutdown, _}: an exit a transient child is not restarted for.
  bool is_clean() const noexcept { return kind_ == Kind::normal || kind_ == Kind::shutdown; }

  /// "normal", "shutdown", "{shutdown, detail}", "killed", "error: detail", ...
  std::string to_string() const;

  friend bool operator==(const Reason& a, const Reason& b) {
    return a.kind_ == b.kind_ && a.detail_ == b.detail_;
  }
  friend std::ostream& operator<<(std::ostream& os, const Reason& r) { return os << r.to_string(); }

 private:
  Kind kind_ = Kind::normal;
  std::string detail_;
};

}  // namespace otp
