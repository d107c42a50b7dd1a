// The seed's MyApp.Application tree: a one_for_one root over Counter, UserCache,
// MyApp.CriticalSupervisor (one_for_all: Database, Cache) and MyApp.OrderedSupervisor
// (rest_for_one: ConfigLoader, DatabasePool, WebServer). Crashing each child restarts exactly
// the children its supervisor's strategy names, with fresh state, and nothing else.
#include <map>
#include <optional>
#include <set>
#include <string>

#include "seed/application.hpp"
#include "seed/journal.hpp"
#include "support/eventually.hpp"

using namespace std::chrono_literals;
using namespace seed;
using otp_test::eventually;

namespace {

/// Every child of the tree by id (the ids are unique across the tree), as the supervisors see it.
using Tree = std::map<std::string, otp::Pid>;

std::optional<Tree> snapshot(otp::Node& node) {
  Tree tree;
  auto root = otp::supervisor::which_children(node, my_app::kSupervisor);
  if (!root) return std::nullopt;
  for (const auto& c : *root) {
    tree[c.id] = c.pid;
    if (c.type != otp::ChildType::supervisor || !c.pid) continue;
    auto group = otp::supervisor::which_children(node, c.pid);
    if (!group) return std::nullopt;
    for (const auto& g : *group) tree[g.id] = g.pid;
  }
  return tree;
}

const std::set<std::string> kAll = {"counter",
                                    "user_cache",
                                    "database",
                                    "cache",
                                    "config_loader",
                                    "database_pool",
                                    "web_server",
                                    my_app::kCriticalSupervisor,
                                    my_app::kOrderedSupervisor};

bool complete(const Tree& t) {
  if (t.size() != kAll.size()) return false;
  for (const auto& [id, pid] : t)
    if (!kAll.count(id) || !pid) return false;
  return true;
}

const std::map<std::string, std::string> kLabel = {{"database", "Database"},
                                                   {"cache", "Cache"},
                                                   {"config_loader", "ConfigLoader"},
                                                   {"database_pool", "DatabasePool"},
                                                   {"web_server", "WebServer"}};

class AppTree : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(my_app::start(node, journal.puts()));
    auto t = snapshot(node);
    ASSERT_TRUE(t && complete(*t));
    before = *t;
  }
  /// Waits until the tree runs every child again and `id` has a new pid.
  bool restarted(const std::string& id, Tree& after) {
    return eventually([&] {
      auto t = snapshot(node);
      if (!t || !complete(*t) || t->at(id) == before.at(id)) return false;
      after = *t;
      return true;
    });
  }
  /// Exactly the children in `changed` have new pids; the components among them started again.
  void expect_restarted_exactly(const Tree& after, const std::set<std::string>& changed) {
    for (const auto& [id, pid] : before) {
      if (changed.count(id)) {
        EXPECT_NE(after.at(id), pid) << id << " should have been restarted";
      } else {
        EXPECT_EQ(after.at(id), pid) << id << " should not have been restarted";
      }
      if (kLabel.count(id)) {
        EXPECT_EQ(journal.count(kLabel.at(id) + " started"), changed.count(id) ? 2u : 1u) << id;
      }
    }
  }

  Journal journal;
  otp::Node node{{.name = "myapp", .scheduler_threads = 2, .log_crashes = false}};
  Tree before;
};

}  // namespace

TEST_F(AppTree, StartsEveryChildInOrderUnderTheRightSupervisor) {
  auto ids = [&](const otp::ServerRef& sup) {
    std::vector<std::string> out;
    for (const auto& c : otp::supervisor::which_children(node, sup).value()) out.push_back(c.id);
    return out;
  };
  EXPECT_EQ(ids(my_app::kSupervisor),
            (std::vector<std::string>{"counter", "user_cache", my_app::kCriticalSupervisor,
                                      my_app::kOrderedSupervisor}));
  EXPECT_EQ(ids(my_app::kCriticalSupervisor), (std::vector<std::string>{"database", "cache"}));
  EXPECT_EQ(ids(my_app::kOrderedSupervisor),
            (std::vector<std::string>{"config_loader", "database_pool", "web_server"}));

  // Every child is registered under its name; the nested supervisors too.
  for (const char* name : {"counter", "user_cache", "database", "cache", "config_loader",
                           "database_pool", "web_server"})
    EXPECT_EQ(node.whereis(name), before.at(name)) << name;
  EXPECT_EQ(node.whereis(my_app::kCriticalSupervisor), before.at(my_app::kCriticalSupervisor));
  EXPECT_EQ(node.whereis(my_app::kOrderedSupervisor), before.at(my_app::kOrderedSupervisor));

  auto counts = otp::supervisor::count_children(node, my_app::kSupervisor).value();
  EXPECT_EQ(counts.specs, 4u);
  EXPECT_EQ(counts.active, 4u);
  EXPECT_EQ(counts.workers, 2u);
  EXPECT_EQ(counts.supervisors, 2u);

  std::vector<std::string> started;
  for (const auto& line : journal.lines())
    if (line.ends_with(" started")) started.push_back(line);
  EXPECT_EQ(started,
            (std::vector<std::string>{"Database started", "Cache started", "ConfigLoader started",
                                      "DatabasePool started", "WebServer started"}));
}

