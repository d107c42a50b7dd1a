// GenServer unit tests, failure paths first: init outcomes, names, call/cast/info/continue,
// deferred replies, idle timeouts, stop and terminate, crashes, call errors and await_call.
// Reference semantics: Erlang/OTP's gen_server. No sleeps are used to synchronise: tests wait on
// events (Inbox::receive with a deadline, Latch::wait, futures) with generous deadlines.
#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "support/eventually.hpp"
#include "support/node_test.hpp"
#include "support/receive.hpp"

namespace {

using namespace std::chrono_literals;
using otp::ErrorCode;
using otp::Reason;
using otp_test::contains;
using otp_test::eventually;
using otp_test::kLong;
using otp_test::Latch;
using otp_test::receive_down;
using otp_test::ReleaseOnExit;
using otp_test::since;
using Clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

otp::NodeOptions config(size_t threads) {
  return otp_test::node_options("gen_server_test", threads);
}

/// Runs f on its own thread and waits up to `deadline` for its result: nullopt when it is still
/// running. The thread is then left behind (detached), so that a hang fails the test instead of
/// hanging the whole run.
template <class T>
std::optional<T> within(ms deadline, std::function<T()> f) {
  auto p = std::make_shared<std::promise<T>>();
  auto fut = p->get_future();
  std::thread([p, f = std::move(f)] { p->set_value(f()); }).detach();
  if (fut.wait_for(deadline) != std::future_status::ready) return std::nullopt;
  return fut.get();
}

// -- messages ---------------------------------------------------------------------------------

struct Get {};
struct Add {
  int n;
};
struct Ping {};
struct Pong {};
struct Boom {};         // call: the handler throws std::runtime_error("boom")
struct BoomCast {};     // cast: the handler throws std::logic_error("cast boom")
struct BoomUnknown {};  // call: the handler throws a non-std exception
struct Unknown {};      // no server has a clause for it
struct Terminated {
  Reason reason;
};

/// Answers Get/Ping, adds on Add, throws on Boom*; reports terminate to `report` (if valid).
class Counter : public otp::GenServer {
 public:
  explicit Counter(int v, otp::Pid report = {}) : v_(v), report_(std::move(report)) {}
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Get&) { return otp::reply(v_); },
                   [&](const Ping&) { return otp::reply(Pong{}); },
                   [&](const Boom&) -> otp::Action { throw std::runtime_error("boom"); },
                   [&](const BoomUnknown&) -> otp::Action { throw 42; });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match(
        [&](const Add& a) {
          v_ += a.n;
          return otp::noreply();
        },
        [&](const BoomCast&) -> otp::Action { throw std::logic_error("cast boom"); });
  }
  void terminate(const Reason& reason) override {
    if (report_) otp::send(report_, Terminated{reason});
  }

 private:
  int v_;
  otp::Pid report_;
};

// -- init outcomes ----------------------------------------------------------------------------

enum class InitMode { ok, timeout, then_continue, stop, ignore, throw_std, throw_other };
struct Setup {
  int value;
};
struct Probe {};  // cast: report the state the server has
struct Seen {
  int value;
};
struct ContinueRan {};
struct TimedOut {};

struct Hooks {
  std::atomic<int> inits{0};
  std::atomic<int> terminates{0};
};

class Starter : public otp::GenServer {
 public:
  Starter(InitMode mode, std::shared_ptr<Hooks> hooks, otp::Pid report = {})
      : mode_(mode), hooks_(std::move(hooks)), report_(std::move(report)) {}

  otp::Action init() override {
    ++hooks_->inits;
    switch (mode_) {
      case InitMode::ok:
        return otp::ok();
      case InitMode::timeout:
        return otp::ok().timeout(100ms);
      case InitMode::then_continue:
        return otp::ok().then_continue(Setup{42});
      case InitMode::stop:
        return otp::stop(Reason::error("bad_config"));
      case InitMode::ignore:
        return otp::ignore();
      case InitMode::throw_std:
        throw std::runtime_error("config file missing");
      case InitMode::throw_other:
        throw 7;
    }
    return otp::ok();
  }
  otp::Action handle_continue(const otp::Message& m) override {
    return m.match([&](const Setup& s) {
      value_ = s.value;
      otp::send(report_, ContinueRan{});
      return otp::noreply();
    });
  }
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Get&) { return otp::reply(value_); });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const Probe&) {
      otp::send(report_, Seen{value_});
      return otp::noreply();
    });
  }
  otp::Action handle_info(const otp::Message& m) override {
    if (m.is<otp::Timeout>()) otp::send(report_, TimedOut{});
    return otp::noreply();
  }
  void terminate(const Reason&) override { ++hooks_->terminates; }

 private:
  InitMode mode_;
  std::shared_ptr<Hooks> hooks_;
  otp::Pid report_;
  int value_ = 0;
};

class ThrowsInConstructor : public otp::GenServer {
 public:
  explicit ThrowsInConstructor(bool std_exception) {
    if (std_exception) throw std::runtime_error("no config");
    throw 42;  // not a std::exception
  }
};

TEST(GenServerInit, StopFailsStartWithInitFailedAndTheStopReason) {
  otp::Node node(config(2));
  auto hooks = std::make_shared<Hooks>();
  auto r = otp::gen_server::start<Starter>(node, InitMode::stop, hooks);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::init_failed);
  EXPECT_EQ(r.error().reason(), Reason::error("bad_config"));
  EXPECT_TRUE(contains(r.error().to_string(), "bad_config")) << r.error();
  EXPECT_EQ(hooks->inits, 1);
  EXPECT_EQ(hooks->terminates, 0) << "terminate must not run when init fails";
  EXPECT_TRUE(eventually([&] { return node.process_count() == 0; }, kLong));
}

struct Gate {
  Latch entered{1};
  Latch release{1};
};

/// Fails init; its destructor (which runs while the failed process is exiting, before it is
/// gone) blocks until released, which holds the process in its exit path.
class DiesSlowly : public otp::GenServer {
 public:
  explicit DiesSlowly(std::shared_ptr<Gate> gate) : gate_(std::move(gate)) {}
  ~DiesSlowly() override {
    gate_->entered.count_down();
    gate_->release.wait(kLong);
  }
  otp::Action init() override { return otp::stop(Reason::error("bad_config")); }

 private:
  std::shared_ptr<Gate> gate_;
};

// OTP's proc_lib (OTP 26 init_fail) returns the error only once the failed process has exited,
// so that the caller (a supervisor restarting a named child, say) finds the name free again.
TEST(GenServerInit, AFailedStartReturnsOnlyOnceTheProcessHasExitedAndFreedItsName) {
  otp::Node node(config(2));
  auto gate = std::make_shared<Gate>();
  ReleaseOnExit guard(gate->release);
  auto first = std::async(std::launch::async, [&] {
    return otp::gen_server::start<DiesSlowly>(node, otp::name("svc"), gate);
  });
  ASSERT_TRUE(gate->entered.wait(kLong));
  // The failed process is still exiting: start must not have returned yet (negative check).
  bool returned_early = first.wait_for(500ms) == std::future_status::ready;
  if (returned_early) {
    EXPECT_EQ(node.process_count(), 1u);
    auto second = otp::gen_server::start<Counter>(node, otp::name("svc"), 0);
    EXPECT_TRUE(second) << "the name of the failed server is still taken after start returned: "
                        << second.error();
  }
  gate->release.count_down();
  ASSERT_EQ(first.wait_for(kLong), std::future_status::ready);
  auto r = first.get();
  EXPECT_EQ(r.code(), ErrorCode::init_failed);
  EXPECT_FALSE(returned_early) << "start returned while the failed process was still alive";
}

TEST(GenServerInit, IgnoreFailsStartWithIgnoredAndLeavesNoProcess) {
  otp::Node node(config(2));
  auto hooks = std::make_shared<Hooks>();
  auto r = otp::gen_server::start<Starter>(node, otp::name("ignored"), InitMode::ignore, hooks);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::ignored);
  EXPECT_EQ(hooks->terminates, 0);
  EXPECT_TRUE(eventually([&] { return node.process_count() == 0; }, kLong));
  EXPECT_FALSE(node.whereis("ignored"));
}

