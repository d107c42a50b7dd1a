// Supervisor: strategies, restart types, intensity, shutdown specs, ordering, child management,
// names held elsewhere.
#include "otp/global.hpp"
#include "restart_intensity.hpp"
#include "support/eventually.hpp"
#include "support/node_test.hpp"
#include "support/workers.hpp"

using namespace std::chrono_literals;
using namespace otp_test;
using otp::ErrorCode;
using otp::Pid;

namespace {

std::map<std::string, Pid> pids_of(otp::Node& node, const otp::ServerRef& sup) {
  std::map<std::string, Pid> out;
  for (auto& c : otp::supervisor::which_children(node, sup).value()) out[c.id] = c.pid;
  return out;
}

/// Waits until the supervisor has handled the exit of child `id`: it shows `id` not running, or
/// is gone itself (the caller checks that it is alive).
bool await_not_running(otp::Node& node, const otp::ServerRef& sup, const std::string& id) {
  return eventually([&] {
    auto kids = otp::supervisor::which_children(node, sup);
    if (!kids) return true;
    for (auto& c : *kids)
      if (c.id == id) return !c.pid;
    return true;
  });
}

/// What the test prints to stderr from here on (the node's log), up to the call of take().
class CapturedStderr {
 public:
  CapturedStderr() { ::testing::internal::CaptureStderr(); }
  ~CapturedStderr() {
    if (!taken_) ::testing::internal::GetCapturedStderr();
  }
  std::string take() {
    taken_ = true;
    return ::testing::internal::GetCapturedStderr();
  }

 private:
  bool taken_ = false;
};

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

/// Waits until every child of sup runs with a pid other than the one in `before` for the ids in
/// `changed`, and returns the new pids.
std::map<std::string, Pid> await_restarted(otp::Node& node, const otp::ServerRef& sup,
                                           const std::map<std::string, Pid>& before,
                                           const std::vector<std::string>& changed) {
  std::map<std::string, Pid> now;
  bool ok = eventually([&] {
    now = pids_of(node, sup);
    for (auto& id : changed)
      if (!now[id] || now[id] == before.at(id)) return false;
    return true;
  });
  EXPECT_TRUE(ok) << "children were not restarted in time";
  return now;
}

class SupervisorTest : public NodeTest {
 protected:
  void SetUp() override {
    node = std::make_unique<otp::Node>(node_options("sup", threads()));
    log = std::make_shared<EventLog>();
  }
  void TearDown() override { node.reset(); }

  Pid start_three(otp::Strategy strategy, int max_restarts = 10) {
    return otp::supervisor::start_link(
               *node, {worker_spec("a", log), worker_spec("b", log), worker_spec("c", log)},
               {.strategy = strategy, .max_restarts = max_restarts, .max_time = 5s},
               otp::name("sup"))
        .value();
  }

  /// Replaces the node with one that logs crashes and supervisor reports, to check a report.
  void log_reports() {
    node.reset();
    auto options = node_options("sup", threads());
    options.log_crashes = true;
    node = std::make_unique<otp::Node>(options);
  }

  std::unique_ptr<otp::Node> node;
  std::shared_ptr<EventLog> log;
};

}  // namespace

// -- restart intensity (pure) -------------------------------------------------------------------

TEST(RestartIntensity, AllowsMaxRestartsWithinTheWindowAndRefusesTheNext) {
  otp::detail::RestartIntensity r(3, 5s);
  auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  EXPECT_TRUE(r.add_restart(t0));
  EXPECT_TRUE(r.add_restart(t0 + 1s));
  EXPECT_TRUE(r.add_restart(t0 + 2s));
  EXPECT_FALSE(r.add_restart(t0 + 3s));
}

TEST(RestartIntensity, ForgetsRestartsOlderThanTheWindow) {
  otp::detail::RestartIntensity r(2, 5s);
  auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  EXPECT_TRUE(r.add_restart(t0));
  EXPECT_TRUE(r.add_restart(t0 + 1s));
  EXPECT_TRUE(r.add_restart(t0 + 5500ms));  // t0 has left the window
  EXPECT_EQ(r.recent(), 2u);
  EXPECT_FALSE(r.add_restart(t0 + 6s));  // t0+1s is still in it
}

