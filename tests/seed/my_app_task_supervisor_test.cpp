// The seed's MyApp.TaskSupervisor: run_task (Task.Supervisor.async) links the task to its caller,
// run_task_nolink (async_nolink) does not. A crash in a nolink task comes back as an error result
// and the caller carries on; a crash in a linked task takes a calling process down (and a caller
// that dies takes its linked tasks with it). The supervisor itself survives every task crash.
#include <memory>
#include <stdexcept>
#include <string>

#include "seed/my_app_task_supervisor.hpp"
#include "support/eventually.hpp"

using namespace std::chrono_literals;
using otp_test::eventually;
using otp_test::Latch;
using TaskSup = seed::my_app::TaskSupervisor;

namespace {

struct RunTask {};
struct RunNolinkCrash {};
struct RunLinkedCrash {};
struct StartLong {  // replies the pid of a task that runs until `release`
  std::shared_ptr<Latch> release;
  bool linked;
};

/// A process that runs tasks on MyApp.TaskSupervisor from its handlers.
class TaskCaller : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match(
        [&](const RunTask&) {
          auto task = TaskSup::run_task(node(), [] { return 6 * 7; });
          return otp::task::then<int>(task, [](otp::Result<int> r) { return otp::reply(*r); });
        },
        [&](const RunNolinkCrash&) {
          auto task = TaskSup::run_task_nolink(
              node(), []() -> int { throw std::runtime_error("nolink boom"); });
          return otp::task::then<int>(task, [](otp::Result<int> r) {
            return otp::reply(r ? std::string("ok") : r.error().to_string());
          });
        },
        [&](const StartLong& s) {
          auto body = [release = s.release] { release->wait(30s); };
          auto task =
              s.linked ? TaskSup::run_task(node(), body) : TaskSup::run_task_nolink(node(), body);
          return otp::reply(task.pid());
        });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const RunLinkedCrash&) {
      (void)TaskSup::run_task(node(), []() -> int { throw std::runtime_error("linked boom"); });
      return otp::noreply();
    });
  }
};

class SeedMyAppTaskSupervisor : public ::testing::Test {
 protected:
  void SetUp() override { sup = TaskSup::start_link(node).value(); }
  otp::Node node{{.name = "tasks", .scheduler_threads = 2, .log_crashes = false}};
  otp::Pid sup;
};

}  // namespace

TEST_F(SeedMyAppTaskSupervisor, RunTaskThenAwaitGivesTheResult) {
  EXPECT_EQ(node.whereis(TaskSup::kName), sup);
  // task = Task.Supervisor.async(MyApp.TaskSupervisor, fn -> expensive_operation() end)
  auto task = TaskSup::run_task(node, [] { return std::string("expensive result"); });
  EXPECT_EQ(otp::task::await(task).value(), "expensive result");  // result = Task.await(task)

  auto nolink = TaskSup::run_task_nolink(node, [] { return 7; });
  EXPECT_EQ(otp::task::await(nolink).value(), 7);
}

TEST_F(SeedMyAppTaskSupervisor, RunningTasksAreTheSupervisorsChildren) {
  auto release = std::make_shared<Latch>(1);
  auto task = TaskSup::run_task(node, [release] {
    release->wait(30s);
    return 1;
  });
  auto kids = otp::task_supervisor::children(node, TaskSup::kName).value();
  EXPECT_EQ(kids, std::vector<otp::Pid>{task.pid()});
  release->count_down();
  EXPECT_EQ(otp::task::await(task).value(), 1);
  EXPECT_TRUE(eventually([&] { return otp::task_supervisor::children(node, sup)->empty(); }));
}

TEST_F(SeedMyAppTaskSupervisor, FromAProcessRunTaskResultsArriveWithoutBlockingIt) {
  otp::Pid caller = otp::gen_server::start<TaskCaller>(node).value();
  EXPECT_EQ(otp::gen_server::call<int>(node, caller, RunTask{}).value(), 42);
}