TEST(GenServerInit, InitThatThrowsFailsStartWithInitFailedNamingTheException) {
  otp::Node node(config(2));
  auto hooks = std::make_shared<Hooks>();
  auto r = otp::gen_server::start<Starter>(node, InitMode::throw_std, hooks);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::init_failed);
  EXPECT_EQ(r.error().reason().kind(), Reason::Kind::error);
  EXPECT_TRUE(contains(r.error().reason().detail(), "config file missing")) << r.error();
  EXPECT_TRUE(contains(r.error().reason().detail(), "runtime_error")) << r.error();
  EXPECT_EQ(hooks->terminates, 0);
  EXPECT_TRUE(eventually([&] { return node.process_count() == 0; }, kLong));
}

TEST(GenServerInit, InitThatThrowsANonStdExceptionFailsStartWithInitFailed) {
  otp::Node node(config(2));
  auto hooks = std::make_shared<Hooks>();
  auto r = otp::gen_server::start<Starter>(node, InitMode::throw_other, hooks);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::init_failed);
  EXPECT_EQ(r.error().reason().kind(), Reason::Kind::error);
}

TEST(GenServerInit, AConstructorThatThrowsFailsStartWithInitFailedNamingTheException) {
  otp::Node node(config(2));
  auto r = otp::gen_server::start<ThrowsInConstructor>(node, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::init_failed);
  EXPECT_TRUE(contains(r.error().reason().detail(), "no config")) << r.error();
  EXPECT_TRUE(eventually([&] { return node.process_count() == 0; }, kLong));
}

TEST(GenServerInit, AConstructorThatThrowsANonStdExceptionFailsStartInsteadOfHanging) {
  // When start hangs, its thread stays blocked for good and pins the CAF actor system (CAF keeps
  // a thread-local logger reference in every thread that spawned an actor), so destroying the
  // node would hang the whole run: the node is then deliberately leaked.
  auto node = std::make_unique<otp::Node>(config(2));
  auto r = within<otp::Result<otp::Pid>>(
      kLong, [n = node.get()] { return otp::gen_server::start<ThrowsInConstructor>(*n, false); });
  if (!r) {
    (void)node.release();
    FAIL() << "start did not return within " << kLong.count() << " ms";
  }
  ASSERT_FALSE(*r);
  EXPECT_EQ(r->code(), ErrorCode::init_failed);
}

// CAF 0.17 keeps a reference to the actor system's logger in a thread-local of every thread that
// created the system or spawned an actor in it, and ~actor_system waits until all are released.
TEST(GenServerInit, ANodeCanBeDestroyedWhileAThreadThatStartedAServerIsStillRunning) {
  std::atomic<otp::Node*> node{nullptr};
  Latch created(1), started(1), destroy(1), destroyed(1);
  auto release = std::make_shared<Latch>(1);
  std::thread owner([&] {  // creates and destroys the node
    {
      otp::Node n(config(2));
      node = &n;
      created.count_down();
      destroy.wait(30s);
    }
    destroyed.count_down();
  });
  ASSERT_TRUE(created.wait(kLong));
  std::thread worker([&, release] {  // a pool thread that outlives the node
    (void)otp::gen_server::start<Counter>(*node.load(), 0);
    started.count_down();
    release->wait(30s);
  });
  bool was_started = started.wait(kLong);
  destroy.count_down();
  bool in_time = destroyed.wait(kLong);
  release->count_down();
  worker.join();
  owner.join();
  EXPECT_TRUE(was_started);
  EXPECT_TRUE(in_time) << "~Node waited for an unrelated thread to exit";
}

TEST(GenServerInit, ANodeCanBeDestroyedOnAnotherThreadThanTheOneThatCreatedIt) {
  otp::Node* node = nullptr;
  Latch created(1), destroyed(1);
  auto release = std::make_shared<Latch>(1);
  std::thread creator([&, release] {  // stays alive after handing the node over
    node = new otp::Node(config(2));
    created.count_down();
    release->wait(30s);
  });
  ASSERT_TRUE(created.wait(kLong));
  std::thread destroyer([&] {
    (void)otp::gen_server::start<Counter>(*node, 0);
    delete node;
    destroyed.count_down();
  });
  bool in_time = destroyed.wait(kLong);
  release->count_down();
  creator.join();
  destroyer.join();
  EXPECT_TRUE(in_time) << "~Node waited for the thread that created it to exit";
}

TEST(GenServerInit, ANameAlreadyTakenFailsWithAlreadyStartedNamingTheOwner) {
  otp::Node node(config(2));
  auto owner = otp::gen_server::start<Counter>(node, otp::name("svc"), 1).value();
  auto hooks = std::make_shared<Hooks>();
  auto r = otp::gen_server::start<Starter>(node, otp::name("svc"), InitMode::ok, hooks);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::already_started);
  EXPECT_TRUE(contains(r.error().to_string(), owner.to_string())) << r.error();
  EXPECT_EQ(hooks->inits, 0) << "init must not run when the name is taken";
  EXPECT_EQ(node.whereis("svc"), owner);
  EXPECT_EQ(otp::gen_server::call<int>(node, "svc", Get{}).value(), 1);
  EXPECT_TRUE(eventually([&] { return node.process_count() == 1; }, kLong));
}

TEST(GenServerInit, OkReturnsTheLivePidOfAServerThatAnswers) {
  otp::Node node(config(2));
  auto hooks = std::make_shared<Hooks>();
  auto pid = otp::gen_server::start<Starter>(node, InitMode::ok, hooks).value();
  EXPECT_TRUE(pid.valid());
  EXPECT_TRUE(otp::alive(pid));
  EXPECT_EQ(hooks->inits, 1);
  EXPECT_EQ(otp::gen_server::call<int>(node, pid, Get{}).value(), 0);
}

TEST(GenServerInit, OkWithANameRegistersItUntilTheServerExits) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Counter>(node, otp::name("named"), 5).value();
  EXPECT_EQ(node.whereis("named"), pid);
  EXPECT_EQ(otp::whereis(node, "named").value(), pid);
  EXPECT_EQ(otp::gen_server::call<int>(node, "named", Get{}).value(), 5);
  ASSERT_TRUE(otp::gen_server::stop(node, "named"));
  EXPECT_FALSE(node.whereis("named")) << "the name must be gone once stop returned";
  EXPECT_EQ(otp::whereis(node, "named").code(), ErrorCode::noproc);
}

TEST(GenServerInit, OkWithTimeoutDeliversTimeoutToHandleInfo) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto hooks = std::make_shared<Hooks>();
  auto t0 = Clock::now();
  auto pid = otp::gen_server::start<Starter>(node, InitMode::timeout, hooks, inbox.pid());
  ASSERT_TRUE(pid);
  ASSERT_TRUE(inbox.receive_as<TimedOut>(kLong));
  EXPECT_GE(since(t0), 100ms);
  EXPECT_FALSE(inbox.receive_as<TimedOut>(300ms)) << "the idle timeout fires once";
}

TEST(GenServerInit, ThenContinueRunsHandleContinueBeforeAnyOtherMessage) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto hooks = std::make_shared<Hooks>();
  auto pid = otp::gen_server::start<Starter>(node, InitMode::then_continue, hooks, inbox.pid());
  ASSERT_TRUE(pid);
  otp::gen_server::cast(node, *pid, Probe{});  // sent right after start returned
  auto first = inbox.receive(kLong);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->is<ContinueRan>()) << "got " << first->type_name();
  auto seen = inbox.receive_as<Seen>(kLong);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->value, 42);
}

// -- via names ----------------------------------------------------------------------------------