TEST_F(AppTree, EveryServiceWorksInTheTree) {
  Counter::increment(node);
  EXPECT_EQ(Counter::get_value(node), 1);
  UserCache::put(node, 1, {"Alice", "alice@example.com"});
  EXPECT_EQ(UserCache::get(node, 1)->name, "Alice");
  Database::insert(node, "k", "v");
  EXPECT_EQ(Cache::fetch(node, "k"), "v");  // read through to the Database
  EXPECT_EQ(Cache::size(node), 1u);
  EXPECT_EQ(Cache::fetch(node, "missing"), std::nullopt);
  EXPECT_EQ(ConfigLoader::get(node, "pool_size"), "3");
  EXPECT_EQ(DatabasePool::size(node), 3);  // read from ConfigLoader as it started
  EXPECT_EQ(DatabasePool::checkout(node), 0);
  EXPECT_EQ(DatabasePool::checkout(node), 1);
  EXPECT_EQ(WebServer::get(node, "/health"), "200 OK /health (port 4000)");
}

// -- one_for_one (the root): only the crashed child restarts -------------------------------------

TEST_F(AppTree, OneForOneCounterCrashRestartsOnlyCounterWithItsInitialValue) {
  for (int i = 0; i < 3; ++i) Counter::increment(node);
  ASSERT_EQ(Counter::get_value(node), 3);
  UserCache::put(node, 1, {"Alice", "alice@example.com"});

  otp::exit(before.at("counter"), otp::Reason::kill());
  Tree after;
  ASSERT_TRUE(restarted("counter", after));
  expect_restarted_exactly(after, {"counter"});
  EXPECT_EQ(node.whereis(Counter::kName), after.at("counter"));
  EXPECT_EQ(Counter::get_value(node), 0);             // {Counter, 0}: a fresh state
  EXPECT_EQ(UserCache::get(node, 1)->name, "Alice");  // the sibling kept its state
}

TEST_F(AppTree, OneForOneUserCacheCrashRestartsOnlyUserCache) {
  Counter::increment(node);
  UserCache::put(node, 1, {"Alice", "alice@example.com"});

  otp::exit(before.at("user_cache"), otp::Reason::error("boom"));
  Tree after;
  ASSERT_TRUE(restarted("user_cache", after));
  expect_restarted_exactly(after, {"user_cache"});
  EXPECT_TRUE(UserCache::all(node).empty());
  EXPECT_EQ(Counter::get_value(node), 1);
}

// -- one_for_all (MyApp.CriticalSupervisor): the whole group restarts --------------------------

TEST_F(AppTree, OneForAllDatabaseCrashRestartsDatabaseAndCache) {
  Database::insert(node, "user:1", "Alice");
  ASSERT_EQ(Cache::fetch(node, "user:1"), "Alice");
  ASSERT_EQ(Cache::size(node), 1u);

  crash(node, Database::kName);
  Tree after;
  ASSERT_TRUE(restarted("database", after));
  expect_restarted_exactly(after, {"database", "cache"});
  // The sibling was stopped by the supervisor (shutdown), not by the crash.
  EXPECT_EQ(journal.count("Cache stopped (shutdown)"), 1u);
  // Both start empty: no stale rows survive in the Cache.
  EXPECT_EQ(Cache::size(node), 0u);
  EXPECT_EQ(Cache::fetch(node, "user:1"), std::nullopt);
}

TEST_F(AppTree, OneForAllCacheCrashRestartsCacheAndDatabase) {
  crash(node, Cache::kName);
  Tree after;
  ASSERT_TRUE(restarted("cache", after));
  expect_restarted_exactly(after, {"database", "cache"});
  EXPECT_EQ(journal.count("Database stopped (shutdown)"), 1u);
}

// -- rest_for_one (MyApp.OrderedSupervisor): the crashed child and those after it ---------------

TEST_F(AppTree, RestForOneConfigLoaderCrashRestartsAllThree) {
  crash(node, ConfigLoader::kName);
  Tree after;
  ASSERT_TRUE(restarted("config_loader", after));
  expect_restarted_exactly(after, {"config_loader", "database_pool", "web_server"});
  EXPECT_EQ(DatabasePool::size(node), 3);  // re-read from the new ConfigLoader
}

TEST_F(AppTree, RestForOneDatabasePoolCrashRestartsItAndWebServerNotConfigLoader) {
  crash(node, DatabasePool::kName);
  Tree after;
  ASSERT_TRUE(restarted("database_pool", after));
  expect_restarted_exactly(after, {"database_pool", "web_server"});
  EXPECT_EQ(journal.count("WebServer stopped (shutdown)"), 1u);
  EXPECT_EQ(journal.count("ConfigLoader stopped (shutdown)"), 0u);
  EXPECT_EQ(WebServer::get(node, "/"), "200 OK / (port 4000)");
}

TEST_F(AppTree, RestForOneWebServerCrashRestartsOnlyWebServer) {
  crash(node, WebServer::kName);
  Tree after;
  ASSERT_TRUE(restarted("web_server", after));
  expect_restarted_exactly(after, {"web_server"});
}

// -- the whole tree ----------------------------------------------------------------------------

TEST_F(AppTree, NodeShutdownStopsTheComponentsInReverseStartOrder) {
  node.shutdown();
  std::vector<std::string> stopped;
  for (const auto& line : journal.lines())
    if (line.find(" stopped") != std::string::npos) stopped.push_back(line);
  EXPECT_EQ(stopped, (std::vector<std::string>{
                         "WebServer stopped (shutdown)", "DatabasePool stopped (shutdown)",
                         "ConfigLoader stopped (shutdown)", "Cache stopped (shutdown)",
                         "Database stopped (shutdown)"}));
  EXPECT_EQ(node.process_count(), 0u);
}
