// TaskSupervisor: the seed's DynamicSupervisor, registered as "TaskSupervisor" (strategy
// one_for_one): start_task adds a TaskRunner, stop_task terminates one.
//
//   seed::TaskSupervisor::start_link(node);
//   otp::Pid pid = seed::TaskSupervisor::start_task(node, 1).value();  // prints "Running task 1"
//   seed::TaskSupervisor::stop_task(node, pid);
#pragma once

#include "otp/otp.hpp"
#include "seed/puts.hpp"
#include "seed/task_runner.hpp"

namespace seed {

struct TaskSupervisor {
  static constexpr const char* kName = "TaskSupervisor";

  static otp::Result<otp::Pid> start_link(otp::Node& node) {
    return otp::dynamic_supervisor::start_link(node, {}, otp::name(kName));
  }
  static otp::Result<otp::Pid> start_task(otp::Node& node, int task_id,
                                          const Puts& puts = stdout_puts()) {
    return otp::dynamic_supervisor::start_child(node, kName, TaskRunner::child_spec(task_id, puts));
  }
  static otp::Result<void> stop_task(otp::Node& node, const otp::Pid& pid) {
    return otp::dynamic_supervisor::terminate_child(node, kName, pid);
  }
};

}  // namespace seed