/// A minimal via registry: a map, which forgets dead owners lazily.
class MapRegistry : public otp::ViaRegistry {
 public:
  otp::Result<void> register_name(const otp::RegistryKey& key, const otp::Pid& pid) override {
    std::lock_guard<std::mutex> g(mx_);
    auto it = names_.find(key);
    if (it != names_.end() && otp::alive(it->second) && it->second != pid)
      return otp::Error(ErrorCode::already_started,
                        "register " + key.to_string() + ": taken by " + it->second.to_string());
    names_[key] = pid;
    return {};
  }
  void unregister_name(const otp::RegistryKey& key) override {
    std::lock_guard<std::mutex> g(mx_);
    names_.erase(key);
  }
  std::optional<otp::Pid> whereis_name(const otp::RegistryKey& key) override {
    std::lock_guard<std::mutex> g(mx_);
    auto it = names_.find(key);
    if (it == names_.end()) return std::nullopt;
    return it->second;
  }
  std::string describe() const override { return "MapRegistry"; }

 private:
  std::mutex mx_;
  std::unordered_map<otp::RegistryKey, otp::Pid> names_;
};

TEST(GenServerViaName, ATakenViaNameFailsWithAlreadyStarted) {
  otp::Node node(config(2));
  auto reg = std::make_shared<MapRegistry>();
  auto owner = otp::gen_server::start<Counter>(node, otp::name(otp::via(reg, "user:1")), 1);
  ASSERT_TRUE(owner);
  auto r = otp::gen_server::start<Counter>(node, otp::name(otp::via(reg, "user:1")), 2);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::already_started);
  EXPECT_TRUE(contains(r.error().to_string(), owner->to_string())) << r.error();
}

TEST(GenServerViaName, AViaNameThroughAMissingRegistryFailsStartWithNoproc) {
  otp::Node node(config(2));
  auto r = otp::gen_server::start<Counter>(node, otp::name(otp::via("NoSuchRegistry", "k")), 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::noproc);
  EXPECT_TRUE(contains(r.error().to_string(), "NoSuchRegistry")) << r.error();
  EXPECT_EQ(node.process_count(), 0u);
}

TEST(GenServerViaName, CallsAndCastsResolveThroughTheRegistry) {
  otp::Node node(config(2));
  auto reg = std::make_shared<MapRegistry>();
  auto pid = otp::gen_server::start<Counter>(node, otp::name(otp::via(reg, "user:42")), 1);
  ASSERT_TRUE(pid);
  EXPECT_EQ(reg->whereis_name("user:42"), *pid);
  otp::gen_server::cast(node, otp::via(reg, "user:42"), Add{2});
  EXPECT_EQ(otp::gen_server::call<int>(node, otp::via(reg, "user:42"), Get{}).value(), 3);
  auto missing = otp::gen_server::call<int>(node, otp::via(reg, "user:43"), Get{});
  EXPECT_EQ(missing.code(), ErrorCode::noproc);
  EXPECT_TRUE(contains(missing.error().to_string(), "MapRegistry")) << missing.error();
}

// -- call / cast / info / continue ----------------------------------------------------------

struct Record {
  int n;
};
struct GetLog {};
struct ContinueWith {
  int n;
};
using Log = std::vector<std::string>;

/// Logs what it handles, in order.
class Recorder : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const GetLog&) { return otp::reply(log_); },
                   [&](const ContinueWith& c) {
                     log_.push_back("call:" + std::to_string(c.n));
                     return otp::reply(c.n).then_continue(c.n);
                   });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const Record& r) {
      log_.push_back("cast:" + std::to_string(r.n));
      return otp::noreply();
    });
  }
  otp::Action handle_info(const otp::Message& m) override {
    return m.match([&](const Record& r) {
      log_.push_back("info:" + std::to_string(r.n));
      return otp::noreply();
    });
  }
  otp::Action handle_continue(const otp::Message& m) override {
    return m.match([&](const int& n) {
      log_.push_back("continue:" + std::to_string(n));
      return otp::noreply();
    });
  }

 protected:
  Log log_;
};

TEST(GenServerCall, CallReturnsTheReplyOfHandleCall) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Counter>(node, 41).value();
  EXPECT_EQ(otp::gen_server::call<int>(node, pid, Get{}).value(), 41);
  auto any = otp::gen_server::call(node, pid, Ping{});  // untyped: the Message itself
  ASSERT_TRUE(any);
  EXPECT_TRUE(any->is<Pong>());
}

TEST(GenServerCall, CastsSendsAndCallsFromOneThreadAreHandledInOrder) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Recorder>(node).value();
  otp::gen_server::cast(node, pid, Record{1});
  otp::send(pid, Record{2});
  otp::gen_server::cast(node, pid, Record{3});
  auto log = otp::gen_server::call<Log>(node, pid, GetLog{}).value();
  EXPECT_EQ(log, (Log{"cast:1", "info:2", "cast:3"}));
}

TEST(GenServerCall, ReplyWithThenContinueRunsHandleContinueBeforeTheNextMessage) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Recorder>(node).value();
  EXPECT_EQ(otp::gen_server::call<int>(node, pid, ContinueWith{7}).value(), 7);
  otp::gen_server::cast(node, pid, Record{8});
  auto log = otp::gen_server::call<Log>(node, pid, GetLog{}).value();
  EXPECT_EQ(log, (Log{"call:7", "continue:7", "cast:8"}));
}

TEST(GenServerCall, AnUnmatchedInfoIsDroppedAndTheServerKeepsRunning) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Recorder>(node).value();
  otp::send(pid, Unknown{});
  otp::gen_server::cast(node, pid, Record{1});
  EXPECT_EQ(otp::gen_server::call<Log>(node, pid, GetLog{}).value(), (Log{"cast:1"}));
}

TEST(GenServerCall, ACastToADeadOrUnknownServerIsSilentlyDropped) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Counter>(node, 1).value();
  ASSERT_TRUE(otp::gen_server::stop(node, pid));
  otp::gen_server::cast(node, pid, Add{1});
  otp::gen_server::cast(node, "nobody", Add{1});
  otp::gen_server::cast(node, otp::Pid{}, Add{1});
  // Dropped, not kept: the dead server stays dead, and a server registered as "nobody" afterwards
  // never sees the cast sent before it existed (it answers its initial value). The node serves on.
  EXPECT_FALSE(otp::alive(pid));
  auto later = otp::gen_server::start<Counter>(node, otp::name("nobody"), 10).value();
  otp::gen_server::cast(node, "nobody", Add{5});
  EXPECT_EQ(otp::gen_server::call<int>(node, later, Get{}).value(), 15);
}

// -- deferred replies -------------------------------------------------------------------------

struct Hold {};  // call: the reply is deferred until Release
struct Release {
  int value;
};
struct HoldArrived {
  otp::From from;
};
struct Released {};
struct Crash {
  Reason reason;
};
struct Echo {
  int value;
};
struct ReplyFor {
  otp::From from;
  int value;
};
struct ForwardTo {
  otp::Pid helper;
  int value;
};

/// Defers its replies: Hold stores the From (and reports it), Release replies later.
class Holder : public otp::GenServer {
 public:
  explicit Holder(otp::Pid report) : report_(std::move(report)) {}
  otp::Action handle_call(const otp::Message& m, const otp::From& from) override {
    return m.match(
        [&](const Hold&) {
          pending_ = from;
          otp::send(report_, HoldArrived{from});
          return otp::noreply();
        },
        [&](const Echo& e) { return otp::reply(e.value); },
        [&](const ForwardTo& f) {
          otp::gen_server::cast(node(), f.helper, ReplyFor{from, f.value});
          return otp::noreply();
        });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match(
        [&](const Release& r) {
          otp::gen_server::reply(pending_, r.value);
          otp::send(report_, Released{});
          return otp::noreply();
        },
        [&](const ReplyFor& r) {
          otp::gen_server::reply(r.from, r.value);
          return otp::noreply();
        },
        [&](const Crash& c) { return otp::stop(c.reason); });
  }

 private:
  otp::Pid report_;
  otp::From pending_;
};