TEST(RestartIntensity, ZeroMaxRestartsRefusesTheFirstRestart) {
  otp::detail::RestartIntensity r(0, 5s);
  EXPECT_FALSE(r.add_restart(std::chrono::steady_clock::time_point{} + 1s));
}

// -- strategies ---------------------------------------------------------------------------------

TEST_P(SupervisorTest, OneForOneRestartsOnlyTheCrashedChild) {
  start_three(otp::Strategy::one_for_one);
  auto before = pids_of(*node, "sup");
  otp::gen_server::cast(*node, before["b"], Crash{});
  auto after = await_restarted(*node, "sup", before, {"b"});
  EXPECT_EQ(after["a"], before["a"]);
  EXPECT_EQ(after["c"], before["c"]);
  EXPECT_EQ(log->count("start:b"), 2u);
  EXPECT_EQ(log->count("start:a"), 1u);
}

TEST_P(SupervisorTest, OneForAllRestartsEveryChildStoppingInReverseAndStartingInOrder) {
  start_three(otp::Strategy::one_for_all);
  auto before = pids_of(*node, "sup");
  log->clear();
  otp::gen_server::cast(*node, before["b"], Crash{});
  auto after = await_restarted(*node, "sup", before, {"a", "b", "c"});
  ASSERT_TRUE(eventually([&] { return log->snapshot().size() >= 6; }));
  std::vector<std::string> expected = {"stop:b:error: exception std::runtime_error: crash b",
                                       "stop:c",
                                       "stop:a",
                                       "start:a",
                                       "start:b",
                                       "start:c"};
  EXPECT_EQ(log->snapshot(), expected);
}

TEST_P(SupervisorTest, RestForOneRestartsTheCrashedChildAndThoseStartedAfterIt) {
  start_three(otp::Strategy::rest_for_one);
  auto before = pids_of(*node, "sup");
  log->clear();
  otp::gen_server::cast(*node, before["b"], Crash{});
  auto after = await_restarted(*node, "sup", before, {"b", "c"});
  EXPECT_EQ(after["a"], before["a"]);
  ASSERT_TRUE(eventually([&] { return log->snapshot().size() >= 4; }));
  std::vector<std::string> expected = {"stop:b:error: exception std::runtime_error: crash b",
                                       "stop:c", "start:b", "start:c"};
  EXPECT_EQ(log->snapshot(), expected);
}

// -- restart intensity --------------------------------------------------------------------------

TEST_P(SupervisorTest, ExceedingRestartIntensityStopsChildrenAndTakesTheSupervisorDown) {
  Pid sup = start_three(otp::Strategy::one_for_one, 2);
  otp::Inbox inbox(*node);
  inbox.monitor(sup);
  for (int i = 0; i < 3; ++i) {
    auto before = pids_of(*node, "sup");
    otp::gen_server::cast(*node, before["a"], Crash{});
    if (i < 2) await_restarted(*node, "sup", before, {"a"});
  }
  auto down = inbox.receive_as<otp::Down>(10s);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, otp::Reason::shutdown());
  EXPECT_EQ(log->count("stop:b"), 1u);  // siblings were stopped cleanly
  EXPECT_EQ(log->count("stop:c"), 1u);
  EXPECT_FALSE(node->whereis("sup"));
}

TEST_P(SupervisorTest, NestedSupervisorBeyondItsIntensityIsRestartedByItsParent) {
  auto inner = otp::supervisor::spec("inner", {worker_spec("x", log)},
                                     {.strategy = otp::Strategy::one_for_one, .max_restarts = 0});
  otp::supervisor::start_link(*node, {std::move(inner), worker_spec("y", log)}, {},
                              otp::name("outer"))
      .value();
  auto before = pids_of(*node, "outer");
  auto x = otp::supervisor::which_children(*node, before["inner"]).value().at(0).pid;
  otp::gen_server::cast(*node, x, Crash{});
  auto after = await_restarted(*node, "outer", before, {"inner"});
  EXPECT_EQ(after["y"], before["y"]);
  EXPECT_EQ(log->count("start:x"), 2u);
}

