// Several tasks awaited as one: task::then_many inside a GenServer handler (Task.await_many
// without blocking the process) and the blocking await_many, over a vector of tasks or a tuple of
// tasks of different result types; then without spelling out R; the would_block messages of
// the blocking forms inside a handler.
#include <atomic>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "support/eventually.hpp"
#include "support/workers.hpp"

using namespace std::chrono_literals;
using namespace otp_test;
using otp::ErrorCode;
using otp::Pid;
using Names = std::vector<std::string>;

namespace {

/// Requests to ManyUser; each starts tasks in its handler and answers from a continuation.
struct InOrder {};  // three tasks finishing in reverse order
struct Mixed {};    // tasks of three result types, a tuple
struct TimesOut {   // one task finishes, two block: the timeout kills those two
  bool supervised;
};
struct LinkedCrash {};     // one linked task crashes
struct NolinkCrash {};     // one async_nolink task crashes
struct NoSupervisor {};    // tasks born finished (their supervisor is not running)
struct Deduced {};         // then without <R>, with a generic lambda too
struct BlockingAwaits {};  // await, await_many, yield with a timeout inside a handler
struct Alive {};

struct MixedReply {
  Names users;
  int count;
  std::string title;
};
struct TimeoutReply {
  bool timed_out;
  std::string message;
  std::vector<bool> alive;  // each task's, as the continuation saw it
};

/// Starts tasks in its handlers and collects them with then_many.
class ManyUser : public otp::GenServer {
 public:
  ManyUser(std::shared_ptr<Latch> release, std::shared_ptr<std::atomic<int>> continued)
      : release_(std::move(release)), continued_(std::move(continued)) {}

  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match(
        [&](const InOrder&) {
          // Task 1 waits for task 2, which waits for task 3: they finish 3, 2, 1.
          auto second_done = std::make_shared<Latch>(1);
          auto third_done = std::make_shared<Latch>(1);
          std::vector<otp::Task<int>> tasks;
          tasks.push_back(
              otp::task::async(node(), [second_done] { return second_done->wait(10s) ? 1 : -1; }));
          tasks.push_back(otp::task::async(node(), [second_done, third_done] {
            bool ok = third_done->wait(10s);
            second_done->count_down();
            return ok ? 2 : -2;
          }));
          tasks.push_back(otp::task::async(node(), [third_done] {
            third_done->count_down();
            return 3;
          }));
          return otp::task::then_many(tasks, [](otp::Result<std::vector<int>> r) {
            if (!r) return otp::reply(r.error());
            return otp::reply(*r);
          });
        },
        [&](const Mixed&) {
          auto users = otp::task::async(node(), [] { return Names{"user1", "user2"}; });
          auto count = otp::task::async(node(), [] { return 3; });
          auto title = otp::task::async(node(), [] { return std::string("posts"); });
          return otp::task::then_many(
              std::tuple{users, count, title},
              [](otp::Result<std::tuple<Names, int, std::string>> r) {
                if (!r) return otp::reply(r.error());
                auto& [u, n, t] = *r;
                return otp::reply(MixedReply{u, n, t});
              },
              10s);
        },
        [&](const TimesOut& q) {
          std::vector<otp::Task<int>> tasks;
          tasks.push_back(start(q.supervised, [] { return 1; }));
          tasks.push_back(start(q.supervised, blocked()));
          tasks.push_back(start(q.supervised, blocked()));
          return otp::task::then_many(
              tasks,
              [tasks](otp::Result<std::vector<int>> r) {
                TimeoutReply out{!r && r.code() == ErrorCode::timeout,
                                 r ? std::string() : r.error().to_string(),
                                 {}};
                for (auto& t : tasks) out.alive.push_back(otp::alive(t.pid()));
                return otp::reply(out);
              },
              50ms);
        },
        [&](const LinkedCrash&) {
          auto ok = otp::task::async(node(), [] { return 1; });
          auto boom =
              otp::task::async(node(), []() -> int { throw std::runtime_error("linked boom"); });
          return otp::task::then_many(std::tuple{ok, boom}, [continued = continued_](auto) {
            ++*continued;
            return otp::reply(std::string("continued"));
          });
        },
        [&](const NolinkCrash&) {
          auto ok = otp::task_supervisor::async_nolink(node(), "tasks", [] { return 1; });
          auto boom = otp::task_supervisor::async_nolink(
              node(), "tasks", []() -> std::string { throw std::runtime_error("nolink boom"); });
          return otp::task::then_many(
              std::tuple{ok, boom},
              [continued = continued_](otp::Result<std::tuple<int, std::string>> r) {
                ++*continued;
                return otp::reply(r ? std::string("ok") : r.error().to_string());
              });
        },
        [&](const NoSupervisor&) {
          auto a = otp::task_supervisor::async(node(), "nobody", [] { return 1; });
          auto b = otp::task_supervisor::async_nolink(node(), "nobody", [] { return 2; });
          return otp::task::then_many(std::vector{a, b}, [](otp::Result<std::vector<int>> r) {
            return otp::reply(r ? -1 : static_cast<int>(r.code()));
          });
        },
        [&](const Deduced&) {
          auto t = otp::task::async(node(), [] { return 20; });
          return otp::task::then(t, [this](otp::Result<int> r) {
            auto u = otp::task::async(node(), [] { return 22; });
            int first = *r;
            return otp::task::then(u, [first](auto r2) { return otp::reply(first + *r2); });
          });
        },
        [&](const BlockingAwaits&) {
          auto t = otp::task::async(node(), [] { return 1; });
          std::vector<otp::Task<int>> ts{t};
          std::vector<std::string> messages{
              otp::task::await(t).error().to_string(),
              otp::task::await_many(ts).error().to_string(),
              otp::task::await_many(std::tuple{t}).error().to_string(),
              otp::task::yield(t, 1s)->error().to_string()};
          return otp::reply(messages);
        },
        [&](const Alive&) { return otp::reply(true); });
  }

