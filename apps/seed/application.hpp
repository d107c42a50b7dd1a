// MyApp.Application: the seed's "Supervisor Strategies" tree. A one_for_one root,
// MyApp.Supervisor, over Counter, UserCache and two nested supervisors:
//   MyApp.CriticalSupervisor  one_for_all   Database, Cache
//   MyApp.OrderedSupervisor   rest_for_one  ConfigLoader, DatabasePool, WebServer
#pragma once

#include <vector>

#include "otp/otp.hpp"
#include "seed/cache.hpp"
#include "seed/config_loader.hpp"
#include "seed/counter.hpp"
#include "seed/database.hpp"
#include "seed/database_pool.hpp"
#include "seed/puts.hpp"
#include "seed/user_cache.hpp"
#include "seed/web_server.hpp"

namespace seed::my_app {

inline constexpr const char* kSupervisor = "MyApp.Supervisor";
inline constexpr const char* kCriticalSupervisor = "MyApp.CriticalSupervisor";
inline constexpr const char* kOrderedSupervisor = "MyApp.OrderedSupervisor";

/// The root's children, in start order; the components print through puts.
inline std::vector<otp::ChildSpec> children(const Puts& puts) {
  using otp::Strategy;
  return {
      Counter::child_spec(0),
      UserCache::child_spec(),
      otp::supervisor::spec(kCriticalSupervisor,
                            {Database::child_spec(puts), Cache::child_spec(puts)},
                            {.strategy = Strategy::one_for_all}, otp::name(kCriticalSupervisor)),
      otp::supervisor::spec(kOrderedSupervisor,
                            {ConfigLoader::child_spec(puts), DatabasePool::child_spec(puts),
                             WebServer::child_spec(puts)},
                            {.strategy = Strategy::rest_for_one}, otp::name(kOrderedSupervisor)),
  };
}

/// Application.start: starts the tree; returns once every child runs.
inline otp::Result<otp::Pid> start(otp::Node& node, const Puts& puts = stdout_puts()) {
  return otp::supervisor::start_link(node, children(puts), {.strategy = otp::Strategy::one_for_one},
                                     otp::name(kSupervisor));
}

}  // namespace seed::my_app
