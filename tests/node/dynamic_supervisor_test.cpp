// DynamicSupervisor: start_child, max_children, terminate_child, restarts, intensity, shutdown,
// names held elsewhere.
#include "otp/global.hpp"
#include "support/eventually.hpp"
#include "support/node_test.hpp"
#include "support/workers.hpp"

using namespace std::chrono_literals;
using namespace otp_test;
using otp::ErrorCode;
using otp::Pid;

namespace {
class DynamicSupervisorTest : public NodeTest {
 protected:
  void SetUp() override {
    node = std::make_unique<otp::Node>(node_options("dyn", threads()));
    log = std::make_shared<EventLog>();
  }
  std::unique_ptr<otp::Node> node;
  std::shared_ptr<EventLog> log;
};

size_t active(otp::Node& node, const otp::ServerRef& sup) {
  return otp::dynamic_supervisor::count_children(node, sup).value().active;
}
}  // namespace

TEST_P(DynamicSupervisorTest, StartChildBeyondMaxChildrenFails) {
  Pid sup = otp::dynamic_supervisor::start_link(*node, {.max_children = 2}).value();
  ASSERT_TRUE(otp::dynamic_supervisor::start_child(*node, sup, worker_spec("w1", log)));
  ASSERT_TRUE(otp::dynamic_supervisor::start_child(*node, sup, worker_spec("w2", log)));
  auto r = otp::dynamic_supervisor::start_child(*node, sup, worker_spec("w3", log));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::max_children);
  EXPECT_EQ(active(*node, sup), 2u);
}

TEST_P(DynamicSupervisorTest, ChildrenNeedNoIdAndAreRestartedWithout) {
  Pid sup = otp::dynamic_supervisor::start_link(*node).value();
  otp::ChildSpec spec = otp::dynamic_supervisor::child<Worker>("w1", log, true, false);
  EXPECT_TRUE(spec.id.empty());
  Pid w = otp::dynamic_supervisor::start_child(*node, sup, std::move(spec)).value();
  Pid named =
      otp::dynamic_supervisor::start_child(
          *node, sup, otp::dynamic_supervisor::child<Worker>("w2", log, true, false).named("w2"))
          .value();
  EXPECT_EQ(node->whereis("w2"), named);
  auto kids = otp::dynamic_supervisor::which_children(*node, sup).value();
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(kids[0].pid, w);
  EXPECT_EQ(kids[0].id, "");
  otp::gen_server::cast(*node, w, Crash{});
  ASSERT_TRUE(eventually([&] { return log->count("start:w1") == 2; }));
  ASSERT_TRUE(eventually([&] { return active(*node, sup) == 2; }));
}

TEST_P(DynamicSupervisorTest, StartChildReturnsTheChildsInitError) {
  Pid sup = otp::dynamic_supervisor::start_link(*node).value();
  auto r = otp::dynamic_supervisor::start_child(*node, sup,
                                                otp::worker<Worker>("bad", "bad", log, true, true));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::init_failed);
  EXPECT_EQ(active(*node, sup), 0u);
  EXPECT_TRUE(otp::alive(sup));
}

TEST_P(DynamicSupervisorTest, TerminateChildOfAStrangerFailsWithNotFound) {
  Pid sup = otp::dynamic_supervisor::start_link(*node).value();
  Pid other = otp::gen_server::start<Worker>(*node, "x", log, true, false).value();
  EXPECT_EQ(otp::dynamic_supervisor::terminate_child(*node, sup, other).code(),
            ErrorCode::not_found);
}

TEST_P(DynamicSupervisorTest, TerminateChildStopsItAndForgetsIt) {
  Pid sup = otp::dynamic_supervisor::start_link(*node).value();
  Pid w = otp::dynamic_supervisor::start_child(*node, sup, worker_spec("w", log)).value();
  ASSERT_TRUE(otp::dynamic_supervisor::terminate_child(*node, sup, w));
  EXPECT_FALSE(otp::alive(w));
  EXPECT_EQ(log->count("stop:w"), 1u);
  EXPECT_EQ(active(*node, sup), 0u);
  EXPECT_TRUE(otp::dynamic_supervisor::which_children(*node, sup).value().empty());
}

TEST_P(DynamicSupervisorTest, CrashedPermanentChildIsRestartedTemporaryIsNot) {
  Pid sup = otp::dynamic_supervisor::start_link(*node).value();
  Pid p = otp::dynamic_supervisor::start_child(*node, sup, worker_spec("p", log)).value();
  Pid t = otp::dynamic_supervisor::start_child(
              *node, sup, worker_spec("t", log).restart(otp::Restart::temporary))
              .value();
  otp::gen_server::cast(*node, p, Crash{});
  otp::gen_server::cast(*node, t, Crash{});
  ASSERT_TRUE(eventually([&] { return log->count("start:p") == 2; }));
  ASSERT_TRUE(eventually([&] { return active(*node, sup) == 1; }));
  auto kids = otp::dynamic_supervisor::which_children(*node, sup).value();
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_NE(kids[0].pid, p);
  EXPECT_EQ(log->count("start:t"), 1u);
}