 private:
  std::function<int()> blocked() {
    return [release = release_] { return release->wait(10s) ? 2 : -2; };
  }
  otp::Task<int> start(bool supervised, std::function<int()> body) {
    if (supervised) return otp::task_supervisor::async(node(), "tasks", std::move(body));
    return otp::task::async(node(), std::move(body));
  }
  std::shared_ptr<Latch> release_;
  std::shared_ptr<std::atomic<int>> continued_;
};

/// Traps exits: a linked task's crash arrives as an EXIT message, which answers the call.
class TrappingManyUser : public otp::GenServer {
 public:
  explicit TrappingManyUser(std::shared_ptr<std::atomic<int>> continued)
      : continued_(std::move(continued)) {}
  otp::Action init() override {
    otp::trap_exit(true);
    return otp::ok();
  }
  otp::Action handle_call(const otp::Message& m, const otp::From& from) override {
    return m.match([&](const LinkedCrash&) {
      auto ok = otp::task::async(node(), [] { return 1; });
      auto boom =
          otp::task::async(node(), []() -> int { throw std::runtime_error("linked boom"); });
      crashing_ = boom.pid();
      waiting_ = from;
      return otp::task::then_many(std::vector{ok, boom}, [continued = continued_](auto) {
        ++*continued;
        return otp::reply(std::string("continued"));
      });
    });
  }
  otp::Action handle_info(const otp::Message& m) override {
    if (const auto* x = m.get_if<otp::ExitSignal>(); x && x->from == crashing_)
      otp::gen_server::reply(waiting_, "EXIT " + x->reason.to_string());
    return otp::noreply();
  }

 private:
  std::shared_ptr<std::atomic<int>> continued_;
  Pid crashing_;
  otp::From waiting_;
};

class TaskManyTest : public ::testing::Test {
 protected:
  void SetUp() override { otp::task_supervisor::start_link(node, otp::name("tasks")).value(); }
  void TearDown() override { release->count_down(); }
  Pid start_user() { return otp::gen_server::start<ManyUser>(node, release, continued).value(); }

  otp::Node node{{.name = "task_many", .scheduler_threads = 2, .log_crashes = false}};
  std::shared_ptr<Latch> release = std::make_shared<Latch>(1);
  std::shared_ptr<std::atomic<int>> continued = std::make_shared<std::atomic<int>>(0);
};

constexpr int kCrashRuns = 100;

}  // namespace

TEST_F(TaskManyTest, ThenManyGivesTheResultsInTaskOrder) {
  Pid user = start_user();
  auto r = otp::gen_server::call<std::vector<int>>(node, user, InOrder{}, 20s);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, (std::vector<int>{1, 2, 3}));
}

TEST_F(TaskManyTest, ThenManyOverATupleOfTasksOfDifferentTypes) {
  Pid user = start_user();
  auto r = otp::gen_server::call<MixedReply>(node, user, Mixed{}, 20s);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->users, (Names{"user1", "user2"}));
  EXPECT_EQ(r->count, 3);
  EXPECT_EQ(r->title, "posts");
}

TEST_F(TaskManyTest, ThenManyTimeoutKillsTheUnfinishedAndTheServerSurvivesAndReplies) {
  for (bool supervised : {false, true}) {
    Pid user = start_user();
    auto r = otp::gen_server::call<TimeoutReply>(node, user, TimesOut{supervised}, 20s);
    ASSERT_TRUE(r) << r.error();
    EXPECT_TRUE(r->timed_out) << r->message;
    EXPECT_NE(r->message.find("2 of 3"), std::string::npos) << r->message;
    // The two unfinished tasks were killed (the first one may still be on its way out).
    ASSERT_EQ(r->alive.size(), 3u);
    EXPECT_FALSE(r->alive[1]);
    EXPECT_FALSE(r->alive[2]);
    // A kill coming back through a link is queued before the reply: this call would see it.
    EXPECT_TRUE(otp::gen_server::call<bool>(node, user, Alive{}).value());
    EXPECT_TRUE(otp::alive(user));
  }
  EXPECT_TRUE(otp::alive(node.whereis("tasks").value()));
}

