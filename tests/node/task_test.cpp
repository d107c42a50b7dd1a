// Task and Task.Supervisor: await (with timeouts), await_many, yield, shutdown, links,
// async_stream's ordering and backpressure, async_nolink.
#include <atomic>
#include <thread>

#include "support/eventually.hpp"
#include "support/workers.hpp"

using namespace std::chrono_literals;
using namespace otp_test;
using otp::ErrorCode;
using otp::Pid;

namespace {
class TaskTest : public ::testing::Test {
 protected:
  otp::Node node{{.name = "task", .scheduler_threads = 2, .log_crashes = false}};
};

struct RunLinked {};
struct RunNolink {};
struct Compute {};

/// Starts tasks from inside a handler.
class TaskOwner : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match(
        [&](const Compute&) {
          auto t = otp::task::async(node(), [] { return 21 * 2; });
          return otp::task::then<int>(t, [](otp::Result<int> r) { return otp::reply(*r); });
        },
        [&](const RunNolink&) {
          auto t = otp::task_supervisor::async_nolink(
              node(), "tasks", []() -> int { throw std::runtime_error("nolink boom"); });
          return otp::task::then<int>(t, [](otp::Result<int> r) {
            return otp::reply(r ? std::string("ok") : r.error().to_string());
          });
        });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const RunLinked&) {
      otp::task::async(node(), []() -> int { throw std::runtime_error("linked boom"); });
      return otp::noreply();
    });
  }
};
}  // namespace

TEST_F(TaskTest, AwaitTimeoutIsAnErrorAndKillsTheTask) {
  auto t = otp::task::async(node, [] {
    std::this_thread::sleep_for(2s);
    return 1;
  });
  auto r = otp::task::await(t, 50ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::timeout);
  EXPECT_FALSE(otp::alive(t.pid()));
}

TEST_F(TaskTest, ACrashInsideATaskComesBackAsAnExitErrorFromAwait) {
  auto t = otp::task::async(node, []() -> int { throw std::runtime_error("kaputt"); });
  auto r = otp::task::await(t);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::exit);
  EXPECT_NE(r.error().to_string().find("kaputt"), std::string::npos) << r.error();
}

TEST_F(TaskTest, ACrashInsideALinkedTaskTakesItsCallerDown) {
  Pid owner = otp::gen_server::start<TaskOwner>(node).value();
  otp::Inbox inbox(node);
  inbox.monitor(owner);
  otp::gen_server::cast(node, owner, RunLinked{});
  auto down = inbox.receive_as<otp::Down>(10s);
  ASSERT_TRUE(down);
  EXPECT_NE(down->reason.to_string().find("linked boom"), std::string::npos) << down->reason;
}

TEST_F(TaskTest, AwaitInsideAHandlerIsRefusedButThenWorks) {
  Pid owner = otp::gen_server::start<TaskOwner>(node).value();
  EXPECT_EQ(otp::gen_server::call<int>(node, owner, Compute{}).value(), 42);
}

TEST_F(TaskTest, TasksRunInParallel) {
  // Each task waits until all three are running at once; run one after the other, the first
  // would wait alone until its deadline and answer with a negative id.
  auto all_running = std::make_shared<Latch>(3);
  std::vector<otp::Task<int>> tasks;
  for (int id : {1, 2, 3})
    tasks.push_back(otp::task::async(node, [all_running, id] {
      all_running->count_down();
      return all_running->wait(10s) ? id : -id;
    }));
  auto all = otp::task::await_many(tasks, 60s).value();
  EXPECT_EQ(all, (std::vector<int>{1, 2, 3}));  // all three ran together; results in task order
}

TEST_F(TaskTest, AwaitManyTimeoutKillsTheUnfinished) {
  std::vector<otp::Task<int>> tasks;
  tasks.push_back(otp::task::async(node, [] { return 1; }));
  tasks.push_back(otp::task::async(node, [] {
    std::this_thread::sleep_for(3s);
    return 2;
  }));
  auto r = otp::task::await_many(tasks, 100ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::timeout);
  EXPECT_NE(r.error().to_string().find("1 of 2"), std::string::npos) << r.error();
  EXPECT_FALSE(otp::alive(tasks[1].pid()));
}

TEST_F(TaskTest, YieldWaitsWithoutKillingAndShutdownReturnsAFinishedResult) {
  auto go = std::make_shared<Latch>(1);  // shared: the task may outlive this frame
  auto t = otp::task::async(node, [go] {
    go->wait();
    return 7;
  });
  EXPECT_FALSE(otp::task::yield(t, 20ms).has_value());
  EXPECT_TRUE(otp::alive(t.pid()));
  go->count_down();
  auto r = otp::task::yield(t, 5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->value(), 7);
  auto s = otp::task::shutdown(t);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->value(), 7);
}

