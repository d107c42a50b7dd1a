// otp-demo: runs every seed service together in one supervision tree (seed::seed_app) on one
// Node and narrates what happens: the tree starting, Counter, UserCache and the MyApp tree's
// components at work, the SimpleCounter Agent, DataFetcher's parallel tasks, MyApp.TaskSupervisor
// (async and async_nolink), TaskRunners under the TaskSupervisor, UserSessions found through
// MyApp.Registry, a FileWatcher following a temp file, CacheServer's table read while the server
// is busy, a Database crash restarting its one_for_all group, a DatabasePool crash restarting the
// rest of its rest_for_one group, a session timing out, and a clean shutdown.
// Service output is prefixed with "  | "; the runtime's crash reports go to stderr.
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "otp/otp.hpp"
#include "seed/seed.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const seed::Puts say = seed::stdout_puts();

void section(const std::string& title) {
  say("\n== " + title + " ==");
}

std::string str(const otp::Pid& p) {
  return p ? p.to_string() : "undefined";
}

std::string show(const std::optional<std::string>& v) {
  return v ? "\"" + *v + "\"" : "nil";
}

long ms_since(Clock::time_point t) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

std::vector<otp::ChildInfo> children_of(otp::Node& node, const char* sup) {
  return otp::supervisor::which_children(node, sup).value();
}

/// Prints which_children; with `before`, says which pids changed.
void show_children(const char* sup, const std::vector<otp::ChildInfo>& now,
                   const std::vector<otp::ChildInfo>* before = nullptr) {
  say(std::string("which_children(") + sup + "):");
  for (size_t i = 0; i < now.size(); ++i) {
    std::string line = "    " + now[i].id + " " + str(now[i].pid);
    if (before && i < before->size()) {
      const otp::Pid& old = (*before)[i].pid;
      line += old == now[i].pid ? "   unchanged" : "   RESTARTED (was " + str(old) + ")";
    }
    say(line);
  }
}

/// Waits until `sup` runs all its children again and child `id` is no longer `old`.
std::vector<otp::ChildInfo> wait_restarted(otp::Node& node, const char* sup, const std::string& id,
                                           const otp::Pid& old) {
  auto until = Clock::now() + 5s;
  for (;;) {
    if (auto kids = otp::supervisor::which_children(node, sup)) {
      bool all_running = true, replaced = false;
      for (const auto& c : *kids) {
        all_running = all_running && c.pid.valid();
        if (c.id == id) replaced = c.pid.valid() && c.pid != old;
      }
      if (all_running && replaced) return *kids;
    }
    if (Clock::now() > until) throw std::runtime_error(id + " was not restarted within 5 s");
    std::this_thread::sleep_for(5ms);  // polling which_children; the demo is not a test
  }
}

void expect(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("expected " + what);
}

/// Prints a supervisor's children, and those of the static supervisors below it.
void show_tree(otp::Node& node, const std::string& sup, const std::string& indent = "    ") {
  for (const auto& c : otp::supervisor::which_children(node, sup).value()) {
    std::string line = indent + c.id + " " + str(c.pid);
    if (c.id == seed::TaskSupervisor::kName || c.id == seed::UserSession::kSupervisor) {
      auto n = otp::dynamic_supervisor::count_children(node, c.id).value().active;
      line += "   (DynamicSupervisor, " + std::to_string(n) + " children)";
    } else if (c.id == seed::my_app::TaskSupervisor::kName) {
      line += "   (Task.Supervisor)";
    }
    say(line);
    if (c.type == otp::ChildType::supervisor && c.pid && c.id != seed::TaskSupervisor::kName &&
        c.id != seed::UserSession::kSupervisor && c.id != seed::my_app::TaskSupervisor::kName)
      show_tree(node, c.id, indent + "    ");
  }
}

/// The demo's temp directory (FileWatcher's file); removed at exit, also by the watchdog.
std::string g_temp_dir;  // set before g_temp_set, never changed after
std::atomic<bool> g_temp_set{false};