TEST_F(TaskManyTest, ALinkedTaskCrashKillsTheServerAndTheContinuationNeverRuns) {
  for (int i = 0; i < kCrashRuns; ++i) {
    Pid user = start_user();
    otp::Inbox inbox(node);
    inbox.monitor(user);
    auto r = otp::gen_server::call<std::string>(node, user, LinkedCrash{});
    EXPECT_FALSE(r) << "run " << i << ": the continuation replied " << *r;
    auto down = inbox.receive_as<otp::Down>(10s);
    ASSERT_TRUE(down);
    EXPECT_NE(down->reason.to_string().find("linked boom"), std::string::npos) << down->reason;
  }
  EXPECT_EQ(continued->load(), 0);
}

TEST_F(TaskManyTest, ALinkedTaskCrashReachesATrappingServerAsAnExitAndNeverAsTheContinuation) {
  Pid user = otp::gen_server::start<TrappingManyUser>(node, continued).value();
  for (int i = 0; i < kCrashRuns; ++i) {
    auto r = otp::gen_server::call<std::string>(node, user, LinkedCrash{});
    ASSERT_TRUE(r) << r.error();
    EXPECT_NE(r->find("EXIT"), std::string::npos) << "run " << i << ": " << *r;
  }
  EXPECT_EQ(continued->load(), 0);
  EXPECT_TRUE(otp::alive(user));
}

TEST_F(TaskManyTest, ANolinkTaskCrashComesToTheContinuationAsAnError) {
  Pid user = start_user();
  for (int i = 0; i < 20; ++i) {
    auto r = otp::gen_server::call<std::string>(node, user, NolinkCrash{}).value();
    EXPECT_NE(r.find("nolink boom"), std::string::npos) << r;
  }
  EXPECT_EQ(continued->load(), 20);
  EXPECT_TRUE(otp::alive(user));
}

TEST_F(TaskManyTest, TasksOfAMissingSupervisorAreBornFinishedWithNoproc) {
  Pid user = start_user();
  EXPECT_EQ(otp::gen_server::call<int>(node, user, NoSupervisor{}).value(),
            static_cast<int>(ErrorCode::noproc));
  auto t = otp::task_supervisor::async(node, "nobody", [] { return 1; });
  EXPECT_EQ(otp::task::await(t).code(), ErrorCode::noproc);
  auto shut = otp::task::shutdown(t);
  ASSERT_TRUE(shut);
  EXPECT_EQ(shut->code(), ErrorCode::noproc);
}

TEST_F(TaskManyTest, ThenDeducesTheResultTypeFromTheTask) {
  Pid user = start_user();
  EXPECT_EQ(otp::gen_server::call<int>(node, user, Deduced{}).value(), 42);
}

TEST_F(TaskManyTest, BlockingAwaitsInsideAHandlerNameTheNonBlockingFunction) {
  Pid user = start_user();
  auto r = otp::gen_server::call<std::vector<std::string>>(node, user, BlockingAwaits{});
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->size(), 4u);
  for (auto& m : *r) EXPECT_NE(m.find("would block"), std::string::npos) << m;
  EXPECT_NE((*r)[0].find("use task::then(task, continuation, timeout)"), std::string::npos)
      << (*r)[0];
  EXPECT_NE((*r)[1].find("use task::then_many(tasks, continuation, timeout)"), std::string::npos)
      << (*r)[1];
  EXPECT_NE((*r)[2].find("use task::then_many"), std::string::npos) << (*r)[2];
  EXPECT_NE((*r)[3].find("task::then"), std::string::npos) << (*r)[3];
}

TEST_F(TaskManyTest, AwaitManyOverATupleOutsideProcesses) {
  auto users = otp::task::async(node, [] { return Names{"user1"}; });
  auto count = otp::task::async(node, [] { return 2; });
  auto nothing = otp::task::async(node, [] {});
  auto [u, n, v] = otp::task::await_many(std::tuple{users, count, nothing}, 10s).value();
  EXPECT_EQ(u, Names{"user1"});
  EXPECT_EQ(n, 2);
  EXPECT_EQ(v, std::monostate{});
}

TEST_F(TaskManyTest, AwaitManyOverATupleTimesOutAndKillsTheUnfinished) {
  auto done = otp::task::async(node, [] { return 1; });
  auto stuck = otp::task::async(node, [release = release] { return release->wait(10s); });
  auto r = otp::task::await_many(std::tuple{done, stuck}, 50ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::timeout);
  EXPECT_NE(r.error().to_string().find("1 of 2"), std::string::npos) << r.error();
  EXPECT_FALSE(otp::alive(stuck.pid()));
}

TEST_F(TaskManyTest, AwaitManyGivesTheFirstErrorInTaskOrder) {
  auto ok = otp::task::async(node, [] { return 1; });
  auto first = otp::task::async(node, []() -> std::string { throw std::runtime_error("first"); });
  auto second = otp::task::async(node, []() -> int { throw std::runtime_error("second"); });
  auto r = otp::task::await_many(std::tuple{ok, first, second}, 10s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().to_string().find("first"), std::string::npos) << r.error();
}
