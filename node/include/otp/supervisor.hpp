// otp::supervisor: OTP's supervisor / Elixir's Supervisor. Starts children in order, restarts
// them by strategy, stops them in reverse order. The seed's application tree:
//
//   using namespace otp;
//   auto sup = supervisor::start_link(node, {
//       worker<Counter>("counter", 0).named("counter"),
//       worker<UserCache>("user_cache").named("user_cache"),
//       supervisor::spec("critical", {worker<Database>("db"), worker<Cache>("cache")},
//                        {.strategy = Strategy::one_for_all}),
//       supervisor::spec("ordered", {worker<ConfigLoader>("config"), worker<DatabasePool>("pool"),
//                                    worker<WebServer>("web")},
//                        {.strategy = Strategy::rest_for_one}),
//     }, {.strategy = Strategy::one_for_one}, name("MyApp.Supervisor")).value();
//
// Semantics (OTP's): one_for_one restarts the child that exited; one_for_all stops all others
// (reverse order) and restarts all (in order); rest_for_one does that for the children started
// after it. More than max_restarts restarts within max_time: the supervisor stops every child
// and exits with reason shutdown, and its own parent decides. A child whose restart fails is
// retried, each try counting as a restart. start_link returns once every child started (or the
// first error; the children already started are stopped again).
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

enum class Strategy { one_for_one, one_for_all, rest_for_one };

struct SupervisorFlags {
  Strategy strategy = Strategy::one_for_one;
  /// Restart intensity: at most max_restarts within max_time (Elixir's default: 3 in 5 s).
  int max_restarts = 3;
  std::chrono::milliseconds max_time = std::chrono::seconds(5);
};

namespace supervisor {

// -- requests (the supervisor's handle_call protocol; usable with await_call) --
struct StartChild {
  ChildSpec spec;
};
struct TerminateChild {
  std::string id;
};
struct RestartChild {
  std::string id;
};
struct DeleteChild {
  std::string id;
};
struct WhichChildren {};
struct CountChildren {};

Result<Pid> start_link(Node& node, std::vector<ChildSpec> children, SupervisorFlags flags = {},
                       std::optional<Name> name = std::nullopt);

/// A nested supervisor as a child spec (type supervisor, shutdown infinity).
ChildSpec spec(std::string id, std::vector<ChildSpec> children, SupervisorFlags flags = {});

/// Adds and starts a child. Errors: already_started (a running child has this id: the message
/// names its pid), badarg (a stopped child has this id), the child's own start error.
Result<Pid> start_child(Node& node, const ServerRef& sup, ChildSpec spec);
/// Stops a child by its shutdown spec; the spec stays (restart_child) unless it is temporary.
Result<void> terminate_child(Node& node, const ServerRef& sup, const std::string& id);
/// Restarts a stopped child. Errors: running, not_found.
Result<Pid> restart_child(Node& node, const ServerRef& sup, const std::string& id);
/// Removes a stopped child's spec. Errors: running, not_found.
Result<void> delete_child(Node& node, const ServerRef& sup, const std::string& id);
/// Children in start order.
Result<std::vector<ChildInfo>> which_children(Node& node, const ServerRef& sup);
Result<ChildCounts> count_children(Node& node, const ServerRef& sup);

}  // namespace supervisor
}  // namespace otp
