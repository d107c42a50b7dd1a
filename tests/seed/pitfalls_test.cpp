// The seed's "Common Pitfalls", each as what goes wrong and what the seed's patterns do instead:
//   not using Registry for dynamic processes      a dead process is gone from the Registry
//   storing data in process state instead of ETS  tables: read without the server, but they die
//                                                 with their owner
//   ignoring backpressure in async operations     async_stream keeps max_concurrency in flight
//   blocking GenServer calls with long operations callers time out (never hang); delegating the
//                                                 work to a task keeps the server responsive
//   forgetting to handle :timeout messages        the default handle_info ignores the Timeout:
//                                                 the idle session never ends
//   not cleaning up resources in terminate/2      terminate runs on a shutdown only when trapping
//   using cast when you need confirmation         a cast to nobody is lost silently; a call says so
//   not implementing proper supervision strategies a session that stops normally must be
//                                                 transient, or it is restarted every time
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "seed/cache_server.hpp"
#include "seed/file_watcher.hpp"
#include "seed/journal.hpp"
#include "seed/session_manager.hpp"
#include "seed/user_cache.hpp"
#include "seed/user_session.hpp"
#include "support/eventually.hpp"
#include "support/node_test.hpp"

using namespace std::chrono_literals;
using otp_test::eventually;
using otp_test::Latch;
using Clock = std::chrono::steady_clock;

namespace {
otp::NodeOptions config(const char* name) {
  return otp_test::node_options(name, 2);
}
}  // namespace

// -- not using Registry for dynamic process management --------------------------------------------

TEST(SeedPitfalls, ADeadProcessIsGoneFromTheRegistrySoNobodyTalksToAStalePid) {
  otp::Node node(config("pitfalls"));
  ASSERT_TRUE(otp::Registry::start(
      node, {.keys = otp::Registry::Keys::unique, .name = seed::UserSession::kRegistry}));
  otp::Pid remembered = seed::UserSession::start_link(node, 1).value();
  otp::Inbox inbox(node);
  inbox.monitor(remembered);
  otp::exit(remembered, otp::Reason::kill());
  ASSERT_TRUE(inbox.receive_as<otp::Down>(10s));

  // Someone who kept the pid: a cast to it is dropped without a word.
  otp::gen_server::cast(node, remembered, seed::UserSession::Deliver{"lost"});
  // The registry knows: the entry went with the process, before its Down was delivered.
  EXPECT_TRUE(otp::Registry::find(node, seed::UserSession::kRegistry)
                  .value()
                  ->lookup(seed::UserSession::key(1))
                  .empty());
  EXPECT_EQ(seed::UserSession::send_message(node, 1, "hello?").code(), otp::ErrorCode::not_found);
}

// -- storing large data in process state instead of ETS -------------------------------------------

namespace {
struct MakeTable {};
/// Creates a table of its own, like any process that keeps data in ETS.
class TableOwner : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const MakeTable&) {
      table_ = otp::Table<std::string, int>::start(
                   node(), {.access = otp::TableAccess::public_, .name = "scratch"})
                   .value();
      table_->insert("answer", 42);
      return otp::reply(true);
    });
  }

 private:
  std::shared_ptr<otp::Table<std::string, int>> table_;
};
}  // namespace

TEST(SeedPitfalls, ATableDiesWithItsOwnerSoItsOwnerMustBeLongLivedAndSupervised) {
  otp::Node node(config("pitfalls"));
  otp::Pid owner = otp::gen_server::start<TableOwner>(node).value();
  ASSERT_TRUE(otp::gen_server::call<bool>(node, owner, MakeTable{}).value());
  auto table = otp::Table<std::string, int>::find(node, "scratch").value();
  EXPECT_EQ(table->lookup("answer"), 42);  // read from this thread, not through the owner

  otp::Inbox inbox(node);
  inbox.monitor(owner);
  ASSERT_TRUE(otp::gen_server::stop(node, owner));  // even a normal exit
  ASSERT_TRUE(inbox.receive_as<otp::Down>(10s));
  EXPECT_TRUE(table->deleted());
  EXPECT_THROW((void)table->lookup("answer"), otp::CallFailed);  // badarg, as ETS
  EXPECT_EQ((otp::Table<std::string, int>::find(node, "scratch").code()),
            otp::ErrorCode::not_found);

  // The seed's CacheServer owns its table for as long as it runs: readers never need it.
  ASSERT_TRUE(seed::CacheServer::start_link(node));
  ASSERT_TRUE(seed::CacheServer::put(node, "answer", "42"));
  EXPECT_EQ(seed::CacheServer::get(node, "answer").value(), "42");
}

// -- ignoring backpressure in async operations ----------------------------------------------------

