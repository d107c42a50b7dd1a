// otp::ChildSpec: how a supervisor starts, restarts and stops one child (OTP's child_spec map).
//
// clang-format off
//   otp::worker<Counter>("counter", 0)                     // {Counter, 0}: permanent worker
//     .named("counter")                                    // registered as "counter"
//     .restart(otp::Restart::transient)                    // restart only after a crash
//     .shutdown(otp::Shutdown::timeout(2s));               // stop: shutdown, kill after 2 s
// clang-format on
//
// Defaults follow OTP: permanent; workers get 5 s to stop, supervisors infinity. The chained
// setters (named, restart, shutdown) work on every ChildSpec, whatever built it (worker,
// supervisor::spec, dynamic_supervisor::spec and child, agent::spec, Registry::child_spec...);
// named(ref) registers the child under ref (a local, via or global name) at every (re)start.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "otp/gen_server.hpp"
#include "otp/server_ref.hpp"

namespace otp {

/// When a supervisor restarts a child that exited (OTP's restart). Whatever the type, a child
/// that lost its global name in a conflict (exit reason otp::name_conflict_reason()) is not
/// restarted: see supervisor.hpp.
enum class Restart {
  permanent,  // always restarted
  transient,  // restarted only after an abnormal exit (not normal, shutdown, {shutdown, _})
  temporary,  // never restarted; its spec is dropped when it exits
};

/// A worker, or a supervisor (gets Shutdown::infinity by default; counted apart).
enum class ChildType { worker, supervisor };

/// How a supervisor stops a child (OTP's shutdown): brutal_kill, timeout(t) or infinity.
class Shutdown {
 public:
  /// Which of the three.
  enum class Kind { brutal_kill, timeout, infinity };
  /// exit(child, kill) at once.
  static Shutdown brutal_kill() { return Shutdown(Kind::brutal_kill, {}); }
  /// exit(child, shutdown), then kill if it has not exited within t.
  static Shutdown timeout(std::chrono::milliseconds t) { return Shutdown(Kind::timeout, t); }
  /// exit(child, shutdown) and wait as long as it takes (for supervisors).
  static Shutdown infinity() { return Shutdown(Kind::infinity, {}); }
  /// Which of the three.
  Kind kind() const { return kind_; }
  /// The grace period of timeout(t); zero for the others.
  std::chrono::milliseconds time() const { return time_; }

 private:
  Shutdown(Kind k, std::chrono::milliseconds t) : kind_(k), time_(t) {}
  Kind kind_;
  std::chrono::milliseconds time_;
};

/// One child of a supervisor; build it with otp::worker<S>(id, args...) or a module's spec().
struct ChildSpec {
  /// Unique among the supervisor's children; names the child in errors and which_children.
  /// A DynamicSupervisor ignores it (its children are known by pid): it may stay empty there.
  std::string id;
  /// Builds a fresh server for every (re)start.
  detail::ServerFactory start;
  /// Registered under this name at every (re)start; none by default.
  std::optional<ServerRef> name;
  /// When it is restarted (default permanent).
  Restart restart_type = Restart::permanent;
  /// How it is stopped (default: shutdown, then kill after 5 s, as OTP gives workers).
  Shutdown shutdown_type = Shutdown::timeout(std::chrono::seconds(5));
  /// worker or supervisor.
  ChildType type = ChildType::worker;

  /// Sets name: the child is registered under n (a local name, otp::via(...), otp::global_name)
  /// at every (re)start, as start_link's name would register it.
  ChildSpec&& named(ServerRef n) && {
    name = std::move(n);
    return std::move(*this);
  }
  /// Sets restart_type.
  ChildSpec&& restart(Restart r) && {
    restart_type = r;
    return std::move(*this);
  }
  /// Sets shutdown_type.
  ChildSpec&& shutdown(Shutdown s) && {
    shutdown_type = s;
    return std::move(*this);
  }
};

/// A worker child running GenServer S constructed from args.
template <class S, class... Args>
ChildSpec worker(std::string id, Args&&... args) {
  ChildSpec spec;
  spec.id = std::move(id);
  spec.start = detail::make_factory<S>(std::forward<Args>(args)...);
  return spec;
}

/// What which_children reports for one child.
struct ChildInfo {
  std::string id;  // empty under a DynamicSupervisor
  Pid pid;         // invalid when the child is not running (OTP's :undefined)
  ChildType type = ChildType::worker;
  Restart restart = Restart::permanent;
};

/// What count_children reports.
struct ChildCounts {
  size_t specs = 0;        // children, running or not
  size_t active = 0;       // children running
  size_t supervisors = 0;  // children of type supervisor
  size_t workers = 0;      // children of type worker
};

}  // namespace otp
