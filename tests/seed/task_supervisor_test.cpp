// The seed's TaskRunner under its DynamicSupervisor: start_task starts a TaskRunner that runs its
// task right after init (send_after(self, :run_task, 0)); stop_task terminates it.
#include <set>

#include "seed/journal.hpp"
#include "seed/task_supervisor.hpp"
#include "support/eventually.hpp"

using namespace std::chrono_literals;
using seed::TaskSupervisor;

namespace {
size_t active(otp::Node& node) {
  return otp::dynamic_supervisor::count_children(node, TaskSupervisor::kName).value().active;
}
}  // namespace

TEST(SeedTaskSupervisor, StartTaskRunsTheTask) {
  otp::Node node({.name = "tasks", .scheduler_threads = 2});
  seed::Journal journal;
  otp::Pid sup = TaskSupervisor::start_link(node).value();
  EXPECT_EQ(node.whereis(TaskSupervisor::kName), sup);
  EXPECT_EQ(active(node), 0u);  // a DynamicSupervisor starts empty

  otp::Pid task = TaskSupervisor::start_task(node, 1, journal.puts()).value();
  EXPECT_TRUE(journal.wait_for("Running task 1"));
  EXPECT_TRUE(otp::alive(task));  // {:noreply, task_id}: it stays up after the work

  auto counts = otp::dynamic_supervisor::count_children(node, TaskSupervisor::kName).value();
  EXPECT_EQ(counts.specs, 1u);
  EXPECT_EQ(counts.active, 1u);
  EXPECT_EQ(counts.workers, 1u);
  EXPECT_EQ(counts.supervisors, 0u);
  auto kids = otp::dynamic_supervisor::which_children(node, TaskSupervisor::kName).value();
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_EQ(kids[0].pid, task);
  EXPECT_EQ(kids[0].type, otp::ChildType::worker);
  EXPECT_EQ(kids[0].restart, otp::Restart::permanent);
  EXPECT_EQ(journal.count("Running task 1"), 1u);  // the task ran once
}

TEST(SeedTaskSupervisor, StopTaskTerminatesIt) {
  otp::Node node({.name = "tasks", .scheduler_threads = 2});
  seed::Journal journal;
  ASSERT_TRUE(TaskSupervisor::start_link(node));
  otp::Pid task = TaskSupervisor::start_task(node, 1, journal.puts()).value();
  ASSERT_TRUE(journal.wait_for("Running task 1"));
  otp::Inbox inbox(node);
  inbox.monitor(task);

  ASSERT_TRUE(TaskSupervisor::stop_task(node, task));
  auto down = inbox.receive_as<otp::Down>(10s);
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->pid, task);
  EXPECT_EQ(down->reason, otp::Reason::shutdown());
  EXPECT_EQ(active(node), 0u);
  EXPECT_TRUE(otp::dynamic_supervisor::which_children(node, TaskSupervisor::kName)->empty());

  auto again = TaskSupervisor::stop_task(node, task);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.code(), otp::ErrorCode::not_found);
  EXPECT_EQ(journal.count("Running task 1"), 1u);  // terminated, not restarted
}

TEST(SeedTaskSupervisor, EachTaskRunsOnceAndStopTaskStopsOnlyItsOwn) {
  otp::Node node({.name = "tasks", .scheduler_threads = 2});
  seed::Journal journal;
  ASSERT_TRUE(TaskSupervisor::start_link(node));
  std::vector<otp::Pid> tasks;
  for (int id = 1; id <= 5; ++id)
    tasks.push_back(TaskSupervisor::start_task(node, id, journal.puts()).value());
  for (int id = 1; id <= 5; ++id)
    EXPECT_TRUE(journal.wait_for("Running task " + std::to_string(id)));
  EXPECT_EQ(std::set<otp::Pid>(tasks.begin(), tasks.end()).size(), 5u);
  EXPECT_EQ(active(node), 5u);

  ASSERT_TRUE(TaskSupervisor::stop_task(node, tasks[2]));
  EXPECT_EQ(active(node), 4u);
  for (size_t i = 0; i < tasks.size(); ++i) EXPECT_EQ(otp::alive(tasks[i]), i != 2) << i;
  EXPECT_EQ(journal.lines().size(), 5u);  // no task ran twice
}

TEST(SeedTaskSupervisor, ACrashedTaskIsRestartedAndRunsAgain) {
  otp::Node node({.name = "tasks", .scheduler_threads = 2, .log_crashes = false});
  seed::Journal journal;
  ASSERT_TRUE(TaskSupervisor::start_link(node));
  otp::Pid task = TaskSupervisor::start_task(node, 7, journal.puts()).value();
  ASSERT_TRUE(journal.wait_for("Running task 7"));

  otp::exit(task, otp::Reason::kill());  // Process.exit(pid, :kill)
  // permanent: the supervisor starts a new TaskRunner 7, whose init schedules the task again.
  EXPECT_TRUE(journal.wait_for("Running task 7", 2));
  otp::Pid replacement;
  ASSERT_TRUE(otp_test::eventually([&] {
    auto kids = otp::dynamic_supervisor::which_children(node, TaskSupervisor::kName);
    if (!kids || kids->size() != 1 || !(*kids)[0].pid) return false;
    replacement = (*kids)[0].pid;
    return true;
  }));
  EXPECT_NE(replacement, task);
  EXPECT_FALSE(otp::alive(task));
  EXPECT_EQ(active(node), 1u);
}

TEST(SeedTaskSupervisor, TaskRunnerWorksWithoutASupervisorToo) {
  otp::Node node({.name = "tasks", .scheduler_threads = 2});
  seed::Journal journal;
  otp::Pid task = seed::TaskRunner::start_link(node, 3, journal.puts()).value();
  EXPECT_TRUE(journal.wait_for("Running task 3"));
  EXPECT_TRUE(otp::alive(task));
}
