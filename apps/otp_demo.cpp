// otp-demo: runs the seed's services on one Node and narrates what happens: MyApp.Application's
// tree starting, Counter, UserCache and the tree's components at work, TaskRunners under the
// TaskSupervisor, a Database crash restarting its one_for_all group, a DatabasePool crash
// restarting the rest of its rest_for_one group, a session timing out, and a clean shutdown.
// Service output is prefixed with "  | "; the runtime's crash reports go to stderr.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
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

int run() {
  using namespace seed;
  Journal journal([](const std::string& line) { say("  | " + line); });
  otp::Node node({.name = "demo", .scheduler_threads = 2, .shutdown_timeout = 3s});

  section("MyApp.Application: start the supervision tree");
  otp::Pid app = my_app::start(node, journal.puts()).value();
  expect(journal.wait_for("WebServer listening on port 4000"), "the WebServer to listen");
  expect(journal.wait_for("DatabasePool opened 3 connections"), "the DatabasePool to open");
  say("MyApp.Supervisor is " + str(app));
  show_children(my_app::kSupervisor, children_of(node, my_app::kSupervisor));

  section("Counter (GenServer basics)");
  for (int i = 0; i < 3; ++i) Counter::increment(node);
  say("Counter.increment() x3; Counter.get_value() => " + std::to_string(Counter::get_value(node)));

  section("UserCache (GenServer with state)");
  UserCache::put(node, 1, {"Alice", "alice@example.com"});
  UserCache::put(node, 2, {"Bob", "bob@example.com"});
  say("UserCache.get(1) => " + UserCache::get(node, 1).value().name);
  UserCache::remove(node, 2);
  say("UserCache.delete(2); UserCache.get(2) => " +
      std::string(UserCache::get(node, 2) ? "a user" : "nil") + "; UserCache.all() has " +
      std::to_string(UserCache::all(node).size()) + " user(s)");

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

  section("TaskSupervisor (DynamicSupervisor) running TaskRunners");
  say("TaskSupervisor.start_link() => " + str(TaskSupervisor::start_link(node).value()));
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

  section("Crash Database: MyApp.CriticalSupervisor (one_for_all) restarts Database AND Cache");
  auto before = children_of(node, my_app::kCriticalSupervisor);
  show_children(my_app::kCriticalSupervisor, before);
  say("crashing Database...");
  crash(node, Database::kName);
  auto after = wait_restarted(node, my_app::kCriticalSupervisor, "database", before[0].pid);
  show_children(my_app::kCriticalSupervisor, after, &before);
  say("Cache.fetch(user:1) => " + show(Cache::fetch(node, "user:1")) +
      ": the new Database is empty, and the Cache did not keep stale rows");

  section("Crash DatabasePool: MyApp.OrderedSupervisor (rest_for_one) restarts it and WebServer");
  before = children_of(node, my_app::kOrderedSupervisor);
  show_children(my_app::kOrderedSupervisor, before);
  say("crashing DatabasePool...");
  crash(node, DatabasePool::kName);
  after = wait_restarted(node, my_app::kOrderedSupervisor, "database_pool", before[1].pid);
  expect(journal.wait_for("WebServer listening on port 4000", 2), "the WebServer to listen again");
  expect(journal.wait_for("DatabasePool opened 3 connections", 2), "the DatabasePool to reopen");
  show_children(my_app::kOrderedSupervisor, after, &before);
  say("Counter.get_value() => " + std::to_string(Counter::get_value(node)) +
      ": the root is one_for_one, nothing outside the crashed groups restarted");

  section("SessionManager (GenServer with an idle timeout of 300 ms)");
  {
    otp::Inbox inbox(node);
    auto started = Clock::now();
    otp::Pid session = SessionManager::start_link(node, "abc", 300ms, journal.puts()).value();
    inbox.monitor(session);
    say("session abc is " + str(session));
    for (int i = 0; i < 3; ++i) {
      std::this_thread::sleep_for(150ms);
      SessionManager::refresh(node, session);
      say("refresh at " + std::to_string(ms_since(started)) + " ms");
    }
    auto down = inbox.receive_as<otp::Down>(5s);
    expect(down.has_value(), "the session to time out");
    say("session exited at " + std::to_string(ms_since(started)) + " ms with reason " +
        down->reason.to_string());
  }

  section("Shutdown: every tree stops its children in reverse start order");
  node.shutdown();
  say("node stopped; bye");
  return 0;
}

}  // namespace

int main() {
  // The demo must never hang: give up loudly if something does.
  std::thread([] {
    std::this_thread::sleep_for(30s);
    std::fputs("otp-demo: did not finish within 30 s\n", stderr);
    std::_Exit(2);
  }).detach();
  try {
    return run();
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "otp-demo: %s\n", ex.what());
    return 1;
  }
}