TEST_P(SupervisorTest, ANestedSupervisorSpecTakesANameAndKeepsItAcrossRestarts) {
  auto inner = otp::supervisor::spec("inner", {worker_spec("x", log)},
                                     {.strategy = otp::Strategy::one_for_one, .max_restarts = 0},
                                     otp::name("inner_sup"));
  otp::supervisor::start_link(*node, {std::move(inner), worker_spec("y", log)}, {},
                              otp::name("outer"))
      .value();
  auto before = pids_of(*node, "outer");
  ASSERT_EQ(node->whereis("inner_sup"), before["inner"]);
  auto x = otp::supervisor::which_children(*node, "inner_sup").value().at(0).pid;
  otp::gen_server::cast(*node, x, Crash{});  // beyond its intensity: the parent restarts it
  auto after = await_restarted(*node, "outer", before, {"inner"});
  EXPECT_EQ(node->whereis("inner_sup"), after["inner"]);
}

TEST_P(SupervisorTest, ANestedDynamicSupervisorSpecTakesAName) {
  otp::supervisor::start_link(*node,
                              {otp::dynamic_supervisor::spec("dyn", {}, otp::name("dyn_sup"))}, {})
      .value();
  EXPECT_TRUE(otp::dynamic_supervisor::start_child(*node, "dyn_sup", worker_spec("w", log)));
}

// -- restart types ------------------------------------------------------------------------------

TEST_P(SupervisorTest, TransientChildIsNotRestartedAfterANormalExitButIsAfterACrash) {
  Pid sup = otp::supervisor::start_link(
                *node, {worker_spec("t", log).restart(otp::Restart::transient)}, {})
                .value();
  auto before = pids_of(*node, sup);
  otp::gen_server::cast(*node, before["t"], Crash{});
  auto after = await_restarted(*node, sup, before, {"t"});
  otp::Inbox inbox(*node);
  inbox.monitor(after["t"]);
  otp::gen_server::cast(*node, after["t"], StopNormal{});
  ASSERT_TRUE(inbox.receive_as<otp::Down>(10s));
  // The supervisor learns of the exit through its own mailbox, a moment after the Down.
  ASSERT_TRUE(eventually([&] { return otp::supervisor::count_children(*node, sup)->active == 0; }));
  EXPECT_EQ(otp::supervisor::count_children(*node, sup)->specs, 1u);
  EXPECT_FALSE(pids_of(*node, sup)["t"]);
  EXPECT_EQ(log->count("start:t"), 2u);
}

TEST_P(SupervisorTest, TransientChildStoppingWithShutdownDetailIsNotRestartedNorReported) {
  log_reports();
  Pid sup = otp::supervisor::start_link(
                *node, {worker_spec("t", log).restart(otp::Restart::transient)}, {})
                .value();
  auto before = pids_of(*node, sup);
  CapturedStderr err;
  otp::Inbox inbox(*node);
  inbox.monitor(before["t"]);
  otp::gen_server::cast(*node, before["t"], StopWith{otp::Reason::shutdown("closed")});
  auto down = inbox.receive_as<otp::Down>(10s);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, otp::Reason::shutdown("closed"));  // {shutdown, closed}, intact
  ASSERT_TRUE(eventually([&] { return otp::supervisor::count_children(*node, sup)->active == 0; }));
  EXPECT_FALSE(pids_of(*node, sup)["t"]);
  EXPECT_EQ(log->count("start:t"), 1u);
  EXPECT_EQ(err.take().find("closed"), std::string::npos) << "a clean exit is not reported";
}

TEST_P(SupervisorTest, TransientChildStoppingWithAnErrorReasonIsRestartedAndReported) {
  log_reports();
  Pid sup = otp::supervisor::start_link(
                *node, {worker_spec("t", log).restart(otp::Restart::transient)}, {})
                .value();
  auto before = pids_of(*node, sup);
  CapturedStderr err;
  otp::gen_server::cast(*node, before["t"], StopWith{otp::Reason::error("closed")});
  await_restarted(*node, sup, before, {"t"});
  EXPECT_EQ(log->count("start:t"), 2u);
  EXPECT_NE(err.take().find("error: closed"), std::string::npos);
}

