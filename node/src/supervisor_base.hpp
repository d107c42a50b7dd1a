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
struct TryAgainRestart {
  uint64_t key;  // Supervisor: index-free child id hash; DynamicSupervisor: old pid id
  std::string id;
};

class SupervisorBase : public GenServer {
 protected:
  SupervisorBase(int max_restarts, std::chrono::milliseconds max_time)
      : intensity_(max_restarts, max_time) {}

  Action init() override;

  /// Spawns the child linked to this supervisor and awaits its init; then `then(Result<Pid>)`.
  /// A template so that `then` goes into the await as it is: wrapped in a std::function first, a
  /// continuation would cost an allocation of its own per start.
  template <class F>
  Action start_child_async(const ChildSpec& spec, F then) {
    Result<Ref> tag = spawn_child(spec);
    if (!tag) return then(Result<Pid>(tag.error()));
    return await_tag(*tag, std::nullopt,
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

  /// Does the restart type call for a restart after an exit with `reason`?
  static bool should_restart(Restart type, const Reason& reason);
  /// Records a restart; false when the restart intensity is exceeded (and logs it).
  bool allow_restart();
  void report_child_exit(const std::string& id, const Pid& pid, const Reason& reason);
  void report(const std::string& text, const char* level = "info");

 private:
  /// Spawns the child linked to this supervisor; the tag its init acknowledgement will carry.
  Result<Ref> spawn_child(const ChildSpec& spec);
  Action stop_from(std::shared_ptr<std::vector<std::pair<Pid, Shutdown>>> children, size_t i,
                   std::function<Action()> then);
  Action stop_batch(std::shared_ptr<std::vector<std::pair<Pid, Shutdown>>> children, size_t from,
                    std::function<Action()> then);
  RestartIntensity intensity_;
};

}  // namespace otp::detail
