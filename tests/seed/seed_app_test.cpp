// seed::seed_app: every seed service running together in one supervision tree. Each still does
// what its own tests say; a crash restarts only its branch; shutdown stops the whole in reverse
// order, closing the FileWatcher's file.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "seed/data_fetcher.hpp"
#include "seed/journal.hpp"
#include "seed/seed_app.hpp"
#include "seed/session_manager.hpp"
#include "support/eventually.hpp"

using namespace std::chrono_literals;
using namespace seed;
namespace fs = std::filesystem;
using otp_test::eventually;

namespace {

std::vector<std::string> ids(otp::Node& node, const otp::ServerRef& sup) {
  std::vector<std::string> out;
  for (const auto& c : otp::supervisor::which_children(node, sup).value()) out.push_back(c.id);
  return out;
}

class SeedApp : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "seed_app_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir = fs::path(tmpl);
    path = (dir / "app.log").string();
    append("booted\n");
    root =
        seed_app::start(node, {.puts = journal.puts(), .watch_path = path, .watch_interval = 20ms})
            .value();
  }
  void TearDown() override {
    node.shutdown();
    fs::remove_all(dir);
  }
  void append(const std::string& text) { std::ofstream(path, std::ios::app) << text; }

  fs::path dir;
  std::string path;
  Journal journal;
  otp::Node node{{.name = "seed", .scheduler_threads = 2, .log_crashes = false}};
  otp::Pid root;
};

}  // namespace

TEST_F(SeedApp, StartsEveryServiceInOneTree) {
  EXPECT_EQ(node.whereis(seed_app::kSupervisor), root);
  EXPECT_EQ(ids(node, root),
            (std::vector<std::string>{my_app::kSupervisor, seed_app::kSessions,
                                      my_app::TaskSupervisor::kName, "simple_counter",
                                      "cache_server", TaskSupervisor::kName, "file_watcher"}));
  EXPECT_EQ(ids(node, seed_app::kSessions),
            (std::vector<std::string>{UserSession::kRegistry, UserSession::kSupervisor}));
  EXPECT_EQ(ids(node, my_app::kSupervisor).size(), 4u);  // the MyApp.Application tree, whole
  for (const auto& c : otp::supervisor::which_children(node, root).value())
    EXPECT_TRUE(c.pid) << c.id << " is not running";
  for (const char* name : {my_app::kSupervisor, seed_app::kSessions, my_app::TaskSupervisor::kName,
                           SimpleCounter::kName, CacheServer::kName, TaskSupervisor::kName,
                           UserSession::kSupervisor, Counter::kName, WebServer::kName})
    EXPECT_TRUE(node.whereis(name)) << name;
  EXPECT_TRUE(otp::Registry::find(node, UserSession::kRegistry));
  EXPECT_TRUE(CacheServer::Table::find(node, CacheServer::kName));
  EXPECT_EQ(journal.count("FileWatcher opened " + path), 1u);
}

TEST_F(SeedApp, WithoutAFileToWatchThereIsNoFileWatcher) {
  otp::Node other({.name = "seed2", .scheduler_threads = 2});
  otp::Pid r = seed_app::start(other, {.puts = journal.puts()}).value();
  EXPECT_EQ(ids(other, r).back(), TaskSupervisor::kName);
}

