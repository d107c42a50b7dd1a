// The seed's SimpleCounter: an Agent registered as "simple_counter"; increment, decrement and
// reset update its value, value reads it, all through a typed Agent<int> handle.
#include <string>
#include <thread>
#include <vector>

#include "seed/simple_counter.hpp"
#include "support/eventually.hpp"

using namespace std::chrono_literals;
using seed::SimpleCounter;

TEST(SeedSimpleCounter, IncrementThenValueGivesOne) {
  otp::Node node({.name = "agent", .scheduler_threads = 2});
  otp::Pid pid = SimpleCounter::start_link(node, 0).value();  // {:ok, _pid} = start_link(0)
  EXPECT_EQ(node.whereis(SimpleCounter::kName), pid);
  SimpleCounter::increment(node);
  EXPECT_EQ(SimpleCounter::value(node), 1);
}

TEST(SeedSimpleCounter, DecrementAndResetFromAnyInitialValue) {
  otp::Node node({.name = "agent", .scheduler_threads = 2});
  ASSERT_TRUE(SimpleCounter::start_link(node, 10));
  EXPECT_EQ(SimpleCounter::value(node), 10);
  SimpleCounter::decrement(node);
  SimpleCounter::decrement(node);
  EXPECT_EQ(SimpleCounter::value(node), 8);
  SimpleCounter::reset(node);  // fn _ -> 0 end, whatever the initial value was
  EXPECT_EQ(SimpleCounter::value(node), 0);
  SimpleCounter::decrement(node);
  EXPECT_EQ(SimpleCounter::value(node), -1);
}

TEST(SeedSimpleCounter, UpdatesFromManyThreadsAreNeverLost) {
  otp::Node node({.name = "agent", .scheduler_threads = 2});
  ASSERT_TRUE(SimpleCounter::start_link(node));
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (t % 2 == 0) {
          SimpleCounter::increment(node);
          SimpleCounter::increment(node);
        } else {
          SimpleCounter::decrement(node);
        }
      }
    });
  for (auto& c : clients) c.join();
  // update waits until its function ran, so every update is in: 2*2*200 - 2*200.
  EXPECT_EQ(SimpleCounter::value(node), 400);
}

TEST(SeedSimpleCounter, IsRegisteredOnceAndFailsLoudlyWhenMissing) {
  otp::Node node({.name = "agent", .scheduler_threads = 2});
  try {
    (void)SimpleCounter::value(node);
    FAIL() << "value returned without an agent";
  } catch (const otp::CallFailed& e) {
    EXPECT_EQ(e.error().code(), otp::ErrorCode::noproc) << e.what();
  }
  EXPECT_THROW(SimpleCounter::increment(node), otp::CallFailed);  // Agent.update exits the caller
  ASSERT_TRUE(SimpleCounter::start_link(node, 5));
  auto again = SimpleCounter::start_link(node, 7);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.code(), otp::ErrorCode::already_started);
  EXPECT_EQ(SimpleCounter::value(node), 5);
}

TEST(SeedSimpleCounter, UnderASupervisorAKilledCounterRestartsFromItsInitialValue) {
  otp::Node node({.name = "agent", .scheduler_threads = 2, .log_crashes = false});
  ASSERT_TRUE(otp::supervisor::start_link(node, {SimpleCounter::child_spec(3)}));
  SimpleCounter::increment(node);
  ASSERT_EQ(SimpleCounter::value(node), 4);
  otp::Pid before = node.whereis(SimpleCounter::kName).value();
  otp::Inbox inbox(node);
  inbox.monitor(before);
  otp::exit(before, otp::Reason::kill());
  ASSERT_TRUE(inbox.receive_as<otp::Down>(10s));
  ASSERT_TRUE(otp_test::eventually([&] {
    auto now = node.whereis(SimpleCounter::kName);
    return now && *now != before;
  }));
  EXPECT_EQ(SimpleCounter::value(node), 3);
}

namespace {
template <class A, class F>
concept Updates = requires(const A& a, F f) {
  a.update(f);
};
auto of_string = [](std::string s) { return s; };
auto of_int = [](int n) { return n; };
}  // namespace

TEST(SeedSimpleCounter, ItsAgentHandleIsTypedSoOnlyFunctionsOfIntCompile) {
  otp::Node node({.name = "agent", .scheduler_threads = 2});
  ASSERT_TRUE(SimpleCounter::start_link(node, 3));
  otp::Agent<int> counter = SimpleCounter::agent(node);
  static_assert(!Updates<decltype(counter), decltype(of_string)>);
  static_assert(Updates<decltype(counter), decltype(of_int)>);
  EXPECT_EQ(counter.get().value(), 3);
  EXPECT_EQ(counter.pid().value(), node.whereis(SimpleCounter::kName).value());
}