TEST_P(SupervisorTest, TemporaryChildIsNeverRestartedAndItsSpecIsDropped) {
  Pid sup =
      otp::supervisor::start_link(
          *node, {worker_spec("tmp", log).restart(otp::Restart::temporary), worker_spec("p", log)},
          {})
          .value();
  auto before = pids_of(*node, sup);
  otp::Inbox inbox(*node);
  inbox.monitor(before["tmp"]);
  otp::gen_server::cast(*node, before["tmp"], Crash{});
  ASSERT_TRUE(inbox.receive_as<otp::Down>(10s));
  ASSERT_TRUE(eventually([&] { return otp::supervisor::count_children(*node, sup)->specs == 1; }));
  EXPECT_EQ(log->count("start:tmp"), 1u);
  EXPECT_EQ(pids_of(*node, sup).count("tmp"), 0u);
}

// -- shutdown specs -----------------------------------------------------------------------------

TEST_P(SupervisorTest, ShutdownTimeoutEscalatesToKill) {
  auto hung = std::make_shared<Latch>(1);
  otp::gen_server::start<BlackHole>(*node, otp::name("black_hole"), hung).value();
  Pid sup = otp::supervisor::start_link(
                *node, {worker_spec("slow", log).shutdown(otp::Shutdown::timeout(200ms))}, {})
                .value();
  Pid slow = pids_of(*node, sup)["slow"];
  otp::gen_server::cast(*node, slow, Hang{});
  ASSERT_TRUE(hung->wait());  // it now awaits a reply that never comes
  otp::Inbox inbox(*node);
  inbox.monitor(slow);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(otp::supervisor::terminate_child(*node, sup, "slow"));
  auto down = inbox.receive_as<otp::Down>(10s);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, otp::Reason::killed());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
  EXPECT_EQ(log->count("stop:slow"), 0u);  // killed: terminate does not run
}

TEST_P(SupervisorTest, BrutalKillKillsATrappingChildWithoutTerminate) {
  Pid sup = otp::supervisor::start_link(
                *node, {worker_spec("k", log).shutdown(otp::Shutdown::brutal_kill())}, {})
                .value();
  Pid k = pids_of(*node, sup)["k"];
  otp::Inbox inbox(*node);
  inbox.monitor(k);
  ASSERT_TRUE(otp::supervisor::terminate_child(*node, sup, "k"));
  auto down = inbox.receive_as<otp::Down>(10s);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, otp::Reason::killed());
  EXPECT_EQ(log->count("start:k"), 1u);
  for (auto& e : log->snapshot()) EXPECT_EQ(e.rfind("stop:k", 0), std::string::npos) << e;
}

TEST_P(SupervisorTest, TrappingChildRunsTerminateWithShutdownWhenItsSupervisorStops) {
  Pid sup = start_three(otp::Strategy::one_for_one);
  log->clear();
  ASSERT_TRUE(otp::gen_server::stop(*node, sup, otp::Reason::shutdown(), 10s));
  std::vector<std::string> expected = {"stop:c", "stop:b", "stop:a"};  // reverse start order
  EXPECT_EQ(log->snapshot(), expected);
  EXPECT_TRUE(eventually([&] { return node->process_count() == 0; }));
}

TEST_P(SupervisorTest, ChildrenStartInOrder) {
  start_three(otp::Strategy::one_for_one);
  std::vector<std::string> expected = {"start:a", "start:b", "start:c"};
  EXPECT_EQ(log->snapshot(), expected);
}

