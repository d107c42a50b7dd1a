// The seed's DataFetcher: three tasks (100, 200, 150 ms) collected with await_many. They run in
// parallel (checked with sources that wait for each other, not with a clock); past its timeout
// fetch_all returns a timeout error and leaves no task behind. DataFetcher::Server does the same
// inside a GenServer with task::then_many.
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "seed/data_fetcher.hpp"
#include "support/eventually.hpp"
#include "support/receive.hpp"

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

namespace {

/// Sources that each wait until `running` counted all of them down, i.e. until every source
/// that counts on that latch runs at the same time. A source that gave up waiting returns an
/// empty list, so the result shows whether the tasks ran in parallel (no clock involved).
DataFetcher::Sources all_at_once(std::shared_ptr<otp_test::Latch> running) {
  auto source = [running](List list) {
    return [running, list] {
      running->count_down();
      return running->wait(10s) ? list : List{};
    };
  };
  return {source({"user1"}), source({"post1"}), source({"comment1"})};
}

/// Sources that block until `release` is counted down (users answers at once if `users_fast`).
DataFetcher::Sources held(std::shared_ptr<otp_test::Latch> release, bool users_fast = false) {
  auto source = [release](List list) {
    return [release, list] {
      release->wait(30s);
      return list;
    };
  };
  DataFetcher::Sources s{source({"user1"}), source({"post1"}), source({"comment1"})};
  if (users_fast) s.users = [] { return List{"user1"}; };
  return s;
}

}  // namespace

TEST(SeedDataFetcher, TheTasksRunInParallel) {
  otp::Node node({.name = "fetch", .scheduler_threads = 2});
  auto data = DataFetcher::fetch_all(node, 60s, all_at_once(std::make_shared<otp_test::Latch>(3)));
  ASSERT_TRUE(data) << data.error();
  // Each source saw the other two running: the three fetches did not run one after the other.
  EXPECT_EQ(data->users, (List{"user1"}));
  EXPECT_EQ(data->posts, (List{"post1"}));
  EXPECT_EQ(data->comments, (List{"comment1"}));
}

TEST(SeedDataFetcher, TheTasksRunInParallelEvenFromSeveralCallersAtOnce) {
  // Task functions run on the blocking pool, not on the 2 scheduler threads: 4 x 3 waiting tasks
  // all run at once.
  otp::Node node({.name = "fetch", .scheduler_threads = 2});
  auto running = std::make_shared<otp_test::Latch>(12);
  std::vector<std::thread> callers;
  std::atomic<int> all_together{0};
  for (int i = 0; i < 4; ++i)
    callers.emplace_back([&] {
      auto data = DataFetcher::fetch_all(node, 60s, all_at_once(running));
      if (data && data->users.size() == 1 && data->posts.size() == 1 && data->comments.size() == 1)
        ++all_together;
    });
  for (auto& c : callers) c.join();
  EXPECT_EQ(all_together.load(), 4);
}

TEST(SeedDataFetcher, AShortTimeoutIsATimeoutErrorAndKillsTheUnfinishedTasks) {
  otp::Node node({.name = "fetch", .scheduler_threads = 2});
  // The sources end only when released, which happens after fetch_all returned: so it gave up at
  // its deadline, not when the tasks ended.
  auto release = std::make_shared<otp_test::Latch>(1);
  otp_test::ReleaseOnExit release_at_exit(*release);
  auto data = DataFetcher::fetch_all(node, 50ms, held(release));
  ASSERT_FALSE(data);
  EXPECT_EQ(data.code(), otp::ErrorCode::timeout);
  EXPECT_NE(data.error().to_string().find("of 3 tasks unfinished"), std::string::npos)
      << data.error();
  // Killed (their functions end in the background once released, their results discarded): no
  // task process is left, while the functions are still waiting.
  EXPECT_TRUE(otp_test::eventually([&] { return node.process_count() == 0; }));

  // One source done, two unfinished: still all or nothing, as Task.await_many.
  data = DataFetcher::fetch_all(node, 50ms, held(release, true));
  ASSERT_FALSE(data);
  EXPECT_EQ(data.code(), otp::ErrorCode::timeout);
  EXPECT_TRUE(otp_test::eventually([&] { return node.process_count() == 0; }));
}

