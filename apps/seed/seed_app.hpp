// seed::seed_app: every seed service in one supervision tree, as one Elixir application would
// start them. The root, "Seed.Supervisor", is one_for_one over:
//   MyApp.Supervisor         the MyApp.Application tree (application.hpp), nested whole
//   MyApp.Sessions           rest_for_one: the sessions depend on the registry that names them
//     MyApp.Registry           {Registry, keys: :unique, name: MyApp.Registry}
//     MyApp.SessionSupervisor  DynamicSupervisor: UserSessions (via MyApp.Registry) and
//                              SessionManagers (transient)
//   MyApp.TaskSupervisor     {Task.Supervisor, name: MyApp.TaskSupervisor}
//   simple_counter           the SimpleCounter Agent
//   CacheServer              owns the public table "CacheServer"
//   TaskSupervisor           DynamicSupervisor for TaskRunners
//   file_watcher             a FileWatcher on options.watch_path (only when one is given)
// DataFetcher has no process of its own: its tasks belong to whoever calls fetch_all.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "otp/otp.hpp"
#include "seed/application.hpp"
#include "seed/cache_server.hpp"
#include "seed/file_watcher.hpp"
#include "seed/my_app_task_supervisor.hpp"
#include "seed/puts.hpp"
#include "seed/simple_counter.hpp"
#include "seed/task_supervisor.hpp"
#include "seed/user_session.hpp"

namespace seed::seed_app {

inline constexpr const char* kSupervisor = "Seed.Supervisor";
inline constexpr const char* kSessions = "MyApp.Sessions";

struct Options {
  Puts puts = stdout_puts();
  /// The file FileWatcher watches; empty: no FileWatcher. It must exist when the tree starts.
  std::string watch_path = {};
  std::chrono::milliseconds watch_interval = FileWatcher::kDefaultInterval;
};

/// The root's children, in start order.
inline std::vector<otp::ChildSpec> children(const Options& options) {
  using otp::Strategy;
  std::vector<otp::ChildSpec> kids;
  kids.push_back(otp::supervisor::spec(my_app::kSupervisor, my_app::children(options.puts),
                                       {.strategy = Strategy::one_for_one},
                                       otp::name(my_app::kSupervisor)));
  kids.push_back(
      otp::supervisor::spec(kSessions,
                            {UserSession::registry_spec(),
                             otp::dynamic_supervisor::spec(UserSession::kSupervisor, {},
                                                           otp::name(UserSession::kSupervisor))},
                            {.strategy = Strategy::rest_for_one}, otp::name(kSessions)));
  kids.push_back(my_app::TaskSupervisor::child_spec());
  kids.push_back(SimpleCounter::child_spec(0));
  kids.push_back(CacheServer::child_spec());
  kids.push_back(otp::dynamic_supervisor::spec(TaskSupervisor::kName).named(TaskSupervisor::kName));
  if (!options.watch_path.empty())
    kids.push_back(
        FileWatcher::child_spec(options.watch_path, options.watch_interval, options.puts));
  return kids;
}

/// Starts the whole tree; returns once every child runs (or the first start error).
inline otp::Result<otp::Pid> start(otp::Node& node, const Options& options = {}) {
  return otp::supervisor::start_link(
      node, children(options), {.strategy = otp::Strategy::one_for_one}, otp::name(kSupervisor));
}

}  // namespace seed::seed_app
