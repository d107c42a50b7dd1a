// otp::supervisor: OTP's supervisor / Elixir's Supervisor. Starts children in order, restarts
// them by strategy, stops them in reverse order. The seed's application tree:
//
// clang-format off
//   using namespace otp;
//   auto sup = supervisor::start_link(node, {
//       worker<Counter>("counter", 0).named("counter"),
//       worker<UserCache>("user_cache").named("user_cache"),
//       supervisor::spec("critical", {worker<Database>("db"), worker<Cache>("cache")},
//                        {.strategy = Strategy::one_for_all}),
//       supervisor::spec("ordered", {worker<ConfigLoader>("config"), worker<DatabasePool>("pool"),
//                                    worker<WebServer>("web")},
//                        {.strategy = Strategy::rest_for_one}, name("MyApp.Ordered")),
//     }, {.strategy = Strategy::one_for_one}, name("MyApp.Supervisor")).value();
// clang-format on
//
// Semantics (OTP's): one_for_one restarts the child that exited; one_for_all stops all others
// (reverse order) and restarts all (in order); rest_for_one does that for the children started
// after it. More than max_restarts restarts within max_time: the supervisor stops every child
// and exits with reason shutdown, and its own parent decides. A child whose restart fails is
// retried, each try counting as a restart. start_link returns once every child started (or the
// first error; the children already started are stopped again).
//
// A name held by another process never makes a supervisor restart in a loop until it gives up:
// * A child that exits with otp::name_conflict_reason() (it lost its global name to another
//   node's process: see global.hpp) is not restarted, whatever its restart type, and is not
//   counted towards the restart intensity: the name lives on in the winner, and a restarted
//   child could only fail to register it. It is not a failure either: one_for_all and
//   rest_for_one leave its siblings running. The child stays in the list, not running (no pid
//   in which_children, as after terminate_child; a temporary child is dropped, as always):
//   restart_child starts it again, delete_child removes it. The supervisor logs a warning.
// * A restart that fails with already_started (the child's name, local, via or global, was
//   taken by another process after the child exited) is not retried: the child is left not
//   running, the failure counts for nothing beyond the restart that was attempted, and the
//   supervisor logs an error naming the child and the holder and stays up. restart_child tries
//   again (already_started while the name is held). Other failed restarts are retried as above.
// A child left not running so is started again with its group when a sibling's exit restarts
// the group (one_for_all; rest_for_one after it), like any child not running; should its name
// still be held, that start fails as above and changes nothing.
//
// The client functions block the calling thread; from inside a handler use
// GenServer::await_call with the request types below (e.g. supervisor::StartChild{spec}).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "otp/child_spec.hpp"
#include "otp/error.hpp"
#include "otp/gen_server.hpp"

namespace otp {

/// Which children a supervisor restarts when one exits (see the header comment).
enum class Strategy { one_for_one, one_for_all, rest_for_one };

/// A supervisor's flags (OTP's sup_flags).
struct SupervisorOptions {
  /// Which children restart together.
  Strategy strategy = Strategy::one_for_one;
  /// Restart intensity: at most max_restarts within max_time (Elixir's default: 3 in 5 s).
  int max_restarts = 3;
  std::chrono::milliseconds max_time = std::chrono::seconds(5);
};

namespace supervisor {

// -- requests (the supervisor's handle_call protocol; usable with await_call) --
/// The request behind start_child.
struct StartChild {
  ChildSpec spec;
};
/// The request behind terminate_child.
struct TerminateChild {
  std::string id;
};
/// The request behind restart_child.
struct RestartChild {
  std::string id;
};
/// The request behind delete_child.
struct DeleteChild {
  std::string id;
};
/// The request behind which_children.
struct WhichChildren {};
/// The request behind count_children.
struct CountChildren {};

/// Starts a supervisor with children, started in order before it returns: the supervisor's pid,
/// or the first child's start error (already_started, init_failed...: the children started so
/// far are stopped again) or already_started for a taken name. Blocks the calling thread, like
/// gen_server::start_link; inside a handler it returns would_block (nest supervisors with spec).
Result<Pid> start_link(Node& node, std::vector<ChildSpec> children, SupervisorOptions flags = {},
                       std::optional<Name> name = std::nullopt);

/// A nested supervisor as a child spec (type supervisor, shutdown infinity), registered under
/// name at every (re)start when one is given (as start_link's name). The same as chaining
/// `.named(name)` on the spec, which works on every ChildSpec (see child_spec.hpp).
ChildSpec spec(std::string id, std::vector<ChildSpec> children, SupervisorOptions flags = {},
               std::optional<Name> name = std::nullopt);

/// Adds and starts a child. Errors: already_started (a running child has this id: the message
/// names its pid), badarg (a stopped child has this id), the child's own start error.
Result<Pid> start_child(Node& node, const ServerRef& sup, ChildSpec spec);
/// Stops a child by its shutdown spec; the spec stays (restart_child) unless it is temporary.
Result<void> terminate_child(Node& node, const ServerRef& sup, const std::string& id);
/// Restarts a stopped child. Errors: running, not_found, the child's own start error
/// (already_started while another process holds its name).
Result<Pid> restart_child(Node& node, const ServerRef& sup, const std::string& id);
/// Removes a stopped child's spec. Errors: running, not_found.
Result<void> delete_child(Node& node, const ServerRef& sup, const std::string& id);
/// Children in start order.
Result<std::vector<ChildInfo>> which_children(Node& node, const ServerRef& sup);
/// How many children, running, supervisors and workers.
Result<ChildCounts> count_children(Node& node, const ServerRef& sup);

}  // namespace supervisor
}  // namespace otp