TEST(SeedDataFetcher, TheSimulatedCallsTakeTheirTime) {
  // The seed's own sources: 100, 200 and 150 ms. Together they take at least the slowest.
  otp::Node node({.name = "fetch", .scheduler_threads = 2});
  auto started = Clock::now();
  ASSERT_TRUE(DataFetcher::fetch_all(node));
  EXPECT_GE(Clock::now() - started, 200ms);
}

// -- DataFetcher::Server: the same inside a GenServer, with task::then_many --

TEST(SeedDataFetcher, TheServerFetchesEveryListWithoutBlockingItsProcess) {
  otp::Node node({.name = "fetch", .scheduler_threads = 2});
  auto server = otp::gen_server::start<DataFetcher::Server>(node).value();
  auto data = otp::gen_server::call<DataFetcher::Data>(node, server, DataFetcher::FetchAll{}, 20s);
  ASSERT_TRUE(data) << data.error();
  EXPECT_EQ(data->users, (List{"user1", "user2", "user3"}));
  EXPECT_EQ(data->posts, (List{"post1", "post2"}));
  EXPECT_EQ(data->comments, (List{"comment1", "comment2", "comment3"}));
}

TEST(SeedDataFetcher, TheServersTasksRunInParallel) {
  otp::Node node({.name = "fetch", .scheduler_threads = 2});
  auto sources = all_at_once(std::make_shared<otp_test::Latch>(3));
  auto server = otp::gen_server::start<DataFetcher::Server>(node, sources).value();
  auto data =
      otp::gen_server::call<DataFetcher::Data>(node, server, DataFetcher::FetchAll{60s}, 70s);
  ASSERT_TRUE(data) << data.error();
  EXPECT_EQ(data->users, (List{"user1"}));
  EXPECT_EQ(data->posts, (List{"post1"}));
  EXPECT_EQ(data->comments, (List{"comment1"}));
}

TEST(SeedDataFetcher, TheServersTimeoutKillsTheUnfinishedTasksAndTheServerCarriesOn) {
  otp::Node node({.name = "fetch", .scheduler_threads = 2});
  auto release = std::make_shared<otp_test::Latch>(1);
  otp_test::ReleaseOnExit release_at_exit(*release);
  auto server = otp::gen_server::start<DataFetcher::Server>(node, held(release, true)).value();
  auto data = otp::gen_server::call<DataFetcher::Data>(node, server, DataFetcher::FetchAll{50ms});
  ASSERT_FALSE(data);
  EXPECT_EQ(data.code(), otp::ErrorCode::timeout);
  EXPECT_NE(data.error().to_string().find("2 of 3 tasks unfinished"), std::string::npos)
      << data.error();
  // The two unfinished tasks were killed (the server was unlinked from them first): only the
  // server is left, and it still answers.
  EXPECT_TRUE(otp_test::eventually([&] { return node.process_count() == 1; }));
  EXPECT_TRUE(otp::alive(server));
  release->count_down();
  EXPECT_TRUE(otp::gen_server::call<DataFetcher::Data>(node, server, DataFetcher::FetchAll{}, 20s));
}

TEST(SeedDataFetcher, FetchAllInsideAHandlerNamesTheNonBlockingForm) {
  struct Misuser : otp::GenServer {
    otp::Action handle_call(const otp::Message&, const otp::From&) override {
      auto r = DataFetcher::fetch_all(node());
      return otp::reply(r ? std::string("fetched") : r.error().to_string());
    }
  };
  otp::Node node({.name = "fetch", .scheduler_threads = 2});
  auto pid = otp::gen_server::start<Misuser>(node).value();
  auto r = otp::gen_server::call<std::string>(node, pid, 0).value();
  EXPECT_NE(r.find("use DataFetcher::Server"), std::string::npos) << r;
}