TEST_F(TaskTest, ShutdownOfARunningTaskReturnsNothingAndKillsIt) {
  auto never = std::make_shared<Latch>(1);
  auto t = otp::task::async(node, [never] {
    never->wait(5s);
    return 1;
  });
  EXPECT_FALSE(otp::task::shutdown(t).has_value());
  EXPECT_FALSE(otp::alive(t.pid()));
  never->count_down();
}

TEST_F(TaskTest, VoidTasks) {
  std::atomic<int> ran{0};
  auto t = otp::task::async(node, [&] { ran = 1; });
  EXPECT_TRUE(otp::task::await(t));
  EXPECT_EQ(ran.load(), 1);
}

TEST_F(TaskTest, AsyncStreamKeepsInputOrderAndBoundsConcurrency) {
  std::atomic<int> running{0}, peak{0};
  std::vector<int> inputs;
  for (int i = 0; i < 20; ++i) inputs.push_back(i);
  auto stream = otp::task::async_stream(
      node, inputs,
      [&](const int& x) {
        int now = ++running;
        int p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds((20 - x) % 5));
        --running;
        return x * x;
      },
      {.max_concurrency = 3});
  std::vector<int> out;
  while (auto r = stream.next()) out.push_back(r->value());
  ASSERT_EQ(out.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(out[i], i * i);
  EXPECT_LE(peak.load(), 3);
}

TEST_F(TaskTest, AsyncStreamBackpressureASlowConsumerHoldsProducersBack) {
  int produced = 0;  // inputs taken from the source (only the consumer's thread pulls them)
  std::function<std::optional<int>()> endless = [&]() -> std::optional<int> { return produced++; };
  auto stream = otp::task::async_stream(node, endless, [](const int& x) { return x; },
                                        {.max_concurrency = 4});
  EXPECT_EQ(stream.next()->value(), 0);
  // The consumer now does nothing: no more than max_concurrency inputs were taken.
  EXPECT_LE(produced, 5);
  EXPECT_LE(stream.in_flight(), 4u);
  for (int i = 1; i < 100; ++i) EXPECT_EQ(stream.next()->value(), i);
  EXPECT_LE(produced, 104);
}

TEST_F(TaskTest, TaskSupervisorNolinkCrashLeavesTheCallerRunningWithAnError) {
  otp::task_supervisor::start_link(node, otp::name("tasks")).value();
  Pid owner = otp::gen_server::start<TaskOwner>(node).value();
  auto r = otp::gen_server::call<std::string>(node, owner, RunNolink{}).value();
  EXPECT_NE(r.find("nolink boom"), std::string::npos) << r;
  EXPECT_TRUE(otp::alive(owner));
  EXPECT_TRUE(otp::alive(node.whereis("tasks").value()));
}

TEST_F(TaskTest, TaskSupervisorAsyncStartChildAndChildren) {
  Pid sup = otp::task_supervisor::start_link(node, otp::name("tasks")).value();
  auto t = otp::task_supervisor::async(node, "tasks", [] { return std::string("done"); });
  EXPECT_EQ(otp::task::await(t).value(), "done");
  auto release = std::make_shared<Latch>(1);
  Pid child =
      otp::task_supervisor::start_child(node, sup, [release] { release->wait(5s); }).value();
  auto kids = otp::task_supervisor::children(node, sup).value();
  EXPECT_NE(std::find(kids.begin(), kids.end(), child), kids.end());
  otp::Inbox inbox(node);
  inbox.monitor(child);
  release->count_down();
  ASSERT_TRUE(inbox.receive_as<otp::Down>(10s));
  ASSERT_TRUE(eventually([&] { return otp::task_supervisor::children(node, sup)->empty(); }));
}

TEST_F(TaskTest, StoppingATaskSupervisorStopsItsTasks) {
  Pid sup = otp::task_supervisor::start_link(node).value();
  auto release = std::make_shared<Latch>(1);
  Pid child =
      otp::task_supervisor::start_child(node, sup, [release] { release->wait(5s); }).value();
  ASSERT_TRUE(otp::gen_server::stop(node, sup, otp::Reason::shutdown(), 10s));
  EXPECT_FALSE(otp::alive(child));
  release->count_down();
}