struct TempDir {
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "otp-demo.XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
    g_temp_dir = path;
    g_temp_set = true;
  }
  ~TempDir() {
    g_temp_set = false;
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

void append(const std::string& file, const std::string& text) {
  std::ofstream(file, std::ios::app) << text;
}

/// A process that starts a linked task on MyApp.TaskSupervisor; the task's crash takes it down.
struct RunLinkedCrash {};
class TaskCaller : public otp::GenServer {
 public:
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const RunLinkedCrash&) {
      (void)seed::my_app::TaskSupervisor::run_task(
          node(), []() -> int { throw std::runtime_error("linked task failed"); });
      return otp::noreply();
    });
  }
};

// -- the seed's sections, in the order the demo runs them ------------------------------------

using namespace seed;

/// Seed.Supervisor: every seed service in one supervision tree (one_for_one).
void start_the_tree(otp::Node& node, seed::Journal& journal, const std::string& watched) {
  section("Start every seed service in one supervision tree (Seed.Supervisor, one_for_one)");
  otp::Pid root =
      seed_app::start(node,
                      {.puts = journal.puts(), .watch_path = watched, .watch_interval = 100ms})
          .value();
  expect(journal.wait_for("WebServer listening on port 4000"), "the WebServer to listen");
  expect(journal.wait_for("DatabasePool opened 3 connections"), "the DatabasePool to open");
  expect(journal.wait_for("FileWatcher " + watched + ": app booting"), "the FileWatcher to read");
  say(std::string(seed_app::kSupervisor) + " is " + str(root) + "; the tree:");
  show_tree(node, seed_app::kSupervisor);
}

/// GenServer Basics: Counter.
void counter(otp::Node& node) {
  section("Counter (GenServer basics)");
  for (int i = 0; i < 3; ++i) Counter::increment(node);
  say("Counter.increment() x3; Counter.get_value() => " + std::to_string(Counter::get_value(node)));
}

/// GenServer with State Management: UserCache.
void user_cache(otp::Node& node) {
  section("UserCache (GenServer with state)");
  UserCache::put(node, 1, {"Alice", "alice@example.com"});
  UserCache::put(node, 2, {"Bob", "bob@example.com"});
  say("UserCache.get(1) => " + UserCache::get(node, 1).value().name);
  UserCache::remove(node, 2);
  say("UserCache.delete(2); UserCache.get(2) => " +
      std::string(UserCache::get(node, 2) ? "a user" : "nil") + "; UserCache.all() has " +
      std::to_string(UserCache::all(node).size()) + " user(s)");
}

/// Supervisor Strategies: the MyApp tree's components (Database, Cache, ConfigLoader,
/// DatabasePool, WebServer) at work.
void tree_components(otp::Node& node) {
  section("The tree's components at work");
  Database::insert(node, "user:1", "Alice");
  auto row = Cache::fetch(node, "user:1");
  say("Database.insert(user:1); Cache.fetch(user:1) => " + show(row) +
      " (read through; cache size " + std::to_string(Cache::size(node)) + ")");
  say("ConfigLoader.get(port) => " + show(ConfigLoader::get(node, "port")));
  std::string conns;
  for (int i = 0; i < 4; ++i) conns += std::to_string(DatabasePool::checkout(node)) + " ";
  say("DatabasePool.checkout() x4 => " + conns);
  say("WebServer.get(/users/1) => " + WebServer::get(node, "/users/1"));
}

/// Agent for Simple State: SimpleCounter.
void simple_counter(otp::Node& node) {
  section("SimpleCounter (Agent)");
  SimpleCounter::increment(node);
  SimpleCounter::increment(node);
  say("SimpleCounter.increment() x2 => value() " + std::to_string(SimpleCounter::value(node)));
  SimpleCounter::decrement(node);
  say("SimpleCounter.decrement() => value() " + std::to_string(SimpleCounter::value(node)));
  SimpleCounter::reset(node);
  say("SimpleCounter.reset() => value() " + std::to_string(SimpleCounter::value(node)));
}