/// A Holder with one call parked in it: `caller` waits on another thread for the answer to
/// Hold{}, and `arrived->from` is the From that answers it.
class GenServerHeldCall : public ::testing::Test {
 protected:
  void SetUp() override {
    pid = otp::gen_server::start<Holder>(node, inbox.pid()).value();
    caller = std::async(std::launch::async,
                        [this] { return otp::gen_server::call<int>(node, pid, Hold{}, 10s); });
    arrived = inbox.receive_as<HoldArrived>(kLong);
    ASSERT_TRUE(arrived);
  }

  otp::Node node{config(2)};
  otp::Inbox inbox{node};
  otp::Pid pid;
  std::future<otp::Result<int>> caller;
  std::optional<HoldArrived> arrived;
};

TEST_F(GenServerHeldCall, NoreplyThenAReplyFromALaterCastAnswersTheCaller) {
  EXPECT_NE(caller.wait_for(50ms), std::future_status::ready) << "replied before Release";
  otp::gen_server::cast(node, pid, Release{17});
  ASSERT_EQ(caller.wait_for(kLong), std::future_status::ready);
  EXPECT_EQ(caller.get().value(), 17);
}

TEST_F(GenServerHeldCall, GenServerReplyFromAnotherThreadAnswersTheCaller) {
  std::thread([from = arrived->from] { otp::gen_server::reply(from, 23); }).join();
  ASSERT_EQ(caller.wait_for(kLong), std::future_status::ready);
  EXPECT_EQ(caller.get().value(), 23);
}

TEST(GenServerDeferredReply, GenServerReplyFromAnotherProcessAnswersTheCaller) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto front = otp::gen_server::start<Holder>(node, inbox.pid()).value();
  auto helper = otp::gen_server::start<Holder>(node, inbox.pid()).value();
  EXPECT_EQ(otp::gen_server::call<int>(node, front, ForwardTo{helper, 31}, kLong).value(), 31);
}

TEST_F(GenServerHeldCall, OnlyTheFirstReplyToAFromCounts) {
  otp::gen_server::reply(arrived->from, 1);
  otp::gen_server::reply(arrived->from, 2);
  ASSERT_EQ(caller.wait_for(kLong), std::future_status::ready);
  EXPECT_EQ(caller.get().value(), 1);
  EXPECT_EQ(otp::gen_server::call<int>(node, pid, Echo{3}).value(), 3);
}

TEST_F(GenServerHeldCall, AReplyCarryingAnErrorMakesTheCallFailWithThatError) {
  otp::gen_server::reply(arrived->from, otp::Error(ErrorCode::not_found, "lookup of user 7"));
  ASSERT_EQ(caller.wait_for(kLong), std::future_status::ready);
  auto r = caller.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::not_found);
  EXPECT_EQ(r.error().context(), "lookup of user 7");
}

TEST_F(GenServerHeldCall, AReplyToAnInvalidFromIsIgnored) {
  // Ignored: it throws nothing and reaches nobody (the waiting caller gets the real reply, not 1),
  // and the server that holds the call keeps serving.
  EXPECT_NO_THROW(otp::gen_server::reply(otp::From{}, 1));
  otp::gen_server::reply(arrived->from, 2);
  ASSERT_EQ(caller.wait_for(kLong), std::future_status::ready);
  EXPECT_EQ(caller.get().value(), 2);
  EXPECT_EQ(otp::gen_server::call<int>(node, pid, Echo{3}).value(), 3);
}

TEST_F(GenServerHeldCall, ACallerWaitingOnADeferredReplyGetsExitWhenTheServerStops) {
  otp::gen_server::cast(node, pid, Crash{Reason::error("gave up")});
  ASSERT_EQ(caller.wait_for(kLong), std::future_status::ready);
  auto r = caller.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::exit);
  EXPECT_EQ(r.error().reason(), Reason::error("gave up"));
}

// -- idle timeout (the seed's SessionManager) -------------------------------------------------

struct Refresh {};

/// {ok, State, Timeout} in init and every refresh; stops normal when idle for `idle`.
class SessionManager : public otp::GenServer {
 public:
  SessionManager(ms idle, otp::Pid report) : idle_(idle), report_(std::move(report)) {}
  otp::Action init() override { return otp::ok().timeout(idle_); }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const Refresh&) { return otp::noreply().timeout(idle_); },
                   [&](const Probe&) { return otp::noreply(); });  // no timeout: cancels it
  }
  otp::Action handle_info(const otp::Message& m) override {
    return m.match([&](const otp::Timeout&) {
      otp::send(report_, TimedOut{});
      return otp::stop(Reason::normal());
    });
  }
  void terminate(const Reason& reason) override { otp::send(report_, Terminated{reason}); }

 private:
  ms idle_;
  otp::Pid report_;
};

TEST(GenServerIdleTimeout, RefreshesKeepASessionAliveThenItTimesOutAndStopsNormal) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  // Long enough that a loaded machine still refreshes within it (the refreshes come every 100 ms).
  constexpr ms idle = 1000ms;
  auto pid = otp::gen_server::start<SessionManager>(node, idle, inbox.pid()).value();
  auto ref = inbox.monitor(pid);
  // Refresh every ~100 ms for 2.5 s (2.5 idle periods): the inbox wait paces the refreshes and
  // checks at the same time that nothing (no Down, no TimedOut) arrived meanwhile.
  auto until = Clock::now() + 2500ms;
  while (Clock::now() < until) {
    auto m = inbox.receive(100ms);
    ASSERT_FALSE(m) << "session ended while refreshed: " << m->type_name();
    otp::gen_server::cast(node, pid, Refresh{});
  }
  auto last_refresh = Clock::now();
  ASSERT_TRUE(inbox.receive_as<TimedOut>(kLong));
  EXPECT_GE(since(last_refresh), idle - 50ms);
  auto terminated = inbox.receive_as<Terminated>(kLong);
  ASSERT_TRUE(terminated);
  EXPECT_EQ(terminated->reason, Reason::normal());
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::normal());
}

TEST(GenServerIdleTimeout, AMessageWhoseHandlerSetsNoTimeoutCancelsTheIdleTimeout) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<SessionManager>(node, 300ms, inbox.pid()).value();
  otp::gen_server::cast(node, pid, Probe{});  // returns noreply() without a timeout
  EXPECT_FALSE(inbox.receive(1s)) << "Timeout arrived although the last handler set none";
  EXPECT_TRUE(otp::alive(pid));
}

// -- stop -------------------------------------------------------------------------------------

struct SlowTerminate {
  std::shared_ptr<Latch> entered;
  std::shared_ptr<Latch> release;
};

/// Reports terminate; optionally blocks inside it until released.
class Stoppable : public otp::GenServer {
 public:
  explicit Stoppable(otp::Pid report, SlowTerminate slow = {})
      : report_(std::move(report)), slow_(std::move(slow)) {}
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Ping&) { return otp::reply(Pong{}); },
                   [&](const Get&) {
                     // Blocking client calls from a handler would stall a scheduler thread.
                     // A Node& escapes the compile-time check (handler_node.hpp).
                     otp::Node& n = node();
                     auto stopped = otp::gen_server::stop(n, "nobody");
                     return otp::reply(stopped.code());
                   });
  }
  void terminate(const Reason& reason) override {
    if (slow_.entered) slow_.entered->count_down();
    if (slow_.release) slow_.release->wait(kLong);
    otp::send(report_, Terminated{reason});
  }

 private:
  otp::Pid report_;
  SlowTerminate slow_;
};

TEST(GenServerStop, StopOfADeadServerFailsWithNoproc) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Stoppable>(node, inbox.pid()).value();
  ASSERT_TRUE(otp::gen_server::stop(node, pid));
  auto again = otp::gen_server::stop(node, pid);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.code(), ErrorCode::noproc);
}

TEST(GenServerStop, StopOfAnUnknownNameFailsWithNoproc) {
  otp::Node node(config(2));
  auto r = otp::gen_server::stop(node, "nobody");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::noproc);
  EXPECT_EQ(otp::gen_server::stop(node, otp::Pid{}).code(), ErrorCode::noproc);
}