TEST_F(SeedMyAppTaskSupervisor, ANolinkCrashIsAnErrorResultAndTheCallerCarriesOn) {
  otp::Pid caller = otp::gen_server::start<TaskCaller>(node).value();
  otp::Inbox inbox(node);
  inbox.monitor(caller);
  auto r = otp::gen_server::call<std::string>(node, caller, RunNolinkCrash{}, 10s);
  ASSERT_TRUE(r) << r.error();  // the caller answered: it was not taken down
  EXPECT_NE(r->find("exit"), std::string::npos) << *r;
  EXPECT_NE(r->find("nolink boom"), std::string::npos) << *r;
  EXPECT_TRUE(otp::alive(caller));
  EXPECT_FALSE(inbox.receive_as<otp::Down>(0ms).has_value());
  EXPECT_EQ(otp::gen_server::call<int>(node, caller, RunTask{}).value(), 42);  // still serving
  EXPECT_TRUE(otp::alive(sup));

  // From outside any process too: await returns the crash as an exit error.
  auto task = TaskSup::run_task_nolink(node, []() -> int { throw std::runtime_error("kaputt"); });
  auto awaited = otp::task::await(task);
  ASSERT_FALSE(awaited);
  EXPECT_EQ(awaited.code(), otp::ErrorCode::exit);
}

TEST_F(SeedMyAppTaskSupervisor, ALinkedCrashTakesTheLinkedCallerDown) {
  otp::Pid caller = otp::gen_server::start<TaskCaller>(node).value();
  otp::Inbox inbox(node);
  inbox.monitor(caller);
  otp::gen_server::cast(node, caller, RunLinkedCrash{});
  auto down = inbox.receive_as<otp::Down>(10s);
  ASSERT_TRUE(down.has_value()) << "the caller survived a crash of its linked task";
  EXPECT_EQ(down->pid, caller);
  EXPECT_NE(down->reason.to_string().find("linked boom"), std::string::npos) << down->reason;
  EXPECT_TRUE(otp::alive(sup));  // it traps its tasks' exits
  EXPECT_TRUE(eventually([&] { return otp::task_supervisor::children(node, sup)->empty(); }));
}

TEST_F(SeedMyAppTaskSupervisor, ACallerThatDiesTakesItsLinkedTasksButNotItsNolinkOnes) {
  otp::Pid caller = otp::gen_server::start<TaskCaller>(node).value();
  auto release = std::make_shared<Latch>(1);
  otp::Pid linked = otp::gen_server::call<otp::Pid>(node, caller, StartLong{release, true}).value();
  otp::Pid nolink =
      otp::gen_server::call<otp::Pid>(node, caller, StartLong{release, false}).value();
  otp::Inbox inbox(node);
  inbox.monitor(linked);
  otp::exit(caller, otp::Reason::error("caller crashed"));

  auto down = inbox.receive_as<otp::Down>(10s);
  ASSERT_TRUE(down.has_value()) << "the linked task outlived its caller";
  EXPECT_EQ(down->pid, linked);
  EXPECT_EQ(down->reason, otp::Reason::error("caller crashed"));
  EXPECT_TRUE(otp::alive(nolink));
  EXPECT_TRUE(eventually([&] {
    return otp::task_supervisor::children(node, sup).value() == std::vector<otp::Pid>{nolink};
  }));
  release->count_down();
}

TEST_F(SeedMyAppTaskSupervisor, WithoutTheSupervisorRunTaskFailsWithNoproc) {
  ASSERT_TRUE(otp::gen_server::stop(node, TaskSup::kName, otp::Reason::shutdown(), 10s));
  // The task is born finished with the error; await (or then) reports it.
  auto task = TaskSup::run_task(node, [] { return 1; });
  EXPECT_EQ(otp::task::await(task).code(), otp::ErrorCode::noproc);
  auto nolink = TaskSup::run_task_nolink(node, [] { return 1; });
  EXPECT_EQ(otp::task::await(nolink).code(), otp::ErrorCode::noproc);
}