TEST_P(SupervisorTest, ManyChildrenStartInOrderAndRestartTogether) {
  // More children than the supervisor continues in a row on one stack (the rest of the starts
  // go through its mailbox): all start in order, and one_for_all restarts them all in order.
  constexpr int kChildren = 150;
  std::vector<otp::ChildSpec> specs;
  std::vector<std::string> expected;
  for (int i = 0; i < kChildren; ++i) {
    specs.push_back(worker_spec("c" + std::to_string(i), log));
    expected.push_back("start:c" + std::to_string(i));
  }
  Pid sup = otp::supervisor::start_link(
                *node, std::move(specs),
                {.strategy = otp::Strategy::one_for_all, .max_restarts = 10, .max_time = 5s})
                .value();
  EXPECT_EQ(log->snapshot(), expected);
  auto before = pids_of(*node, sup);
  ASSERT_EQ(before.size(), static_cast<size_t>(kChildren));
  log->clear();
  otp::gen_server::cast(*node, before.at("c7"), Crash{});
  std::vector<std::string> ids;
  for (int i = 0; i < kChildren; ++i) ids.push_back("c" + std::to_string(i));
  await_restarted(*node, sup, before, ids);
  auto events = log->snapshot();
  std::vector<std::string> starts;
  for (auto& e : events)
    if (e.rfind("start:", 0) == 0) starts.push_back(e);
  EXPECT_EQ(starts, expected);
}

TEST_P(SupervisorTest, NodeShutdownStopsTheTreeInReverseOrder) {
  start_three(otp::Strategy::one_for_one);
  log->clear();
  node->shutdown();
  std::vector<std::string> expected = {"stop:c", "stop:b", "stop:a"};
  EXPECT_EQ(log->snapshot(), expected);
}

TEST_P(SupervisorTest, ChildThatFailsToStartFailsStartLinkAndStopsTheOthers) {
  auto bad = otp::worker<Worker>("bad", "bad", log, true, true);
  auto r = otp::supervisor::start_link(*node, {worker_spec("a", log), std::move(bad)}, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::init_failed);
  EXPECT_NE(r.error().to_string().find("failed_to_start_child bad"), std::string::npos)
      << r.error();
  std::vector<std::string> expected = {"start:a", "stop:a"};
  EXPECT_EQ(log->snapshot(), expected);
  EXPECT_TRUE(eventually([&] { return node->process_count() == 0; }));
}

TEST_P(SupervisorTest, DuplicateChildIdsAreRejected) {
  auto r = otp::supervisor::start_link(*node, {worker_spec("a", log), worker_spec("a", log)}, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::badarg);
}

// -- child management ---------------------------------------------------------------------------

TEST_P(SupervisorTest, StartChildOfARunningIdFailsWithAlreadyStarted) {
  start_three(otp::Strategy::one_for_one);
  auto r = otp::supervisor::start_child(*node, "sup", worker_spec("a", log));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::already_started);
}

TEST_P(SupervisorTest, StartChildFailureIsReturnedAndTheSpecNotKept) {
  start_three(otp::Strategy::one_for_one);
  auto r = otp::supervisor::start_child(*node, "sup",
                                        otp::worker<Worker>("bad", "bad", log, true, true));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::init_failed);
  EXPECT_EQ(otp::supervisor::count_children(*node, "sup")->specs, 3u);
}

TEST_P(SupervisorTest, TerminateRestartAndDeleteChildFollowOtpRules) {
  start_three(otp::Strategy::one_for_one);
  EXPECT_EQ(otp::supervisor::terminate_child(*node, "sup", "nope").code(), ErrorCode::not_found);
  EXPECT_EQ(otp::supervisor::delete_child(*node, "sup", "b").code(), ErrorCode::running);
  EXPECT_EQ(otp::supervisor::restart_child(*node, "sup", "b").code(), ErrorCode::running);

  ASSERT_TRUE(otp::supervisor::terminate_child(*node, "sup", "b"));
  EXPECT_FALSE(pids_of(*node, "sup")["b"]);
  auto counts = otp::supervisor::count_children(*node, "sup").value();
  EXPECT_EQ(counts.specs, 3u);
  EXPECT_EQ(counts.active, 2u);
  EXPECT_EQ(counts.workers, 3u);

  Pid b = otp::supervisor::restart_child(*node, "sup", "b").value();
  EXPECT_EQ(otp::gen_server::call<std::string>(*node, b, Ping{}).value(), "pong:b");
  ASSERT_TRUE(otp::supervisor::terminate_child(*node, "sup", "b"));
  ASSERT_TRUE(otp::supervisor::delete_child(*node, "sup", "b"));
  EXPECT_EQ(otp::supervisor::restart_child(*node, "sup", "b").code(), ErrorCode::not_found);
  EXPECT_EQ(otp::supervisor::count_children(*node, "sup")->specs, 2u);
}