TEST(GenServerStop, StopTimesOutWhenTerminateTakesLongerThanTheTimeout) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  SlowTerminate slow{std::make_shared<Latch>(1), std::make_shared<Latch>(1)};
  ReleaseOnExit guard(*slow.release);
  auto pid = otp::gen_server::start<Stoppable>(node, inbox.pid(), slow).value();
  auto ref = inbox.monitor(pid);
  auto t0 = Clock::now();
  auto r = otp::gen_server::stop(node, pid, Reason::shutdown(), 200ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::timeout);
  EXPECT_GE(since(t0), 200ms);
  EXPECT_LT(since(t0), kLong);
  ASSERT_TRUE(slow.entered->wait(kLong));
  EXPECT_TRUE(otp::alive(pid)) << "a stop that timed out leaves the server running";
  slow.release->count_down();
  auto terminated = inbox.receive_as<Terminated>(kLong);
  ASSERT_TRUE(terminated);
  EXPECT_EQ(terminated->reason, Reason::shutdown());
  ASSERT_TRUE(receive_down(inbox, ref));
}

TEST(GenServerStop, StopFromInsideAHandlerFailsWithWouldBlock) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Stoppable>(node, inbox.pid()).value();
  EXPECT_EQ(otp::gen_server::call<ErrorCode>(node, pid, Get{}).value(), ErrorCode::would_block);
}

TEST(GenServerStop, StopRunsTerminateWithTheReasonAndReturnsOnceTheServerExited) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Stoppable>(node, inbox.pid()).value();
  ASSERT_TRUE(otp::gen_server::stop(node, pid, Reason::shutdown("maintenance"), kLong));
  EXPECT_FALSE(otp::alive(pid));
  auto terminated = inbox.receive_as<Terminated>(0ms);  // already there: terminate ran first
  ASSERT_TRUE(terminated);
  EXPECT_EQ(terminated->reason, Reason::shutdown("maintenance"));
}

TEST(GenServerStop, StopWithTheDefaultReasonTerminatesNormal) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Stoppable>(node, otp::name("s"), inbox.pid()).value();
  auto ref = inbox.monitor(pid);
  ASSERT_TRUE(otp::gen_server::stop(node, "s"));
  auto terminated = inbox.receive_as<Terminated>(kLong);
  ASSERT_TRUE(terminated);
  EXPECT_EQ(terminated->reason, Reason::normal());
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::normal());
}

// -- terminate --------------------------------------------------------------------------------

struct TrapExits {};
struct ExitReceived {
  otp::ExitSignal signal;
};

/// Traps exits on request; an ExitSignal in handle_info stops it with the signal's reason.
class Trapper : public otp::GenServer {
 public:
  explicit Trapper(otp::Pid report) : report_(std::move(report)) {}
  otp::Action init() override {
    trap_exit(true);
    return otp::ok();
  }
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Ping&) { return otp::reply(Pong{}); });
  }
  otp::Action handle_info(const otp::Message& m) override {
    return m.match([&](const otp::ExitSignal& s) {
      otp::send(report_, ExitReceived{s});
      return otp::stop(s.reason);
    });
  }
  void terminate(const Reason& reason) override { otp::send(report_, Terminated{reason}); }

 private:
  otp::Pid report_;
};

TEST(GenServerTerminate, TerminateDoesNotRunWhenTheServerIsKilled) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Trapper>(node, inbox.pid()).value();
  auto ref = inbox.monitor(pid);
  otp::exit(pid, Reason::kill());
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::killed());
  // terminate would have reported before the process exited, so before the Down.
  EXPECT_FALSE(inbox.receive_as<Terminated>(0ms));
  EXPECT_FALSE(inbox.receive_as<ExitReceived>(0ms)) << "kill must not be trappable";
}

TEST(GenServerTerminate, TerminateDoesNotRunWhenANonTrappingServerDiesFromAnExitSignal) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Counter>(node, 0, inbox.pid()).value();
  auto ref = inbox.monitor(pid);
  otp::exit(pid, Reason::error("linked crash"));
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::error("linked crash"));
  EXPECT_FALSE(inbox.receive_as<Terminated>(0ms));
}

TEST(GenServerTerminate, TerminateRunsWithTheCrashReasonWhenAHandlerThrows) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Counter>(node, 0, inbox.pid()).value();
  otp::gen_server::cast(node, pid, BoomCast{});
  auto terminated = inbox.receive_as<Terminated>(kLong);
  ASSERT_TRUE(terminated);
  EXPECT_EQ(terminated->reason.kind(), Reason::Kind::error);
  EXPECT_TRUE(contains(terminated->reason.detail(), "cast boom")) << terminated->reason;
}

TEST(GenServerTerminate, TerminateRunsWhenATrappingServerStopsOnALinkedExitSignal) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Trapper>(node, inbox.pid()).value();
  auto ref = inbox.monitor(pid);
  {
    otp::Inbox linked(node);
    linked.link(pid);
  }  // the linked inbox exits normal: a trapping server gets {'EXIT', From, normal}
  auto got = inbox.receive_as<ExitReceived>(kLong);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->signal.reason, Reason::normal());
  auto terminated = inbox.receive_as<Terminated>(kLong);
  ASSERT_TRUE(terminated);
  EXPECT_EQ(terminated->reason, Reason::normal());
  ASSERT_TRUE(receive_down(inbox, ref));
}

TEST(GenServerTerminate, TerminateRunsWhenATrappingServerStopsOnAnExitSignalFromExit) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Trapper>(node, inbox.pid()).value();
  inbox.link(pid);
  otp::exit(pid, Reason::shutdown());
  auto got = inbox.receive_as<ExitReceived>(kLong);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->signal.reason, Reason::shutdown());
  auto terminated = inbox.receive_as<Terminated>(kLong);
  ASSERT_TRUE(terminated);
  EXPECT_EQ(terminated->reason, Reason::shutdown());
  auto signal = inbox.receive_as<otp::ExitSignal>(kLong);  // the inbox is linked to it
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->from, pid);
  EXPECT_EQ(signal->reason, Reason::shutdown());
}

TEST(GenServerTerminate, TerminateRunsWithShutdownWhenTheNodeShutsDown) {
  auto hooks = std::make_shared<Hooks>();
  {
    otp::Node node(config(2));
    ASSERT_TRUE(otp::gen_server::start<Starter>(node, InitMode::ok, hooks));
    ASSERT_TRUE(otp::gen_server::start<Starter>(node, InitMode::ok, hooks));
    node.shutdown();
    EXPECT_EQ(node.process_count(), 0u);
  }
  EXPECT_EQ(hooks->terminates, 2);
}

TEST(GenServerTerminate, TerminateThatThrowsStillLetsTheServerExitWithItsReason) {
  class ThrowsInTerminate : public otp::GenServer {
   public:
    void terminate(const Reason&) override { throw std::runtime_error("terminate failed"); }
  };
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<ThrowsInTerminate>(node).value();
  auto ref = inbox.monitor(pid);
  ASSERT_TRUE(otp::gen_server::stop(node, pid, Reason::shutdown(), kLong));
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::shutdown());
}

// -- a handler that throws --------------------------------------------------------------------

TEST(GenServerCrash, TheCallerOfAThrowingHandlerGetsExitNamingTheException) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Counter>(node, 0).value();
  auto r = otp::gen_server::call<int>(node, pid, Boom{}, 60s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::exit);  // not timeout: the caller did not wait for its deadline
  EXPECT_EQ(r.error().reason().kind(), Reason::Kind::error);
  EXPECT_TRUE(contains(r.error().reason().detail(), "boom")) << r.error();
  EXPECT_TRUE(contains(r.error().to_string(), "boom")) << r.error();
}

TEST(GenServerCrash, ANonStdExceptionCrashesTheServerAndTheCallerGetsExit) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Counter>(node, 0).value();
  auto r = otp::gen_server::call<int>(node, pid, BoomUnknown{}, 10s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::exit);
  EXPECT_EQ(r.error().reason().kind(), Reason::Kind::error);
  EXPECT_FALSE(otp::alive(pid));
}

