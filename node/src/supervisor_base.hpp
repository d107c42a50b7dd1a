// Private: what Supervisor and DynamicSupervisor share — starting a child and stopping children
// without ever blocking the scheduler thread (each step is an await on the child's start ack or
// its Down), the restart decision, and crash reports.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "otp/child_spec.hpp"
#include "otp/gen_server.hpp"
#include "restart_intensity.hpp"

namespace otp::detail {

/// Sent by a supervisor to itself when a restart failed: try again (each try counts as a restart).
/// Not sent when the restart failed because the child's name is taken (see name_taken).
struct TryAgainRestart {
  uint64_t key;  // Supervisor: index-free child id hash; DynamicSupervisor: old pid id
  std::string id;
};

class SupervisorBase : public GenServer {
 protected:
  // A stray call or cast does not bring the tree down: OTP's supervisor logs an unexpected cast
  // and keeps running too.
  SupervisorBase(int max_restarts, std::chrono::milliseconds max_time)
      : intensity_(max_restarts, max_time) {
    tolerate_unmatched();
  }

  Action init() override;

  /// Spawns the child linked to this supervisor and awaits its init; then `then(Result<Pid>)`.
  /// The child's init runs within the spawn (see spawn_server), so its outcome is usually known
  /// at once and `then` runs right away; only an init that awaits something is awaited here.
  /// A template so that `then` goes into the await as it is: wrapped in a std::function first, a
  /// continuation would cost an allocation of its own per start.
  template <class F>
  Action start_child_async(const ChildSpec& spec, F then) {
    // Children started one after the other from continuations nest one call per child; beyond
    // kMaxNestedStarts their outcomes come through the mailbox, which unwinds the stack.
    ChildStart s = spawn_child(spec, nested_starts_ < kMaxNestedStarts);
    if (s.outcome) {
      ++nested_starts_;
      struct Unnest {
        int& n;
        ~Unnest() { --n; }
      } unnest{nested_starts_};
      return then(std::move(*s.outcome));
    }
    return await_tag(s.tag, std::nullopt,
                     [then = std::move(then)](Result<Message> r) mutable -> Action {
                       if (!r) return then(Result<Pid>(r.error()));
                       return then(Result<Pid>(r->get<Pid>()));
                     });
  }
  /// Stops one child by its shutdown spec (unlink, monitor, exit shutdown, kill after the
  /// timeout) and awaits its Down.
  Action stop_child_async(const Pid& child, const Shutdown& how, std::function<Action()> then);
  /// Stops children one after the other, in the order given.
  Action stop_in_order(std::vector<std::pair<Pid, Shutdown>> children,
                       std::function<Action()> then);
  /// Stops children all at once (DynamicSupervisor; in batches of a thousand), killing those still
  /// alive after the longest shutdown timeout.
  Action stop_in_parallel(std::vector<std::pair<Pid, Shutdown>> children,
                          std::function<Action()> then);

  /// Does an exit with `reason` call for a restart? The restart type decides, except for a child
  /// that lost its global name in a conflict (otp::is_name_conflict): never restarted, since the
  /// name lives on in the winner and a new child could only fail to register it.
  static bool should_restart(Restart type, const Reason& reason);
  /// Did a (re)start fail because the child's name is held by another process? Such a restart is
  /// not retried: retrying could only fail the same way until the intensity gives up.
  static bool name_taken(const Error& error) { return error.code() == ErrorCode::already_started; }
  /// Records a restart; false when the restart intensity is exceeded (and logs it).
  bool allow_restart();
  /// Logs a child's exit: a crash as an error; a lost name conflict as a warning saying why the
  /// child is not restarted (`afterwards`: what becomes of it); other clean exits not at all.
  void report_child_exit(const std::string& id, const Pid& pid, const Reason& reason,
                         const char* afterwards);
  /// Logs a restart that failed because the child's name is taken (the error names the holder);
  /// `afterwards`: what becomes of the child.
  void report_name_taken(const std::string& id, const Error& error, const char* afterwards);
  void report(const std::string& text, const char* level = "info");

 private:
  struct ChildStart {
    Ref tag;                             // what the acknowledgement will carry, if it is sent
    std::optional<Result<Pid>> outcome;  // known already: nothing will be sent
  };
  /// Spawns the child linked to this supervisor. With outcome_here, a start that completes
  /// during the spawn reports its outcome in the result instead of sending it.
  ChildStart spawn_child(const ChildSpec& spec, bool outcome_here);
  static constexpr int kMaxNestedStarts = 64;
  int nested_starts_ = 0;
  Action stop_from(std::shared_ptr<std::vector<std::pair<Pid, Shutdown>>> children, size_t i,
                   std::function<Action()> then);
  Action stop_batch(std::shared_ptr<std::vector<std::pair<Pid, Shutdown>>> children, size_t from,
                    std::function<Action()> then);
  RestartIntensity intensity_;
};

}  // namespace otp::detail
