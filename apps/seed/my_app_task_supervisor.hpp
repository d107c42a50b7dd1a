// MyApp.TaskSupervisor: the seed's "Task.Supervisor for Managed Tasks". A task supervisor
// registered as "MyApp.TaskSupervisor" that runs one-off functions as supervised tasks:
//   run_task         Task.Supervisor.async: the task is linked to the caller too, so a crash in
//                    it takes a calling process down (as a crash of the caller kills the task)
//   run_task_nolink  Task.Supervisor.async_nolink: not linked to the caller; a crash comes back
//                    as an exit error from await (or otp::task::then inside a handler)
// Either way the result is collected with otp::task::await (or then), and a task still running
// when the supervisor stops is killed with it.
//
//   auto task = seed::my_app::TaskSupervisor::run_task(node, [] { return expensive(); });
//   auto result = otp::task::await(task);
#pragma once

#include <utility>

#include "otp/otp.hpp"

namespace seed::my_app {

struct TaskSupervisor {
  static constexpr const char* kName = "MyApp.TaskSupervisor";

  static otp::Result<otp::Pid> start_link(otp::Node& node) {
    return otp::task_supervisor::start_link(node, otp::name(kName));
  }
  /// `{Task.Supervisor, name: MyApp.TaskSupervisor}` in application.ex.
  static otp::ChildSpec child_spec() { return otp::task_supervisor::spec(kName, kName); }

  /// An otp::Task; when the supervisor is not running, await (or then) gives noproc.
  template <class F>
  static auto run_task(otp::Node& node, F fn) {
    return otp::task_supervisor::async(node, kName, std::move(fn));
  }
  template <class F>
  static auto run_task_nolink(otp::Node& node, F fn) {
    return otp::task_supervisor::async_nolink(node, kName, std::move(fn));
  }
};

}  // namespace seed::my_app