TEST(GenServerCrash, AfterACrashFurtherCallsFailWithNoprocAtOnce) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Counter>(node, otp::name("c"), 0).value();
  ASSERT_EQ(otp::gen_server::call<int>(node, pid, Boom{}).code(), ErrorCode::exit);
  // noproc, not timeout: the calls did not wait for their (long) deadline.
  EXPECT_EQ(otp::gen_server::call<int>(node, pid, Get{}, 60s).code(), ErrorCode::noproc);
  EXPECT_EQ(otp::gen_server::call<int>(node, "c", Get{}, 60s).code(), ErrorCode::noproc);
}

TEST(GenServerCrash, CallersQueuedBehindACrashGetAnErrorNotAHang) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Counter>(node, 0).value();
  std::vector<std::future<otp::Result<int>>> callers;
  for (int i = 0; i < 8; ++i)
    callers.push_back(std::async(
        std::launch::async, [&] { return otp::gen_server::call<int>(node, pid, Get{}, 10s); }));
  auto crash = otp::gen_server::call<int>(node, pid, Boom{}, 10s);
  EXPECT_EQ(crash.code(), ErrorCode::exit);
  for (auto& c : callers) {
    ASSERT_EQ(c.wait_for(kLong), std::future_status::ready);
    auto r = c.get();
    if (!r) {
      EXPECT_TRUE(r.code() == ErrorCode::exit || r.code() == ErrorCode::noproc) << r.error();
    }
  }
}

TEST(GenServerCrash, ACrashInHandleCastIsSeenByMonitorsWithTheReason) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Counter>(node, 0).value();
  auto ref = inbox.monitor(pid);
  otp::gen_server::cast(node, pid, BoomCast{});
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->pid, pid);
  EXPECT_TRUE(contains(down->reason.detail(), "cast boom")) << down->reason;
}

TEST(GenServerCrash, HandleCallStopWithoutAReplyGivesTheCallerExitWithTheStopReason) {
  class Quitter : public otp::GenServer {
   public:
    otp::Action handle_call(const otp::Message&, const otp::From&) override {
      return otp::stop(Reason::error("quit"));
    }
  };
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Quitter>(node).value();
  auto r = otp::gen_server::call<int>(node, pid, Get{}, 10s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::exit);
  EXPECT_EQ(r.error().reason(), Reason::error("quit"));
}

TEST(GenServerCrash, HandleCallStopWithAReplyRepliesThenTerminates) {
  class Finisher : public otp::GenServer {
   public:
    explicit Finisher(otp::Pid report) : report_(std::move(report)) {}
    otp::Action handle_call(const otp::Message&, const otp::From&) override {
      return otp::stop(Reason::normal(), 99);
    }
    void terminate(const Reason& r) override { otp::send(report_, Terminated{r}); }

   private:
    otp::Pid report_;
  };
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Finisher>(node, inbox.pid()).value();
  auto ref = inbox.monitor(pid);
  EXPECT_EQ(otp::gen_server::call<int>(node, pid, Get{}).value(), 99);
  auto terminated = inbox.receive_as<Terminated>(kLong);
  ASSERT_TRUE(terminated);
  EXPECT_EQ(terminated->reason, Reason::normal());
  ASSERT_TRUE(receive_down(inbox, ref));
}

TEST(GenServerCrash, AReplyFromHandleCastIsABadReturnThatCrashesTheServer) {
  class BadReturn : public otp::GenServer {
   public:
    otp::Action handle_cast(const otp::Message&) override { return otp::reply(1); }
  };
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<BadReturn>(node).value();
  auto ref = inbox.monitor(pid);
  otp::gen_server::cast(node, pid, Ping{});
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_TRUE(contains(down->reason.detail(), "bad_return_value")) << down->reason;
}

TEST(GenServerCrash, ContinuingWithoutAHandleContinueCrashesTheServer) {
  class NoContinue : public otp::GenServer {
   public:
    otp::Action handle_cast(const otp::Message&) override {
      return otp::noreply().then_continue(Ping{});
    }
  };
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<NoContinue>(node).value();
  auto ref = inbox.monitor(pid);
  otp::gen_server::cast(node, pid, Ping{});
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_TRUE(contains(down->reason.detail(), "handle_continue")) << down->reason;
}

// -- call errors ------------------------------------------------------------------------------

struct CallSelf {};
struct CallBlocking {
  otp::Pid target;
};
struct StartBlocking {};

class Misuser : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match(
        [&](const CallSelf&) {
          return await_call<int>(self(), Get{}, [](otp::Result<int> r) {
            return otp::reply(r ? ErrorCode::badarg : r.code());
          });
        },
        [&](const CallBlocking& c) {
          otp::Node& n = node();  // a Node& escapes the compile-time check (handler_node.hpp)
          auto r = otp::gen_server::call<int>(n, c.target, Get{});
          return otp::reply(r ? ErrorCode::badarg : r.code());
        },
        [&](const StartBlocking&) {
          otp::Node& n = node();
          auto r = otp::gen_server::start<Counter>(n, 0);
          return otp::reply(r ? ErrorCode::badarg : r.code());
        },
        [&](const Get&) { return otp::reply(1); });
  }
};

TEST(GenServerCallErrors, ACallThatIsNeverAnsweredTimesOutWithinItsTimeout) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Holder>(node, inbox.pid()).value();
  auto t0 = Clock::now();
  auto r = otp::gen_server::call<int>(node, pid, Hold{}, 200ms);
  auto took = since(t0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::timeout);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, kLong);
  // The late reply is dropped and the server keeps serving.
  otp::gen_server::cast(node, pid, Release{5});
  ASSERT_TRUE(inbox.receive_as<Released>(kLong));
  EXPECT_EQ(otp::gen_server::call<int>(node, pid, Echo{6}).value(), 6);
}

TEST(GenServerCallErrors, ACallToADeadPidFailsWithNoprocAtOnce) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Counter>(node, 0).value();
  ASSERT_TRUE(otp::gen_server::stop(node, pid));
  auto r = otp::gen_server::call<int>(node, pid, Get{}, 60s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::noproc);  // not timeout: it did not wait for its deadline
  EXPECT_TRUE(contains(r.error().to_string(), pid.to_string())) << r.error();
}

TEST(GenServerCallErrors, ACallToAnUnknownNameFailsWithNoprocAtOnce) {
  otp::Node node(config(2));
  auto r = otp::gen_server::call<int>(node, "no_such_server", Get{}, 60s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::noproc);  // not timeout: it did not wait for its deadline
  EXPECT_TRUE(contains(r.error().to_string(), "no_such_server")) << r.error();
}

TEST(GenServerCallErrors, ACallToAnInvalidPidFailsWithNoproc) {
  otp::Node node(config(2));
  EXPECT_EQ(otp::gen_server::call<int>(node, otp::Pid{}, Get{}).code(), ErrorCode::noproc);
}

TEST(GenServerCallErrors, AnUnmatchedRequestFailsWithBadCallAndTheServerExits) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Counter>(node, 3).value();
  auto r = otp::gen_server::call<int>(node, pid, Unknown{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::bad_call);
  EXPECT_TRUE(contains(r.error().to_string(), "Unknown")) << r.error();
  EXPECT_TRUE(eventually([&] { return !otp::alive(pid); }));  // as in OTP (gen_server_clauses_test)
}

TEST(GenServerCallErrors, AReplyOfAnotherTypeFailsWithBadReplyNamingBothTypes) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Counter>(node, 3).value();
  auto r = otp::gen_server::call<std::string>(node, pid, Get{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::bad_reply);
  EXPECT_TRUE(contains(r.error().to_string(), "std::string")) << r.error();
  EXPECT_TRUE(contains(r.error().to_string(), "int")) << r.error();
  EXPECT_EQ(otp::gen_server::call<int>(node, pid, Get{}).value(), 3);
}

TEST(GenServerCallErrors, ValueOfAFailedCallThrowsCallFailedCarryingTheError) {
  otp::Node node(config(2));
  try {
    (void)otp::gen_server::call<int>(node, "ghost", Get{}).value();
    FAIL() << "value() did not throw";
  } catch (const otp::CallFailed& e) {
    EXPECT_EQ(e.error().code(), ErrorCode::noproc);
    EXPECT_TRUE(contains(e.what(), "ghost")) << e.what();
  }
}

