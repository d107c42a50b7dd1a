// The seed's Counter: a named GenServer; increment is a cast, get_value a call.
#include <thread>
#include <vector>

#include "seed/counter.hpp"
#include "support/eventually.hpp"

using seed::Counter;

TEST(SeedCounter, IncrementThenGetValueGivesOne) {
  otp::Node node({.name = "counter", .scheduler_threads = 2});
  ASSERT_TRUE(Counter::start_link(node, 0));  // {:ok, _pid} = Counter.start_link(0)
  Counter::increment(node);
  EXPECT_EQ(Counter::get_value(node), 1);
}

TEST(SeedCounter, StartsFromTheInitialValue) {
  otp::Node node({.name = "counter", .scheduler_threads = 2});
  ASSERT_TRUE(Counter::start_link(node));  // start_link(initial_value \\ 0)
  EXPECT_EQ(Counter::get_value(node), 0);
  otp::Node other({.name = "counter2", .scheduler_threads = 2});
  ASSERT_TRUE(Counter::start_link(other, 41));
  Counter::increment(other);
  EXPECT_EQ(Counter::get_value(other), 42);
}

TEST(SeedCounter, IsRegisteredUnderItsNameOnce) {
  otp::Node node({.name = "counter", .scheduler_threads = 2});
  otp::Pid pid = Counter::start_link(node).value();
  EXPECT_EQ(node.whereis(Counter::kName), pid);
  auto again = Counter::start_link(node);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.code(), otp::ErrorCode::already_started);
  EXPECT_EQ(Counter::get_value(node), 0);  // the first one is untouched
}

TEST(SeedCounter, CastsFromOneClientAreHandledInOrderBeforeItsNextCall) {
  otp::Node node({.name = "counter", .scheduler_threads = 2});
  ASSERT_TRUE(Counter::start_link(node));
  for (int i = 0; i < 1000; ++i) Counter::increment(node);
  EXPECT_EQ(Counter::get_value(node), 1000);
}

TEST(SeedCounter, ConcurrentIncrementsAreNeverLost) {
  otp::Node node({.name = "counter", .scheduler_threads = 2});
  ASSERT_TRUE(Counter::start_link(node));
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&] {
      for (int i = 0; i < 250; ++i) Counter::increment(node);
    });
  for (auto& c : clients) c.join();
  // Every cast was queued before the joins, so before this call.
  EXPECT_EQ(Counter::get_value(node), 1000);
}

TEST(SeedCounter, GetValueWithoutACounterFailsWithNoproc) {
  otp::Node node({.name = "counter", .scheduler_threads = 2});
  try {
    (void)Counter::get_value(node);
    FAIL() << "get_value returned without a Counter";
  } catch (const otp::CallFailed& e) {
    EXPECT_EQ(e.error().code(), otp::ErrorCode::noproc) << e.what();
  }
  Counter::increment(node);  // a cast to nobody is dropped, as in Erlang
}