/// Task for Async Operations: DataFetcher.
void data_fetcher(otp::Node& node) {
  section("DataFetcher (Task.async x3 + Task.await_many)");
  auto join = [](const DataFetcher::List& l) {
    std::string out;
    for (const auto& x : l) out += (out.empty() ? "" : ", ") + x;
    return "[" + out + "]";
  };
  auto started = Clock::now();
  auto data = DataFetcher::fetch_all(node).value();
  say("fetch_all() took " + std::to_string(ms_since(started)) +
      " ms (tasks of 100, 200 and 150 ms in parallel; 450 ms one after the other)");
  say("  users: " + join(data.users) + "  posts: " + join(data.posts) +
      "  comments: " + join(data.comments));
  auto late = DataFetcher::fetch_all(node, 50ms);
  say("fetch_all(timeout 50 ms) => " + (late ? std::string("ok?!") : late.error().to_string()));
}

/// Task.Supervisor for Managed Tasks: MyApp.TaskSupervisor's async and async_nolink.
void my_app_task_supervisor(otp::Node& node) {
  section("MyApp.TaskSupervisor (Task.Supervisor async / async_nolink)");
  using TS = my_app::TaskSupervisor;
  auto task = TS::run_task(node, [] { return std::string("expensive result"); });
  say("Task.await(run_task(expensive_operation)) => \"" + otp::task::await(task).value() + "\"");
  auto nolink = TS::run_task_nolink(
      node, []() -> std::string { throw std::runtime_error("nolink task failed"); });
  auto r = otp::task::await(nolink);
  say("Task.await(run_task_nolink(crash)) => " + (r ? *r : r.error().to_string()) +
      "; the caller carries on");
  otp::Inbox inbox(node);
  otp::Pid caller = otp::gen_server::start<TaskCaller>(node).value();
  inbox.monitor(caller);
  otp::gen_server::cast(node, caller, RunLinkedCrash{});
  auto down = inbox.receive_as<otp::Down>(5s);
  expect(down.has_value(), "the linked caller to go down");
  say("a process " + str(caller) +
      " that run_task'ed a crashing function exited: " + down->reason.to_string());
  say("MyApp.TaskSupervisor still runs: " +
      std::string(otp::alive(node.whereis(TS::kName).value_or(otp::Pid())) ? "yes" : "no"));
}

/// Registry for Process Lookup: UserSessions named via MyApp.Registry.
void user_session(otp::Node& node) {
  section("UserSession (GenServer named via MyApp.Registry)");
  for (int id : {1, 2}) {
    otp::Pid s = UserSession::start_supervised(node, id).value();
    say("start {user_session, " + std::to_string(id) + "} under " + UserSession::kSupervisor +
        " => " + str(s));
  }
  auto found =
      otp::Registry::find(node, UserSession::kRegistry).value()->lookup(UserSession::key(1));
  say("Registry.lookup(MyApp.Registry, {user_session, 1}) => [" + str(found.at(0).pid) + "]");
  (void)UserSession::send_message(node, 1, "hello");
  (void)UserSession::send_message(node, 1, "how are you?");
  (void)UserSession::send_message(node, 2, "hi two");
  auto show_msgs = [](const std::vector<std::string>& ms) {
    std::string out;
    for (const auto& m : ms) out += (out.empty() ? "\"" : ", \"") + m + "\"";
    return "[" + out + "]";
  };
  say("send_message(1, ...) x2, send_message(2, ...); messages(1) => " +
      show_msgs(UserSession::messages(node, 1).value()) + ", messages(2) => " +
      show_msgs(UserSession::messages(node, 2).value()));
  auto missing = UserSession::send_message(node, 99, "anyone?");
  say("send_message(99, ...) => " + missing.error().to_string());
}