TEST_P(DynamicSupervisorTest, ExceedingRestartIntensityTakesItDown) {
  Pid sup = otp::dynamic_supervisor::start_link(*node, {.max_restarts = 1}).value();
  otp::Inbox inbox(*node);
  inbox.monitor(sup);
  otp::dynamic_supervisor::start_child(*node, sup, worker_spec("w", log)).value();
  for (int i = 0; i < 2; ++i) {
    auto kids = otp::dynamic_supervisor::which_children(*node, sup);
    if (!kids || kids->empty()) break;
    otp::gen_server::cast(*node, kids->at(0).pid, Crash{});
    if (i == 0) {
      ASSERT_TRUE(eventually([&] { return log->count("start:w") == 2; }));
    }
  }
  auto down = inbox.receive_as<otp::Down>(10s);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, otp::Reason::shutdown());
}

TEST_P(DynamicSupervisorTest, StoppingItStopsEveryChild) {
  Pid sup = otp::dynamic_supervisor::start_link(*node).value();
  std::vector<Pid> kids;
  for (int i = 0; i < 50; ++i)
    kids.push_back(
        otp::dynamic_supervisor::start_child(*node, sup, worker_spec("w" + std::to_string(i), log))
            .value());
  ASSERT_TRUE(otp::gen_server::stop(*node, sup, otp::Reason::shutdown(), 10s));
  for (auto& k : kids) EXPECT_FALSE(otp::alive(k));
  EXPECT_EQ(log->snapshot().size(), 100u);  // 50 starts, 50 terminates
}

TEST_P(DynamicSupervisorTest, ChildThatLostANameConflictIsRemovedNotRestartedNorCounted) {
  // Intensity 0: one restart, or one exit counted as a restart, takes the supervisor down.
  Pid sup = otp::dynamic_supervisor::start_link(*node, {.max_restarts = 0}).value();
  for (int i = 0; i < 5; ++i) {
    Pid w = otp::dynamic_supervisor::start_child(*node, sup, worker_spec("w", log)).value();
    ASSERT_TRUE(otp::gen_server::stop(*node, w, otp::name_conflict_reason(), 10s));
    // The supervisor handles the exit (and would restart right there) a moment after the stop.
    ASSERT_TRUE(eventually([&] {
      auto kids = otp::dynamic_supervisor::which_children(*node, sup);
      return !kids || kids->empty();
    }));
    ASSERT_TRUE(otp::alive(sup)) << "after exit " << i;
  }
  EXPECT_EQ(log->count("start:w"), 5u);  // one a start_child, none a restart
  EXPECT_EQ(otp::dynamic_supervisor::count_children(*node, sup)->specs, 0u);
}

TEST_P(DynamicSupervisorTest, RestartThatFindsTheNameTakenRemovesTheChildAndTheSupervisorStaysUp) {
  // Intensity 1: the crash's restart is allowed; one retry more would take the supervisor down.
  Pid sup = otp::dynamic_supervisor::start_link(*node, {.max_restarts = 1}).value();
  Pid n =
      otp::dynamic_supervisor::start_child(*node, sup, worker_spec("n", log).named("x")).value();
  // Keep the supervisor busy starting a gated child: n's exit then waits in its mailbox while
  // the test takes n's name.
  BusySupervisor busy(*node, [&](otp::ChildSpec spec) {
    return otp::dynamic_supervisor::start_child(*node, sup, std::move(spec));
  });
  ASSERT_TRUE(busy.busy());
  otp::Inbox holder(*node);
  holder.monitor(n);
  otp::gen_server::cast(*node, n, Crash{});
  ASSERT_TRUE(holder.receive_as<otp::Down>(10s));
  ASSERT_TRUE(node->register_name("x", holder.pid()));
  Pid gated = busy.finish().value();
  ASSERT_TRUE(eventually([&] {
    auto kids = otp::dynamic_supervisor::which_children(*node, sup);
    return !kids || kids->size() == 1;
  }));
  // The restart failed with already_started and was not retried: n is gone, the supervisor up.
  auto kids = otp::dynamic_supervisor::which_children(*node, sup);
  ASSERT_TRUE(kids) << kids.error();
  ASSERT_EQ(kids->size(), 1u);
  EXPECT_EQ(kids->at(0).pid, gated);
  EXPECT_TRUE(otp::alive(sup));
  EXPECT_EQ(log->count("start:n"), 1u);
  EXPECT_EQ(node->whereis("x"), holder.pid());
}

INSTANTIATE_TEST_SUITE_P(Threads, DynamicSupervisorTest, kThreadCounts, threads_name);