TEST(SeedPitfalls, ASlowConsumerOfAnAsyncStreamKeepsAtMostMaxConcurrencyTasksInFlight) {
  otp::Node node(config("pitfalls"));
  constexpr int kMax = 3;
  std::atomic<int> produced{0}, running{0}, peak{0};
  std::function<std::optional<int>()> endless = [&]() -> std::optional<int> {
    return produced++;  // an unbounded source: without backpressure, memory would grow forever
  };
  auto stream = otp::task::async_stream(node, endless,
                                        [&](const int& x) {
                                          int now = ++running;
                                          for (int p = peak.load();
                                               now > p && !peak.compare_exchange_weak(p, now);) {
                                          }
                                          std::this_thread::sleep_for(1ms);  // the work
                                          --running;
                                          return x * 2;
                                        },
                                        {.max_concurrency = kMax});
  for (int consumed = 1; consumed <= 50; ++consumed) {
    auto r = stream.next();
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->value(), (consumed - 1) * 2);  // in input order
    std::this_thread::sleep_for(2ms);           // a consumer slower than the producers
    ASSERT_LE(stream.in_flight(), static_cast<size_t>(kMax));
    ASSERT_LE(produced.load(), consumed + kMax) << "inputs taken ahead of the consumer";
  }
  EXPECT_LE(peak.load(), kMax);
  EXPECT_LE(node.process_count(), static_cast<size_t>(kMax));
}

// -- blocking GenServer calls with long-running operations ----------------------------------------

namespace {
struct Ping {};
struct SlowInline {  // the work runs "in" the server: it handles nothing else meanwhile
  std::shared_ptr<Latch> entered, release;
};
struct SlowDelegated {  // the work runs in a task that replies; the server carries on
  std::shared_ptr<Latch> entered, release;
};

class Worker : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From& from) override {
    auto work = [](std::shared_ptr<Latch> entered, std::shared_ptr<Latch> release) {
      return [entered, release] {
        entered->count_down();
        release->wait(30s);
        return std::string("slow done");
      };
    };
    return m.match([&](const Ping&) { return otp::reply(std::string("pong")); },
                   [&](const SlowInline& s) {
                     auto task = otp::task::async(node(), work(s.entered, s.release));
                     return otp::task::then<std::string>(
                         task, [](otp::Result<std::string> r) { return otp::reply(*r); }, 30s);
                   },
                   [&](const SlowDelegated& s) {
                     otp::task::async(node(), [from, job = work(s.entered, s.release)] {
                       otp::gen_server::reply(from, job());  // GenServer.reply from the task
                     });
                     return otp::noreply();
                   });
  }
};

/// Calls `request` on a thread of its own; the result is read after join().
struct Caller {
  Caller(otp::Node& node, otp::Pid to, otp::Message request)
      : thread([&node, to, request, this] {
          result = otp::gen_server::call<std::string>(node, to, request, 30s);
        }) {}
  otp::Result<std::string> result = otp::Error(otp::ErrorCode::timeout, "not yet");
  std::thread thread;  // last: it writes result
};
}  // namespace

TEST(SeedPitfalls, CallingAServerBusyWithALongOperationTimesOutInsteadOfHanging) {
  otp::Node node(config("pitfalls"));
  otp::Pid server = otp::gen_server::start<Worker>(node).value();
  auto entered = std::make_shared<Latch>(1), release = std::make_shared<Latch>(1);
  Caller slow(node, server, SlowInline{entered, release});
  ASSERT_TRUE(entered->wait());

  auto started = Clock::now();
  auto ping = otp::gen_server::call<std::string>(node, server, Ping{}, 200ms);
  ASSERT_FALSE(ping);
  EXPECT_EQ(ping.code(), otp::ErrorCode::timeout);  // an error after 200 ms, not a hang
  EXPECT_LT(Clock::now() - started, 5s);

  release->count_down();
  slow.thread.join();
  EXPECT_EQ(slow.result.value(), "slow done");
  EXPECT_EQ(otp::gen_server::call<std::string>(node, server, Ping{}).value(), "pong");
}

TEST(SeedPitfalls, DelegatingTheLongOperationToATaskKeepsTheServerResponsive) {
  otp::Node node(config("pitfalls"));
  otp::Pid server = otp::gen_server::start<Worker>(node).value();
  auto entered = std::make_shared<Latch>(1), release = std::make_shared<Latch>(1);
  Caller slow(node, server, SlowDelegated{entered, release});
  ASSERT_TRUE(entered->wait());

  for (int i = 0; i < 10; ++i)  // answered while the slow request is still in progress
    ASSERT_EQ(otp::gen_server::call<std::string>(node, server, Ping{}, 5s).value(), "pong");

  release->count_down();
  slow.thread.join();
  EXPECT_EQ(slow.result.value(), "slow done");  // the task replied to the original caller
}

// -- forgetting to handle :timeout messages -------------------------------------------------------

namespace {
/// Asks for an idle timeout like SessionManager, but has no clause for it: the default
/// handle_info (as `use GenServer` provides) ignores the Timeout.
class ForgetfulSession : public otp::GenServer {
 public:
  explicit ForgetfulSession(std::shared_ptr<Latch> timed_out) : timed_out_(std::move(timed_out)) {}
  otp::Action init() override { return otp::ok().timeout(50ms); }
  otp::Action handle_call(const otp::Message&, const otp::From&) override {
    return otp::reply(std::string("still here"));
  }
  otp::Action handle_info(const otp::Message& info) override {
    if (info.is<otp::Timeout>()) timed_out_->count_down();  // only to let the test know
    return otp::GenServer::handle_info(info);
  }