/// Implementing GenServer with State Cleanup: FileWatcher following the temp file.
void file_watcher(seed::Journal& journal, const std::string& watched) {
  section("FileWatcher (checks " + watched + " every 100 ms)");
  append(watched, "GET /users/1 200\nGET /users/2 404\n");
  say("appended two lines");
  expect(journal.wait_for("FileWatcher " + watched + ": GET /users/2 404"), "the appended lines");
}

/// Using ETS with GenServer: CacheServer's public table, read while the server is busy.
void cache_server(otp::Node& node) {
  section("CacheServer (public table \"CacheServer\": writes through the server, reads direct)");
  CacheServer::put(node, "user:1", "Alice").value();
  say("CacheServer.put(user:1, Alice) => ok; get(user:1) => \"" +
      CacheServer::get(node, "user:1").value() + "\"; get(user:2) => " +
      CacheServer::get(node, "user:2").error().to_string());
  std::promise<void> entered, release;
  auto release_f = release.get_future().share();
  std::thread loader([&] {
    auto n = CacheServer::load(node, [&entered, release_f] {
      entered.set_value();
      release_f.wait_for(5s);
      return CacheServer::Rows{{"user:2", "Bob"}, {"user:3", "Carol"}};
    });
    say("CacheServer.load(...) => " + std::to_string(n.value()) + " rows");
  });
  entered.get_future().wait();
  say("while the server is busy loading: get(user:1) => \"" +
      CacheServer::get(node, "user:1").value() + "\" (straight from the table)");
  auto put = CacheServer::put(node, "user:9", "Zed", 100ms);
  say("while the server is busy loading: put(user:9, timeout 100 ms) => " +
      (put ? std::string("ok") : put.error().to_string()));
  release.set_value();
  loader.join();
  say("get(user:3) => \"" + CacheServer::get(node, "user:3").value() + "\"");
}

/// Dynamic Supervisor: TaskSupervisor running TaskRunners.
void task_supervisor(otp::Node& node, seed::Journal& journal) {
  section("TaskSupervisor (DynamicSupervisor) running TaskRunners");
  say("TaskSupervisor (in the tree) is " +
      str(node.whereis(TaskSupervisor::kName).value_or(otp::Pid())));
  std::vector<otp::Pid> tasks;
  for (int id = 1; id <= 3; ++id) {
    tasks.push_back(TaskSupervisor::start_task(node, id, journal.puts()).value());
    expect(journal.wait_for("Running task " + std::to_string(id)), "task " + std::to_string(id));
    say("start_task(" + std::to_string(id) + ") => " + str(tasks.back()));
  }
  auto counts = otp::dynamic_supervisor::count_children(node, TaskSupervisor::kName).value();
  say("count_children => active " + std::to_string(counts.active));
  TaskSupervisor::stop_task(node, tasks[0]).value();
  counts = otp::dynamic_supervisor::count_children(node, TaskSupervisor::kName).value();
  say("stop_task(" + str(tasks[0]) + ") => ok; count_children => active " +
      std::to_string(counts.active));
}

/// Supervisor Strategies, one_for_all: a Database crash restarts its group.
void crash_database(otp::Node& node) {
  section("Crash Database: MyApp.CriticalSupervisor (one_for_all) restarts Database AND Cache");
  auto before = children_of(node, my_app::kCriticalSupervisor);
  show_children(my_app::kCriticalSupervisor, before);
  say("crashing Database...");
  crash(node, Database::kName);
  auto after = wait_restarted(node, my_app::kCriticalSupervisor, "database", before[0].pid);
  show_children(my_app::kCriticalSupervisor, after, &before);
  say("Cache.fetch(user:1) => " + show(Cache::fetch(node, "user:1")) +
      ": the new Database is empty, and the Cache did not keep stale rows");
}