TEST_P(SupervisorTest, StartChildAppendsAChildThatIsSupervised) {
  start_three(otp::Strategy::one_for_one);
  Pid d = otp::supervisor::start_child(*node, "sup", worker_spec("d", log)).value();
  auto kids = otp::supervisor::which_children(*node, "sup").value();
  ASSERT_EQ(kids.size(), 4u);
  EXPECT_EQ(kids.back().id, "d");
  EXPECT_EQ(kids.back().pid, d);
  auto before = pids_of(*node, "sup");
  otp::gen_server::cast(*node, d, Crash{});
  await_restarted(*node, "sup", before, {"d"});
}

TEST_P(SupervisorTest, NamedChildIsReachableByNameAfterARestart) {
  otp::supervisor::start_link(*node, {worker_spec("n", log).named("named_worker")}, {},
                              otp::name("sup"))
      .value();
  auto before = pids_of(*node, "sup");
  EXPECT_EQ(node->whereis("named_worker"), before["n"]);
  otp::gen_server::cast(*node, "named_worker", Crash{});
  auto after = await_restarted(*node, "sup", before, {"n"});
  EXPECT_EQ(otp::gen_server::call<std::string>(*node, "named_worker", Ping{}).value(), "pong:n");
}

TEST_P(SupervisorTest, CallsToTheSupervisorFromInsideAHandlerDoNotBlock) {
  start_three(otp::Strategy::one_for_one);
  // A blocking supervisor call made from a handler is refused instead of parking the thread.
  class Asker : public otp::GenServer {
    otp::Action handle_call(const otp::Message&, const otp::From&) override {
      otp::Node& n = node();  // a Node& escapes the compile-time check (handler_node.hpp)
      auto r = otp::supervisor::count_children(n, "sup");
      if (r.code() != ErrorCode::would_block) return otp::reply(-1);
      return await_call<otp::ChildCounts>(
          "sup", otp::supervisor::CountChildren{},
          [](otp::Result<otp::ChildCounts> c) { return otp::reply(static_cast<int>(c->active)); });
    }
  };
  Pid asker = otp::gen_server::start<Asker>(*node).value();
  EXPECT_EQ(otp::gen_server::call<int>(*node, asker, Ping{}).value(), 3);
}

TEST_P(SupervisorTest, ChildInitRunsAsTheChildAndItsEarlyMessagesAreHandled) {
  // A child's init runs before start_child returns (nested in its supervisor's handler): it must
  // still run as the child, and what it sends itself from init is handled once init is done.
  struct Seen {
    std::mutex mx;
    Pid self_in_init, self_in_handler;
  };
  struct Hello {};
  class SelfSender : public otp::GenServer {
   public:
    explicit SelfSender(std::shared_ptr<Seen> seen) : seen_(std::move(seen)) {}
    otp::Action init() override {
      std::lock_guard<std::mutex> g(seen_->mx);
      seen_->self_in_init = self();
      otp::send(self(), Hello{});
      return otp::ok();
    }
    otp::Action handle_info(const otp::Message& m) override {
      if (!m.is<Hello>()) return otp::noreply();
      std::lock_guard<std::mutex> g(seen_->mx);
      seen_->self_in_handler = self();
      return otp::noreply();
    }

   private:
    std::shared_ptr<Seen> seen_;
  };
  auto seen = std::make_shared<Seen>();
  Pid sup = otp::dynamic_supervisor::start_link(*node).value();
  Pid child =
      otp::dynamic_supervisor::start_child(*node, sup, otp::worker<SelfSender>("s", seen)).value();
  EXPECT_NE(child, sup);
  {
    std::lock_guard<std::mutex> g(seen->mx);
    EXPECT_EQ(seen->self_in_init, child);
  }
  EXPECT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> g(seen->mx);
    return seen->self_in_handler == child;
  }));
}

