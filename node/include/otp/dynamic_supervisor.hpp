// otp::dynamic_supervisor: Elixir's DynamicSupervisor. Starts no children at first; children are
// added with start_child and have no ids (a pid names them): build their specs with
// dynamic_supervisor::child<S>(args...), which sets none; a spec that has an id (worker<S>(id,
// ...), a module's child_spec) is taken as well and its id ignored, as Elixir's
// DynamicSupervisor ignores it. Strategy one_for_one; restart intensity as for supervisors;
// max_children bounds how many run at once. The seed's TaskRunner:
//
// clang-format off
//   auto sup = dynamic_supervisor::start_link(node, {}, name("TaskSupervisor")).value();
//   Pid pid = dynamic_supervisor::start_child(node, "TaskSupervisor",
//                                             dynamic_supervisor::child<TaskRunner>(1)).value();
//   dynamic_supervisor::terminate_child(node, "TaskSupervisor", pid);
// clang-format on
//
// Semantics: a supervisor's one_for_one (see supervisor.hpp) without stopped children. A child
// that exits with otp::name_conflict_reason() (it lost its global name to another node's
// process) is removed: not restarted, whatever its restart type, and not counted towards the
// restart intensity. A restart that fails with already_started (the child's name was taken by
// another process after it exited) is not retried: the child is removed, the failure counts for
// nothing beyond the restart that was attempted, and the supervisor logs an error naming the
// holder and stays up. Other failed restarts are retried, each try counting as a restart.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "otp/child_spec.hpp"
#include "otp/supervisor.hpp"

namespace otp {

/// A DynamicSupervisor's flags.
struct DynamicSupervisorOptions {
  /// Restart intensity: at most max_restarts within max_time, or the supervisor gives up.
  int max_restarts = 3;
  std::chrono::milliseconds max_time = std::chrono::seconds(5);
  /// start_child beyond this fails with max_children; nullopt = unbounded.
  std::optional<size_t> max_children = std::nullopt;
};

namespace dynamic_supervisor {

// -- requests (handle_call protocol; usable with await_call) --
/// The request behind start_child.
struct StartChild {
  ChildSpec spec;
};
/// The request behind terminate_child.
struct TerminateChild {
  Pid pid;
};
/// The request behind which_children.
struct WhichChildren {};
/// The request behind count_children.
struct CountChildren {};

/// Starts a DynamicSupervisor with no children. Errors: already_started for a taken name;
/// would_block inside a handler (nest it with spec instead).
Result<Pid> start_link(Node& node, DynamicSupervisorOptions flags = {},
                       std::optional<Name> name = std::nullopt);
/// A DynamicSupervisor as a child of a supervisor, registered under name at every (re)start
/// when one is given (the same as chaining .named(name)).
ChildSpec spec(std::string id, DynamicSupervisorOptions flags = {},
               std::optional<Name> name = std::nullopt);

/// A child spec without an id for start_child: GenServer S constructed from args, a permanent
/// worker; chain .named(), .restart(), .shutdown() as on any ChildSpec.
template <class S, class... Args>
ChildSpec child(Args&&... args) {
  ChildSpec spec;
  spec.start = detail::make_factory<S>(std::forward<Args>(args)...);
  return spec;
}

/// Starts a child; the spec's id, if any, is ignored (logs name the child by it). Errors:
/// max_children, the child's own start error (init_failed, ignored...).
Result<Pid> start_child(Node& node, const ServerRef& sup, ChildSpec spec);
/// Stops a child by its shutdown spec. Errors: not_found.
Result<void> terminate_child(Node& node, const ServerRef& sup, const Pid& child);
/// The running children (ids are empty). Errors: noproc.
Result<std::vector<ChildInfo>> which_children(Node& node, const ServerRef& sup);
/// How many children, running, supervisors and workers. Errors: noproc.
Result<ChildCounts> count_children(Node& node, const ServerRef& sup);

}  // namespace dynamic_supervisor
}  // namespace otp