/// Supervisor Strategies, rest_for_one: a DatabasePool crash restarts the rest of its
/// group.
void crash_database_pool(otp::Node& node, seed::Journal& journal) {
  section("Crash DatabasePool: MyApp.OrderedSupervisor (rest_for_one) restarts it and WebServer");
  auto before = children_of(node, my_app::kOrderedSupervisor);
  show_children(my_app::kOrderedSupervisor, before);
  say("crashing DatabasePool...");
  crash(node, DatabasePool::kName);
  auto after = wait_restarted(node, my_app::kOrderedSupervisor, "database_pool", before[1].pid);
  expect(journal.wait_for("WebServer listening on port 4000", 2), "the WebServer to listen again");
  expect(journal.wait_for("DatabasePool opened 3 connections", 2), "the DatabasePool to reopen");
  show_children(my_app::kOrderedSupervisor, after, &before);
  say("Counter.get_value() => " + std::to_string(Counter::get_value(node)) +
      ": the root is one_for_one, nothing outside the crashed groups restarted");
}

/// GenServer with Timeouts: SessionManager stopping when idle.
void session_manager(otp::Node& node, seed::Journal& journal) {
  section("SessionManager (GenServer with an idle timeout of 300 ms)");
  otp::Inbox inbox(node);
  auto started = Clock::now();
  otp::Pid session =
      otp::dynamic_supervisor::start_child(node, UserSession::kSupervisor,
                                           SessionManager::child_spec("abc", 300ms, journal.puts()))
          .value();
  inbox.monitor(session);
  say("session abc is " + str(session) + " (a transient child of " + UserSession::kSupervisor +
      ")");
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(150ms);
    SessionManager::refresh(node, session);
    say("refresh at " + std::to_string(ms_since(started)) + " ms");
  }
  auto down = inbox.receive_as<otp::Down>(5s);
  expect(down.has_value(), "the session to time out");
  say("session exited at " + std::to_string(ms_since(started)) + " ms with reason " +
      down->reason.to_string() + "; not restarted (transient)");
}

/// The whole tree after all that.
void whole_tree(otp::Node& node) {
  section("The whole tree after all that");
  show_tree(node, seed_app::kSupervisor);
}

/// Shutdown: every tree stops its children in reverse start order (FileWatcher's terminate
/// closes its file: the state cleanup).
void shut_down(otp::Node& node, seed::Journal& journal, const std::string& watched) {
  section("Shutdown: every tree stops its children in reverse start order");
  node.shutdown();
  expect(journal.count("FileWatcher closed " + watched) == 1, "the FileWatcher to close its file");
  say("node stopped; bye");
}

// The seed's sections in order, on one node, with the services' output going to the journal.
int run() {
  Journal journal([](const std::string& line) { say("  | " + line); });
  TempDir temp;
  const std::string watched = temp.path + "/app.log";
  append(watched, "app booting\n");
  otp::Node node({.name = "demo", .scheduler_threads = 2, .shutdown_timeout = 3s});

  start_the_tree(node, journal, watched);
  counter(node);
  user_cache(node);
  tree_components(node);
  simple_counter(node);
  data_fetcher(node);
  my_app_task_supervisor(node);
  user_session(node);
  file_watcher(journal, watched);
  cache_server(node);
  task_supervisor(node, journal);
  crash_database(node);
  crash_database_pool(node, journal);
  session_manager(node, journal);
  whole_tree(node);
  shut_down(node, journal, watched);
  return 0;
}

}  // namespace

int main() {
  // The demo must never hang: give up loudly if something does.
  std::thread([] {
    std::this_thread::sleep_for(30s);
    std::fputs("otp-demo: did not finish within 30 s\n", stderr);
    if (g_temp_set) {
      std::error_code ec;
      std::filesystem::remove_all(g_temp_dir, ec);
    }
    std::_Exit(2);
  }).detach();
  try {
    return run();
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "otp-demo: %s\n", ex.what());
    return 1;
  }
}