TEST_P(SupervisorTest, DeeplyNestedSupervisorsStartWorkAndStopInReverseOrder) {
  // Deeper than the runtime nests children's inits on one thread (beyond that they are
  // scheduled): every level starts, the leaf answers, and shutdown stops the leaf first.
  constexpr int kDepth = 40;
  otp::ChildSpec level = worker_spec("leaf", log);
  for (int i = kDepth; i > 0; --i)
    level = otp::supervisor::spec("level" + std::to_string(i), {std::move(level)});
  Pid top = otp::supervisor::start_link(*node, {std::move(level)}).value();
  Pid sup = top;
  for (int i = 1; i <= kDepth; ++i) {
    auto children = otp::supervisor::which_children(*node, sup).value();
    ASSERT_EQ(children.size(), 1u) << "level " << i;
    sup = children[0].pid;
  }
  auto leaf = otp::supervisor::which_children(*node, sup).value();
  ASSERT_EQ(leaf.size(), 1u);
  EXPECT_EQ(otp::gen_server::call<std::string>(*node, leaf[0].pid, Ping{}).value(), "pong:leaf");
  node->shutdown();
  std::vector<std::string> expected = {"start:leaf", "stop:leaf"};
  EXPECT_EQ(log->snapshot(), expected);
}

// -- names held elsewhere -----------------------------------------------------------------------

TEST_P(SupervisorTest, ChildThatLostANameConflictIsNotRestartedWhateverItsRestartTypeNorCounted) {
  log_reports();
  // Intensity 0: one restart, or one exit counted as a restart, takes the supervisor down.
  Pid sup = otp::supervisor::start_link(
                *node,
                {worker_spec("p", log), worker_spec("t", log).restart(otp::Restart::transient),
                 worker_spec("tmp", log).restart(otp::Restart::temporary)},
                {.strategy = otp::Strategy::one_for_one, .max_restarts = 0, .max_time = 5s})
                .value();
  auto before = pids_of(*node, sup);
  CapturedStderr err;
  for (const char* id : {"p", "t", "tmp"}) {
    ASSERT_TRUE(otp::gen_server::stop(*node, before[id], otp::name_conflict_reason(), 10s)) << id;
    ASSERT_TRUE(await_not_running(*node, sup, id)) << id;
  }
  std::string reports = err.take();
  ASSERT_TRUE(otp::alive(sup));
  auto counts = otp::supervisor::count_children(*node, sup).value();
  EXPECT_EQ(counts.specs, 2u);  // the temporary child is dropped, as after any exit
  EXPECT_EQ(counts.active, 0u);
  auto kids = otp::supervisor::which_children(*node, sup).value();
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(kids[0].id, "p");
  EXPECT_FALSE(kids[0].pid);
  EXPECT_EQ(kids[1].id, "t");
  EXPECT_FALSE(kids[1].pid);
  EXPECT_EQ(log->count("start:p"), 1u);
  EXPECT_EQ(log->count("start:t"), 1u);
  // One report a child, saying why it is not restarted.
  EXPECT_EQ(occurrences(reports, "lost its global name"), 3u) << reports;
  EXPECT_EQ(occurrences(reports, "child p <"), 1u) << reports;
  EXPECT_NE(reports.find("not restarted"), std::string::npos) << reports;

  // restart_child brings it back, as often as it loses its name again: nothing is counted.
  for (int i = 0; i < 5; ++i) {
    Pid p = otp::supervisor::restart_child(*node, sup, "p").value();
    EXPECT_EQ(otp::gen_server::call<std::string>(*node, p, Ping{}).value(), "pong:p");
    ASSERT_TRUE(otp::gen_server::stop(*node, p, otp::name_conflict_reason(), 10s));
    ASSERT_TRUE(await_not_running(*node, sup, "p"));
    ASSERT_TRUE(otp::alive(sup)) << "after exit " << i;
  }
  EXPECT_EQ(log->count("start:p"), 6u);
  ASSERT_TRUE(otp::supervisor::delete_child(*node, sup, "p"));
  EXPECT_EQ(otp::supervisor::count_children(*node, sup)->specs, 1u);
}

