// The seed's DataFetcher: three tasks (100, 200, 150 ms) collected with await_many. They run in
// parallel, so fetch_all takes about as long as the slowest, not the sum; past its timeout it
// returns a timeout error and leaves no task behind.
#include <chrono>
#include <thread>
#include <vector>

#include "seed/data_fetcher.hpp"
#include "support/eventually.hpp"

using namespace std::chrono_literals;
using seed::DataFetcher;
using Clock = std::chrono::steady_clock;
using List = DataFetcher::List;

TEST(SeedDataFetcher, FetchAllReturnsEveryListInItsPlace) {
  otp::Node node({.name = "fetch", .scheduler_threads = 2});
  auto data = DataFetcher::fetch_all(node);
  ASSERT_TRUE(data) << data.error();
  EXPECT_EQ(data->users, (List{"user1", "user2", "user3"}));
  EXPECT_EQ(data->posts, (List{"post1", "post2"}));
  EXPECT_EQ(data->comments, (List{"comment1", "comment2", "comment3"}));
  // The tasks exit once they returned (await may return just before the last one is gone).
  EXPECT_TRUE(otp_test::eventually([&] { return node.process_count() == 0; }));
}

TEST(SeedDataFetcher, TheTasksRunInParallel) {
  otp::Node node({.name = "fetch", .scheduler_threads = 2});
  auto started = Clock::now();
  ASSERT_TRUE(DataFetcher::fetch_all(node));
  auto took = Clock::now() - started;
  EXPECT_GE(took, 200ms);  // the slowest, fetch_posts
  EXPECT_LT(took, 450ms) << "the three fetches ran one after the other (100 + 200 + 150 ms)";
}

TEST(SeedDataFetcher, TheTasksRunInParallelEvenFromSeveralCallersAtOnce) {
  // Task functions run on the blocking pool, not on the 2 scheduler threads: 4 x 3 sleeping tasks
  // do not wait for each other.
  otp::Node node({.name = "fetch", .scheduler_threads = 2});
  auto started = Clock::now();
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i)
    callers.emplace_back([&] {
      if (DataFetcher::fetch_all(node)) ++ok;
    });
  for (auto& c : callers) c.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_LT(Clock::now() - started, 450ms);
}

TEST(SeedDataFetcher, AShortTimeoutIsATimeoutErrorAndKillsTheUnfinishedTasks) {
  otp::Node node({.name = "fetch", .scheduler_threads = 2});
  auto started = Clock::now();
  auto data = DataFetcher::fetch_all(node, 50ms);
  auto took = Clock::now() - started;
  ASSERT_FALSE(data);
  EXPECT_EQ(data.code(), otp::ErrorCode::timeout);
  EXPECT_NE(data.error().to_string().find("of 3 tasks unfinished"), std::string::npos)
      << data.error();
  EXPECT_LT(took, 200ms);  // it gave up at the deadline, not when the tasks ended
  // Killed (their sleeps end in the background, their results discarded): no task is left.
  EXPECT_TRUE(otp_test::eventually([&] { return node.process_count() == 0; }));

  // A deadline between the fastest and the slowest: still all or nothing, as Task.await_many.
  data = DataFetcher::fetch_all(node, 120ms);
  ASSERT_FALSE(data);
  EXPECT_EQ(data.code(), otp::ErrorCode::timeout);
  EXPECT_TRUE(otp_test::eventually([&] { return node.process_count() == 0; }));
}

TEST(SeedDataFetcher, InsideAGenServerHandlerFetchAllRefusesToBlock) {
  struct Fetch {};
  struct Fetcher : otp::GenServer {
    otp::Action handle_call(const otp::Message& m, const otp::From&) override {
      return m.match([&](const Fetch&) {
        auto r = DataFetcher::fetch_all(node());
        return otp::reply(r ? std::string("ok") : std::string(otp::to_string(r.code())));
      });
    }
  };
  otp::Node node({.name = "fetch", .scheduler_threads = 2});
  otp::Pid f = otp::gen_server::start<Fetcher>(node).value();
  EXPECT_EQ(otp::gen_server::call<std::string>(node, f, Fetch{}).value(), "would_block");
  EXPECT_EQ(node.process_count(), 1u);  // and it started no task it could not wait for
}
