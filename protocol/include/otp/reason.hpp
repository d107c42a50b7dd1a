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

/// Why a process exited: a kind to switch on and, for shutdown and error, a detail.
class Reason {
 public:
  /// The exit reasons of Erlang; links and supervisors act on the kind only.
  enum class Kind {
    normal,        // the process finished its work
    shutdown,      // ordered to stop by its supervisor / the node (detail: {shutdown, detail})
    kill,          // untrappable; only ever a signal, a process killed exits with `killed`
    killed,        // exit reason of a process that received `kill`
    noproc,        // the process did not exist (monitor/link of a dead pid)
    noconnection,  // the node hosting the process is unreachable
    error,         // anything else: a crash, a custom stop reason; detail says what
  };

  /// A normal exit.
  Reason() = default;  // normal
  /// detail: the X of {shutdown, X}, or what an error was; empty for the other kinds.
  Reason(Kind kind, std::string detail = {}) : kind_(kind), detail_(std::move(detail)) {}

  /// The process finished its work: not propagated over links, no restart of a transient child.
  static Reason normal() { return {Kind::normal}; }
  /// Ordered to stop; with a detail it prints as {shutdown, detail}. Clean, like normal: the
  /// custom stop reason for a server that ends on purpose, as Elixir's {:shutdown, :closed} is
  /// `stop(Reason::shutdown("closed"))` (a transient child is not restarted, nothing is logged,
  /// links and monitors, remote ones too, get the detail intact).
  static Reason shutdown(std::string detail = {}) { return {Kind::shutdown, std::move(detail)}; }
  /// The untrappable exit signal; a process killed by it exits with killed().
  static Reason kill() { return {Kind::kill}; }
  /// The exit reason of a process that received kill().
  static Reason killed() { return {Kind::killed}; }
  /// The process did not exist (a monitor or link of a dead pid).
  static Reason noproc() { return {Kind::noproc}; }
  /// The node hosting the process became unreachable.
  static Reason noconnection() { return {Kind::noconnection}; }
  /// A custom reason, e.g. Reason::error("bad_config") or the description of a crash: an
  /// abnormal exit (restarted, logged, propagated over links).
  static Reason error(std::string what) { return {Kind::error, std::move(what)}; }

  /// What kind of exit it is.
  Kind kind() const noexcept { return kind_; }
  /// The shutdown detail or the error description; empty for the other kinds.
  const std::string& detail() const noexcept { return detail_; }

  /// Kind::normal only (a {shutdown, _} is clean but not normal).
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