TEST_P(SupervisorTest, AChildThatLostItsNameDoesNotTakeItsSiblingsDown) {
  for (auto strategy : {otp::Strategy::one_for_all, otp::Strategy::rest_for_one}) {
    SCOPED_TRACE(strategy == otp::Strategy::one_for_all ? "one_for_all" : "rest_for_one");
    log->clear();
    // Intensity 1: were the lost name counted, the crash below would take the supervisor down.
    Pid sup = otp::supervisor::start_link(
                  *node, {worker_spec("a", log), worker_spec("b", log), worker_spec("c", log)},
                  {.strategy = strategy, .max_restarts = 1, .max_time = 5s})
                  .value();
    auto before = pids_of(*node, sup);
    ASSERT_TRUE(otp::gen_server::stop(*node, before["b"], otp::name_conflict_reason(), 10s));
    ASSERT_TRUE(await_not_running(*node, sup, "b"));
    auto after = pids_of(*node, sup);
    EXPECT_EQ(after["a"], before["a"]);
    EXPECT_EQ(after["c"], before["c"]);
    EXPECT_FALSE(after["b"]);
    std::vector<std::string> expected = {"start:a", "start:b", "start:c", "stop:b"};
    EXPECT_EQ(log->snapshot(), expected);

    // A crash of a restarts its group, b with it: a child not running starts with its group.
    otp::gen_server::cast(*node, after["a"], Crash{});
    await_restarted(*node, sup, after, {"a", "b", "c"});
    ASSERT_TRUE(otp::gen_server::stop(*node, sup, otp::Reason::shutdown(), 10s));
  }
}

TEST_P(SupervisorTest, RestartThatFindsTheNameTakenLeavesTheChildNotRunningAndTheSupervisorUp) {
  log_reports();
  // Intensity 1: the crash's restart is allowed; one retry more would take the supervisor down.
  Pid sup = otp::supervisor::start_link(
                *node, {worker_spec("n", log).named("x")},
                {.strategy = otp::Strategy::one_for_one, .max_restarts = 1, .max_time = 5s})
                .value();
  Pid n = pids_of(*node, sup)["n"];
  // Keep the supervisor busy starting a gated child: n's exit then waits in its mailbox while
  // the test takes n's name.
  BusySupervisor busy(*node, [&](otp::ChildSpec spec) {
    return otp::supervisor::start_child(*node, sup, std::move(spec));
  });
  ASSERT_TRUE(busy.busy());
  otp::Inbox holder(*node);
  holder.monitor(n);
  CapturedStderr err;
  otp::gen_server::cast(*node, n, Crash{});
  ASSERT_TRUE(holder.receive_as<otp::Down>(10s));
  ASSERT_TRUE(node->register_name("x", holder.pid()));
  ASSERT_TRUE(busy.finish());
  ASSERT_TRUE(await_not_running(*node, sup, "n"));
  std::string reports = err.take();

  // The restart failed with already_started and was not retried: the supervisor is up.
  auto counts = otp::supervisor::count_children(*node, sup);
  ASSERT_TRUE(counts) << counts.error();
  EXPECT_EQ(counts->specs, 2u);
  EXPECT_EQ(counts->active, 1u);  // gated
  EXPECT_EQ(log->count("start:n"), 1u);
  EXPECT_NE(reports.find("restart of child n failed"), std::string::npos) << reports;
  EXPECT_NE(reports.find(holder.pid().to_string()), std::string::npos) << reports;

  // restart_child fails the same way while the name is held, and starts n once it is free.
  auto taken = otp::supervisor::restart_child(*node, sup, "n");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.code(), ErrorCode::already_started);
  EXPECT_NE(taken.error().context().find(holder.pid().to_string()), std::string::npos)
      << taken.error();
  EXPECT_TRUE(otp::alive(sup));
  node->unregister_name("x");
  Pid n2 = otp::supervisor::restart_child(*node, sup, "n").value();
  EXPECT_EQ(node->whereis("x"), n2);
  EXPECT_EQ(log->count("start:n"), 2u);
}

INSTANTIATE_TEST_SUITE_P(Threads, SupervisorTest, kThreadCounts, threads_name);