TEST(GenServerCallErrors, AwaitCallToSelfFailsWithCallingSelf) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Misuser>(node).value();
  EXPECT_EQ(otp::gen_server::call<ErrorCode>(node, pid, CallSelf{}).value(),
            ErrorCode::calling_self);
}

TEST(GenServerCallErrors, ABlockingCallInsideAHandlerFailsWithWouldBlock) {
  otp::Node node(config(2));
  auto other = otp::gen_server::start<Counter>(node, 0).value();
  auto pid = otp::gen_server::start<Misuser>(node).value();
  EXPECT_EQ(otp::gen_server::call<ErrorCode>(node, pid, CallBlocking{other}).value(),
            ErrorCode::would_block);
  EXPECT_EQ(otp::gen_server::call<ErrorCode>(node, pid, CallBlocking{pid}).value(),
            ErrorCode::would_block);
}

TEST(GenServerCallErrors, AStartInsideAHandlerFailsWithWouldBlock) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Misuser>(node).value();
  EXPECT_EQ(otp::gen_server::call<ErrorCode>(node, pid, StartBlocking{}).value(),
            ErrorCode::would_block);
}

TEST(GenServerCallErrors, StartAfterTheNodeShutDownFailsWithShuttingDown) {
  otp::Node node(config(2));
  node.shutdown();
  EXPECT_EQ(otp::gen_server::start<Counter>(node, 0).code(), ErrorCode::shutting_down);
}

// -- await_call -------------------------------------------------------------------------------

struct Outcome {
  bool ok = false;
  int value = 0;
  ErrorCode code = ErrorCode::badarg;
  Reason reason;
};

Outcome outcome_of(const otp::Result<int>& r) {
  Outcome o;
  if (r) {
    o.ok = true;
    o.value = *r;
  } else {
    o.code = r.code();
    o.reason = r.error().reason();
  }
  return o;
}

struct Relay {
  otp::Pid target;
  otp::Message request;
  ms timeout = 5s;
};
struct RelayThenThrow {
  otp::Pid target;
};

/// Forwards Relay requests with await_call and logs every effect, in order (casts and infos
/// are logged as by Recorder).
class Relayer : public Recorder {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From& from) override {
    if (const auto* r = m.get_if<Relay>()) {
      return await_call(
          r->target, r->request,
          [this](otp::Result<int> res) {
            log_.push_back(res ? "reply:" + std::to_string(*res)
                               : std::string("error:") + otp::to_string(res.code()));
            return otp::reply(outcome_of(res));
          },
          r->timeout);
    }
    if (const auto* r = m.get_if<RelayThenThrow>()) {
      return await_call<int>(r->target, Echo{1}, [](otp::Result<int>) -> otp::Action {
        throw std::runtime_error("continuation failed");
      });
    }
    return Recorder::handle_call(m, from);
  }
};

struct Query {
  int value;
};

/// A link of a chain: adds `add` and asks the next link (awaiting it), or answers at the end.
class ChainLink : public otp::GenServer {
 public:
  ChainLink(otp::Pid next, int add) : next_(std::move(next)), add_(add) {}
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Query& q) {
      if (!next_) return otp::reply(q.value + add_);
      return await_call<int>(next_, Query{q.value + add_}, [](otp::Result<int> r) {
        return otp::reply(r ? *r : -1000 - static_cast<int>(r.code()));
      });
    });
  }

 private:
  otp::Pid next_;
  int add_;
};

/// Awaits a call to `target` from init.
class AwaitsInInit : public otp::GenServer {
 public:
  explicit AwaitsInInit(otp::Pid target) : target_(std::move(target)) {}
  otp::Action init() override {
    return await_call<int>(target_, Get{}, [this](otp::Result<int> r) {
      if (!r) return otp::stop(Reason::error("dependency unavailable"));
      value_ = *r;
      return otp::ok();
    });
  }
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Get&) { return otp::reply(value_); });
  }

 private:
  otp::Pid target_;
  int value_ = 0;
};

class GenServerAwaitCall : public otp_test::NodeTest {};

INSTANTIATE_TEST_SUITE_P(SchedulerThreads, GenServerAwaitCall, otp_test::kThreadCounts,
                         otp_test::threads_name);

TEST_P(GenServerAwaitCall, AnAwaitWhoseTargetDiesMidCallGivesTheContinuationExit) {
  otp::Node node(config(threads()));
  otp::Inbox inbox(node);
  auto b = otp::gen_server::start<Holder>(node, inbox.pid()).value();
  auto a = otp::gen_server::start<Relayer>(node).value();
  auto caller = std::async(std::launch::async, [&] {
    return otp::gen_server::call<Outcome>(node, a, Relay{b, Hold{}}, 10s);
  });
  ASSERT_TRUE(inbox.receive_as<HoldArrived>(kLong));
  otp::gen_server::cast(node, b, Crash{Reason::error("holder crashed")});
  ASSERT_EQ(caller.wait_for(kLong), std::future_status::ready);
  auto out = caller.get().value();
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.code, ErrorCode::exit);
  EXPECT_EQ(out.reason, Reason::error("holder crashed"));
  EXPECT_EQ(otp::gen_server::call<Log>(node, a, GetLog{}).value(), (Log{"error:exit"}));
}

TEST_P(GenServerAwaitCall, AnAwaitWhoseTargetIsKilledMidCallGivesTheContinuationExitKilled) {
  otp::Node node(config(threads()));
  otp::Inbox inbox(node);
  auto b = otp::gen_server::start<Holder>(node, inbox.pid()).value();
  auto a = otp::gen_server::start<Relayer>(node).value();
  auto caller = std::async(std::launch::async, [&] {
    return otp::gen_server::call<Outcome>(node, a, Relay{b, Hold{}}, 10s);
  });
  ASSERT_TRUE(inbox.receive_as<HoldArrived>(kLong));
  otp::exit(b, Reason::kill());
  ASSERT_EQ(caller.wait_for(kLong), std::future_status::ready);
  auto out = caller.get().value();
  EXPECT_EQ(out.code, ErrorCode::exit);
  EXPECT_EQ(out.reason, Reason::killed());
}

TEST_P(GenServerAwaitCall, AnAwaitWhoseTargetIsSlowTimesOutAndTheLateReplyIsDropped) {
  otp::Node node(config(threads()));
  otp::Inbox inbox(node);
  auto b = otp::gen_server::start<Holder>(node, inbox.pid()).value();
  auto a = otp::gen_server::start<Relayer>(node).value();
  auto t0 = Clock::now();
  auto out = otp::gen_server::call<Outcome>(node, a, Relay{b, Hold{}, 200ms}, 10s).value();
  EXPECT_GE(since(t0), 200ms);
  EXPECT_LT(since(t0), kLong);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.code, ErrorCode::timeout);
  ASSERT_TRUE(inbox.receive_as<HoldArrived>(kLong));
  // B answers late: the reply reaches A's mailbox (Released is sent after it) and is dropped.
  otp::gen_server::cast(node, b, Release{99});
  ASSERT_TRUE(inbox.receive_as<Released>(kLong));
  auto next = otp::gen_server::call<Outcome>(node, a, Relay{b, Echo{5}}, 10s).value();
  EXPECT_TRUE(next.ok);
  EXPECT_EQ(next.value, 5);
  EXPECT_EQ(otp::gen_server::call<Log>(node, a, GetLog{}).value(),
            (Log{"error:timeout", "reply:5"}));
}

TEST_P(GenServerAwaitCall, AnAwaitOfADeadServerGivesTheContinuationNoproc) {
  otp::Node node(config(threads()));
  auto dead = otp::gen_server::start<Counter>(node, 0).value();
  ASSERT_TRUE(otp::gen_server::stop(node, dead));
  auto a = otp::gen_server::start<Relayer>(node).value();
  auto out = otp::gen_server::call<Outcome>(node, a, Relay{dead, Get{}}, 10s).value();
  EXPECT_EQ(out.code, ErrorCode::noproc);
  out = otp::gen_server::call<Outcome>(node, a, Relay{otp::Pid{}, Get{}}, 10s).value();
  EXPECT_EQ(out.code, ErrorCode::noproc);
}