 private:
  std::shared_ptr<Latch> timed_out_;
};
}  // namespace

TEST(SeedPitfalls, AnUnhandledTimeoutIsIgnoredSoTheIdleSessionNeverEnds) {
  otp::Node node(config("pitfalls"));
  otp::Inbox inbox(node);
  auto timed_out = std::make_shared<Latch>(1);
  otp::Pid forgetful = otp::gen_server::start<ForgetfulSession>(node, timed_out).value();
  seed::Journal journal;
  otp::Pid handled = seed::SessionManager::start_link(node, "s", 50ms, journal.puts()).value();
  inbox.monitor(forgetful);
  inbox.monitor(handled);

  ASSERT_TRUE(timed_out->wait());
  auto down = inbox.receive_as<otp::Down>(10s);  // the SessionManager handles it: it stops
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->pid, handled);
  EXPECT_EQ(journal.lines(), std::vector<std::string>{"Session s timed out"});
  // The forgetful one got its Timeout too, ignored it, and lives on, holding its resources.
  EXPECT_TRUE(otp::alive(forgetful));
  EXPECT_EQ(otp::gen_server::call<std::string>(node, forgetful, "ping").value(), "still here");
}

// -- not cleaning up resources in terminate/2 -----------------------------------------------------

namespace {
/// Cleans up in terminate, but does not trap exits: a supervisor's shutdown kills it first.
class Untrapped : public otp::GenServer {
 public:
  explicit Untrapped(seed::Puts puts) : puts_(std::move(puts)) {}
  void terminate(const otp::Reason&) override { puts_("Untrapped cleaned up"); }

 private:
  seed::Puts puts_;
};
}  // namespace

TEST(SeedPitfalls, TerminateRunsOnASupervisorShutdownOnlyForAProcessThatTrapsExits) {
  otp::Node node(config("pitfalls"));
  seed::Journal journal;
  auto dir = std::filesystem::temp_directory_path() /
             ("pitfalls." + std::to_string(::getpid()) + "." + std::to_string(node.serial()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "watched.log").string();
  { std::ofstream(path) << "x\n"; }
  otp::Pid sup =
      otp::supervisor::start_link(node, {otp::worker<Untrapped>("untrapped", journal.puts()),
                                         seed::FileWatcher::child_spec(path, 20ms, journal.puts())})
          .value();
  ASSERT_TRUE(otp::supervisor::terminate_child(node, sup, "untrapped"));
  ASSERT_TRUE(otp::supervisor::terminate_child(node, sup, "file_watcher"));
  EXPECT_EQ(journal.count("Untrapped cleaned up"), 0u);        // killed by the shutdown signal
  EXPECT_EQ(journal.count("FileWatcher closed " + path), 1u);  // traps exits: terminate ran
  node.shutdown();
  std::filesystem::remove_all(dir);
}

// -- using cast when you need synchronous confirmation --------------------------------------------

TEST(SeedPitfalls, ACastToNobodyIsLostSilentlyACallSaysSo) {
  otp::Node node(config("pitfalls"));
  // Neither server runs. UserCache.put is a cast: it "succeeds" and the user is lost.
  seed::UserCache::put(node, 1, {"Alice", "alice@example.com"});
  // CacheServer.put is a call: the caller learns the write did not happen.
  auto r = seed::CacheServer::put(node, "user:1", "Alice");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::noproc);
}

// -- not implementing proper supervision strategies -----------------------------------------------

TEST(SeedPitfalls, ASessionThatStopsNormallyMustBeTransientNotPermanent) {
  otp::Node node(config("pitfalls"));
  seed::Journal journal;
  otp::Pid sup = otp::dynamic_supervisor::start_link(node).value();

  // transient (SessionManager::child_spec): it times out once and stays stopped.
  otp::Pid s = otp::dynamic_supervisor::start_child(
                   node, sup, seed::SessionManager::child_spec("t", 50ms, journal.puts()))
                   .value();
  otp::Inbox inbox(node);
  inbox.monitor(s);
  ASSERT_TRUE(inbox.receive_as<otp::Down>(10s));
  ASSERT_TRUE(
      eventually([&] { return otp::dynamic_supervisor::count_children(node, sup)->active == 0; }));
  EXPECT_EQ(journal.count("Session t timed out"), 1u);

  // permanent (`use GenServer`'s default): every normal stop is followed by a restart.
  ASSERT_TRUE(otp::dynamic_supervisor::start_child(
      node, sup,
      seed::SessionManager::child_spec("p", 50ms, journal.puts())
          .restart(otp::Restart::permanent)));
  EXPECT_TRUE(journal.wait_for("Session p timed out", 2));  // it came back, and timed out again
}
