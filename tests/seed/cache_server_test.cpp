// The seed's CacheServer: init creates the public named table "CacheServer"; put goes through the
// server (a call: confirmed once it returns), get reads the table straight from the caller's
// thread, so reads never queue behind the server, even while it is busy in a long operation.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "seed/cache_server.hpp"
#include "support/eventually.hpp"

using namespace std::chrono_literals;
using otp_test::Latch;
using seed::CacheServer;

namespace {
class SeedCacheServer : public ::testing::Test {
 protected:
  otp::Node node{{.name = "cache", .scheduler_threads = 2, .log_crashes = false}};
};
}  // namespace

TEST_F(SeedCacheServer, PutGoesThroughTheServerGetReadsTheTable) {
  otp::Pid pid = CacheServer::start_link(node).value();
  EXPECT_EQ(node.whereis(CacheServer::kName), pid);
  // :ets.new(CacheServer, [:named_table, :set, :public]), owned by the server
  auto table = CacheServer::Table::find(node, CacheServer::kName).value();
  EXPECT_EQ(table->owner(), pid);
  EXPECT_EQ(table->type(), otp::TableType::set);

  ASSERT_TRUE(CacheServer::put(node, "user:1", "Alice"));        // :ok
  EXPECT_EQ(CacheServer::get(node, "user:1").value(), "Alice");  // {:ok, value}
  EXPECT_EQ(table->lookup("user:1"), "Alice");
  ASSERT_TRUE(CacheServer::put(node, "user:1", "Alicia"));  // a set: put replaces
  EXPECT_EQ(CacheServer::get(node, "user:1").value(), "Alicia");
  EXPECT_EQ(table->size(), 1u);

  auto missing = CacheServer::get(node, "user:2");  // :not_found
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.code(), otp::ErrorCode::not_found);
}

TEST_F(SeedCacheServer, APutIsVisibleToEveryReaderOnceItReturned) {
  ASSERT_TRUE(CacheServer::start_link(node));
  std::atomic<bool> done{false};
  std::atomic<int> stale{0};
  std::atomic<int> confirmed{-1};  // the highest i whose put returned
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&] {
      while (!done) {
        int i = confirmed.load();
        if (i >= 0 && !CacheServer::get(node, "k" + std::to_string(i))) ++stale;
      }
    });
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(CacheServer::put(node, "k" + std::to_string(i), std::to_string(i)));
    confirmed = i;
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(stale.load(), 0) << "a reader missed a write that had been confirmed";
  EXPECT_EQ(CacheServer::Table::find(node, CacheServer::kName).value()->size(), 300u);
}

TEST_F(SeedCacheServer, ReadsDoNotWaitForTheServerWritesDo) {
  ASSERT_TRUE(CacheServer::start_link(node));
  ASSERT_TRUE(CacheServer::put(node, "before", "1"));

  // A long write keeps the server busy: it handles nothing else until the rows are in.
  auto entered = std::make_shared<Latch>(1);
  auto release = std::make_shared<Latch>(1);
  std::thread loader([&] {
    auto n = CacheServer::load(
        node,
        [entered, release] {
          entered->count_down();
          release->wait(30s);
          return CacheServer::Rows{{"a", "A"}, {"b", "B"}};
        },
        30s);
    EXPECT_EQ(n.value(), 2u);
  });
  ASSERT_TRUE(entered->wait());

  // Readers go straight to the table: answered at once, however busy the server is.
  for (int i = 0; i < 100; ++i) ASSERT_EQ(CacheServer::get(node, "before").value(), "1");
  EXPECT_EQ(CacheServer::get(node, "a").code(), otp::ErrorCode::not_found);  // not loaded yet
  // A writer waits for the server: here it gives up after its timeout.
  auto put = CacheServer::put(node, "late", "L", 100ms);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.code(), otp::ErrorCode::timeout);

  release->count_down();
  loader.join();
  EXPECT_EQ(CacheServer::get(node, "a").value(), "A");
  EXPECT_EQ(CacheServer::get(node, "b").value(), "B");
  // The timed-out call was still queued, and the server carried it out after the load, as a
  // gen_server does: a timeout says "no answer in time", not "it did not happen".
  ASSERT_TRUE(CacheServer::put(node, "after", "2"));
  EXPECT_EQ(CacheServer::get(node, "late").value(), "L");
}

TEST_F(SeedCacheServer, TheTableDiesWithTheServerAndARestartedServerStartsEmpty) {
  otp::Pid sup = otp::supervisor::start_link(node, {CacheServer::child_spec()}).value();
  ASSERT_TRUE(CacheServer::put(node, "k", "v"));
  otp::Pid first = node.whereis(CacheServer::kName).value();
  auto table = CacheServer::Table::find(node, CacheServer::kName).value();

  otp::Inbox inbox(node);
  inbox.monitor(first);
  otp::exit(first, otp::Reason::kill());
  ASSERT_TRUE(inbox.receive_as<otp::Down>(10s));
  EXPECT_TRUE(table->deleted());  // gone with its owner, before anyone saw the Down
  EXPECT_THROW((void)table->lookup("k"), otp::CallFailed);

  otp::Pid second;
  ASSERT_TRUE(otp_test::eventually([&] {
    auto kids = otp::supervisor::which_children(node, sup);
    second = kids ? kids->at(0).pid : otp::Pid();
    return second && second != first;
  }));
  EXPECT_EQ(CacheServer::get(node, "k").code(), otp::ErrorCode::not_found);  // a fresh table
  ASSERT_TRUE(CacheServer::put(node, "k", "v2"));
  EXPECT_EQ(CacheServer::get(node, "k").value(), "v2");
}

TEST_F(SeedCacheServer, WithoutAServerThereIsNoTable) {
  auto got = CacheServer::get(node, "k");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.code(), otp::ErrorCode::not_found);
  EXPECT_EQ(CacheServer::put(node, "k", "v").code(), otp::ErrorCode::noproc);
}

TEST_F(SeedCacheServer, ALoadThatThrowsCrashesTheServerAndItsSupervisorRestartsIt) {
  otp::Pid sup = otp::supervisor::start_link(node, {CacheServer::child_spec()}).value();
  otp::Pid first = node.whereis(CacheServer::kName).value();
  ASSERT_TRUE(CacheServer::put(node, "k", "v"));
  auto r = CacheServer::load(
      node, []() -> CacheServer::Rows { throw std::runtime_error("database unreachable"); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::exit);  // the linked task took the server down
  ASSERT_TRUE(otp_test::eventually([&] {
    auto kids = otp::supervisor::which_children(node, sup);
    return kids && kids->at(0).pid && kids->at(0).pid != first;
  }));
  EXPECT_EQ(CacheServer::get(node, "k").code(), otp::ErrorCode::not_found);
}

TEST_F(SeedCacheServer, InitFailsWhenTheTableNameIsTaken) {
  auto squatter = CacheServer::Table::start(node, {.name = CacheServer::kName}).value();
  auto r = CacheServer::start_link(node);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::init_failed);
  EXPECT_NE(r.error().to_string().find("already exists"), std::string::npos) << r.error();
  ASSERT_TRUE(otp_test::eventually([&] { return !node.whereis(CacheServer::kName); }));
}