TEST_P(GenServerAwaitCall, AnAwaitOfAnUnmatchedRequestGivesTheContinuationBadCall) {
  otp::Node node(config(threads()));
  auto b = otp::gen_server::start<Counter>(node, 0).value();
  auto a = otp::gen_server::start<Relayer>(node).value();
  auto out = otp::gen_server::call<Outcome>(node, a, Relay{b, Unknown{}}, 10s).value();
  EXPECT_EQ(out.code, ErrorCode::bad_call);  // not exit: the error reply goes before b exits
  EXPECT_TRUE(eventually([&] { return !otp::alive(b); }));
  EXPECT_TRUE(otp::alive(a));
}

TEST_P(GenServerAwaitCall, AnAwaitWithAnotherReplyTypeGivesTheContinuationBadReply) {
  otp::Node node(config(threads()));
  auto b = otp::gen_server::start<Counter>(node, 0).value();
  auto a = otp::gen_server::start<Relayer>(node).value();
  auto out = otp::gen_server::call<Outcome>(node, a, Relay{b, Ping{}}, 10s).value();
  EXPECT_EQ(out.code, ErrorCode::bad_reply);
}

TEST_P(GenServerAwaitCall, AnAwaitWhoseTargetThrowsGivesTheContinuationExitNamingIt) {
  otp::Node node(config(threads()));
  auto b = otp::gen_server::start<Counter>(node, 0).value();
  auto a = otp::gen_server::start<Relayer>(node).value();
  auto out = otp::gen_server::call<Outcome>(node, a, Relay{b, Boom{}}, 10s).value();
  EXPECT_EQ(out.code, ErrorCode::exit);
  EXPECT_TRUE(contains(out.reason.detail(), "boom")) << out.reason;
  EXPECT_TRUE(otp::alive(a));
}

TEST_P(GenServerAwaitCall, AContinuationThatThrowsCrashesTheServerAndItsCallerGetsExit) {
  otp::Node node(config(threads()));
  auto b = otp::gen_server::start<Holder>(node, otp::Pid{}).value();
  auto a = otp::gen_server::start<Relayer>(node).value();
  auto r = otp::gen_server::call<Outcome>(node, a, RelayThenThrow{b}, 10s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::exit);
  EXPECT_TRUE(contains(r.error().reason().detail(), "continuation failed")) << r.error();
  EXPECT_TRUE(otp::alive(b));
}

TEST_P(GenServerAwaitCall, AKillDuringAnAwaitKillsTheServerAtOnce) {
  otp::Node node(config(threads()));
  otp::Inbox inbox(node);
  auto b = otp::gen_server::start<Holder>(node, inbox.pid()).value();
  auto a = otp::gen_server::start<Relayer>(node).value();
  auto ref = inbox.monitor(a);
  auto caller = std::async(std::launch::async, [&] {
    return otp::gen_server::call<Outcome>(node, a, Relay{b, Hold{}}, 10s);
  });
  ASSERT_TRUE(inbox.receive_as<HoldArrived>(kLong));
  otp::exit(a, Reason::kill());
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::killed());
  ASSERT_EQ(caller.wait_for(kLong), std::future_status::ready);
  auto r = caller.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::exit);
  EXPECT_EQ(r.error().reason(), Reason::killed());
}

TEST_P(GenServerAwaitCall, AnAwaitGetsTheReplyOfAnotherServer) {
  otp::Node node(config(threads()));
  auto b = otp::gen_server::start<Counter>(node, 12).value();
  auto a = otp::gen_server::start<Relayer>(node).value();
  for (int i = 0; i < 50; ++i) {
    auto out = otp::gen_server::call<Outcome>(node, a, Relay{b, Get{}}, 10s).value();
    ASSERT_TRUE(out.ok) << i;
    ASSERT_EQ(out.value, 12);
  }
}

TEST_P(GenServerAwaitCall, MessagesArrivingDuringAnAwaitAreHandledAfterItInOrder) {
  otp::Node node(config(threads()));
  otp::Inbox inbox(node);
  auto b = otp::gen_server::start<Holder>(node, inbox.pid()).value();
  auto a = otp::gen_server::start<Relayer>(node).value();
  auto caller = std::async(std::launch::async, [&] {
    return otp::gen_server::call<Outcome>(node, a, Relay{b, Hold{}}, 10s);
  });
  ASSERT_TRUE(inbox.receive_as<HoldArrived>(kLong));  // A is now awaiting B
  otp::gen_server::cast(node, a, Record{1});
  otp::send(a, Record{2});
  otp::gen_server::cast(node, a, Record{3});
  auto log_caller = std::async(std::launch::async,
                               [&] { return otp::gen_server::call<Log>(node, a, GetLog{}, 10s); });
  EXPECT_NE(log_caller.wait_for(100ms), std::future_status::ready)
      << "a call was served while the server awaited";
  otp::gen_server::cast(node, b, Release{7});
  ASSERT_EQ(caller.wait_for(kLong), std::future_status::ready);
  auto out = caller.get().value();
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(out.value, 7);
  ASSERT_EQ(log_caller.wait_for(kLong), std::future_status::ready);
  EXPECT_EQ(log_caller.get().value(), (Log{"reply:7", "cast:1", "info:2", "cast:3"}));
}

TEST_P(GenServerAwaitCall, AChainOfAwaitingServersAnswersEndToEnd) {
  otp::Node node(config(threads()));
  auto c = otp::gen_server::start<ChainLink>(node, otp::Pid{}, 100).value();
  auto b = otp::gen_server::start<ChainLink>(node, c, 10).value();
  auto a = otp::gen_server::start<ChainLink>(node, b, 1).value();
  EXPECT_EQ(otp::gen_server::call<int>(node, a, Query{0}).value(), 111);
  // Concurrent chains through the same links.
  std::vector<std::future<otp::Result<int>>> calls;
  for (int i = 0; i < 8; ++i)
    calls.push_back(std::async(std::launch::async, [&, i] {
      return otp::gen_server::call<int>(node, a, Query{i * 1000}, 10s);
    }));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(calls[i].get().value(), i * 1000 + 111);
}

TEST_P(GenServerAwaitCall, AChainWhoseLastLinkIsDeadReportsNoprocBackToTheFirstCaller) {
  otp::Node node(config(threads()));
  auto dead = otp::gen_server::start<Counter>(node, 0).value();
  ASSERT_TRUE(otp::gen_server::stop(node, dead));
  auto b = otp::gen_server::start<ChainLink>(node, dead, 10).value();
  auto a = otp::gen_server::start<ChainLink>(node, b, 1).value();
  // B's continuation maps noproc to -1000 - code; A passes it on.
  EXPECT_EQ(otp::gen_server::call<int>(node, a, Query{0}).value(),
            -1000 - static_cast<int>(ErrorCode::noproc));
}

TEST_P(GenServerAwaitCall, AnAwaitFromInitDelaysStartUntilTheReplyArrived) {
  otp::Node node(config(threads()));
  auto dep = otp::gen_server::start<Counter>(node, 41).value();
  auto pid = otp::gen_server::start<AwaitsInInit>(node, dep).value();
  EXPECT_EQ(otp::gen_server::call<int>(node, pid, Get{}).value(), 41);
}

TEST_P(GenServerAwaitCall, AnAwaitFromInitWhoseContinuationStopsFailsTheStart) {
  otp::Node node(config(threads()));
  auto dep = otp::gen_server::start<Counter>(node, 41).value();
  ASSERT_TRUE(otp::gen_server::stop(node, dep));
  auto r = otp::gen_server::start<AwaitsInInit>(node, dep);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::init_failed);
  EXPECT_EQ(r.error().reason(), Reason::error("dependency unavailable"));
}

}  // namespace
