// TaskRunner: the seed's DynamicSupervisor worker. init schedules the work for right after the
// start (send_after(self, RunTask, 0)) so start_link returns at once; handle_info(RunTask) does it:
// prints "Running task <id>".
#pragma once

#include <chrono>
#include <string>

#include "otp/otp.hpp"
#include "seed/puts.hpp"

namespace seed {

class TaskRunner : public otp::GenServer {
 public:
  struct RunTask {};

  // -- client API --
  static otp::Result<otp::Pid> start_link(otp::Node& node, int task_id,
                                          const Puts& puts = stdout_puts()) {
    return otp::gen_server::start_link<TaskRunner>(node, task_id, puts);
  }
  /// {TaskRunner, task_id}: a permanent worker, as `use GenServer` makes it, for the
  /// TaskSupervisor (a DynamicSupervisor): without an id, which it would ignore.
  static otp::ChildSpec child_spec(int task_id, const Puts& puts = stdout_puts()) {
    return otp::dynamic_supervisor::child<TaskRunner>(task_id, puts);
  }

  // -- server callbacks --
  TaskRunner(int task_id, Puts puts) : task_id_(task_id), puts_(std::move(puts)) {}

  otp::Action init() override {
    otp::send_after(node(), self(), RunTask{}, std::chrono::milliseconds(0));
    return otp::ok();
  }
  otp::Action handle_info(const otp::Message& info) override {
    return info.match([&](const RunTask&) {
      puts_("Running task " + std::to_string(task_id_));  // perform the task's work
      return otp::noreply();
    });
  }

 private:
  int task_id_;
  Puts puts_;
};

}  // namespace seed