TEST_F(SeedApp, EveryServiceWorksInTheTree) {
  Counter::increment(node);
  EXPECT_EQ(Counter::get_value(node), 1);
  UserCache::put(node, 1, {"Alice", "alice@example.com"});
  EXPECT_EQ(UserCache::get(node, 1)->name, "Alice");
  Database::insert(node, "k", "v");
  EXPECT_EQ(Cache::fetch(node, "k"), "v");
  EXPECT_EQ(WebServer::get(node, "/"), "200 OK / (port 4000)");

  SimpleCounter::increment(node);
  SimpleCounter::increment(node);
  SimpleCounter::decrement(node);
  EXPECT_EQ(SimpleCounter::value(node), 1);

  ASSERT_TRUE(CacheServer::put(node, "k", "v"));
  EXPECT_EQ(CacheServer::get(node, "k").value(), "v");

  EXPECT_EQ(DataFetcher::fetch_all(node).value().posts, (DataFetcher::List{"post1", "post2"}));
  auto task = my_app::TaskSupervisor::run_task(node, [] { return 1 + 1; });
  EXPECT_EQ(otp::task::await(task).value(), 2);
  auto nolink = my_app::TaskSupervisor::run_task_nolink(
      node, []() -> int { throw std::runtime_error("boom"); });
  EXPECT_EQ(otp::task::await(nolink).code(), otp::ErrorCode::exit);

  ASSERT_TRUE(UserSession::start_supervised(node, 42));
  ASSERT_TRUE(UserSession::send_message(node, 42, "hi"));
  EXPECT_EQ(UserSession::messages(node, 42).value(), std::vector<std::string>{"hi"});
  EXPECT_EQ(UserSession::send_message(node, 43, "hi").code(), otp::ErrorCode::not_found);

  ASSERT_TRUE(TaskSupervisor::start_task(node, 1, journal.puts()));
  EXPECT_TRUE(journal.wait_for("Running task 1"));

  ASSERT_TRUE(otp::dynamic_supervisor::start_child(
      node, UserSession::kSupervisor, SessionManager::child_spec("abc", 50ms, journal.puts())));
  EXPECT_TRUE(journal.wait_for("Session abc timed out"));

  EXPECT_TRUE(journal.wait_for("FileWatcher " + path + ": booted"));
  append("more\n");
  EXPECT_TRUE(journal.wait_for("FileWatcher " + path + ": more"));
}

TEST_F(SeedApp, ACrashRestartsOnlyItsBranch) {
  auto before = otp::supervisor::which_children(node, root).value();
  auto app_before = otp::supervisor::which_children(node, my_app::kSupervisor).value();
  ASSERT_TRUE(CacheServer::put(node, "k", "v"));
  SimpleCounter::increment(node);

  otp::exit(node.whereis(CacheServer::kName).value(), otp::Reason::kill());
  std::vector<otp::ChildInfo> after;
  ASSERT_TRUE(eventually([&] {
    auto now = otp::supervisor::which_children(node, root);
    if (!now || !now->at(4).pid || now->at(4).pid == before.at(4).pid) return false;
    after = *now;
    return true;
  }));
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i].id != "cache_server") {
      EXPECT_EQ(after.at(i).pid, before[i].pid) << before[i].id;
    }
  }
  auto app_after = otp::supervisor::which_children(node, my_app::kSupervisor).value();
  for (size_t i = 0; i < app_before.size(); ++i) EXPECT_EQ(app_after.at(i).pid, app_before[i].pid);
  EXPECT_EQ(CacheServer::get(node, "k").code(), otp::ErrorCode::not_found);  // a fresh table
  EXPECT_EQ(SimpleCounter::value(node), 1);                                  // untouched
}

TEST_F(SeedApp, NodeShutdownStopsEverythingInReverseOrderAndClosesTheFile) {
  ASSERT_TRUE(UserSession::start_supervised(node, 1));
  node.shutdown();
  EXPECT_EQ(node.process_count(), 0u);
  std::vector<std::string> stopped;
  for (const auto& line : journal.lines())
    if (line.find(" stopped") != std::string::npos || line.find(" closed ") != std::string::npos)
      stopped.push_back(line);
  EXPECT_EQ(stopped, (std::vector<std::string>{
                         "FileWatcher closed " + path, "WebServer stopped (shutdown)",
                         "DatabasePool stopped (shutdown)", "ConfigLoader stopped (shutdown)",
                         "Cache stopped (shutdown)", "Database stopped (shutdown)"}));
  EXPECT_EQ(otp::Registry::find(node, UserSession::kRegistry).code(), otp::ErrorCode::not_found);
  EXPECT_FALSE(CacheServer::Table::find(node, CacheServer::kName));
}
