// gen_server::stop of a process on another node and otp::whereis of {name, node}, between two
// Nodes in one OS process over in-memory links (every message through the MessagePack codec):
// both are the runtime's own requests inside process messages (node/src/system_messages.hpp).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "distribution/service_nodes.hpp"

namespace {

using namespace std::chrono_literals;

constexpr auto kLong = 10s;

struct Terminating {
  otp::Reason reason;
};

/// Tells report (a pid of its own node) when its terminate runs, then waits for release (if
/// set) before it returns: a server that is slow to exit.
class TellsOnTerminate : public otp::GenServer {
 public:
  TellsOnTerminate(otp::Pid report, std::shared_future<void> release)
      : report_(std::move(report)), release_(std::move(release)) {}
  void terminate(const otp::Reason& reason) override {
    otp::send(report_, Terminating{reason});
    if (release_.valid()) release_.wait();
  }

 private:
  otp::Pid report_;
  std::shared_future<void> release_;
};

/// Answers any call with the code of otp::whereis(node(), that remote name) from its handler.
class LooksUpFromItsHandler : public otp::GenServer {
 public:
  explicit LooksUpFromItsHandler(std::string node) : node_(std::move(node)) {}
  otp::Action handle_call(const otp::Message&, const otp::From&) override {
    auto found = otp::whereis(node(), otp::remote_name("echo", node_));
    return otp::reply(found ? -1 : static_cast<int>(found.code()));
  }

 private:
  std::string node_;
};

using RemoteStopWhereisTest = otp_test::ServiceNodesTest;

// -- otp::whereis of {name, node} ---------------------------------------------------------------

TEST_F(RemoteStopWhereisTest, WhereisOfARemoteNameIsThePidRegisteredOnThatNode) {
  auto echo = otp::whereis(a.node, otp::remote_name("echo", b.full_name()));
  ASSERT_TRUE(echo) << echo.error();
  ASSERT_TRUE(echo->remote());
  EXPECT_EQ(otp::distribution::node_of(a.node, *echo), b.full_name());
  // The very process: the pid it gives itself, and the one b has under that name.
  auto itself = otp::gen_server::call<otp::Pid>(a.node, *echo, services::WhoAmI{});
  ASSERT_TRUE(itself) << itself.error();
  EXPECT_EQ(*echo, *itself);
  EXPECT_EQ(echo->id(), b.node.whereis("echo")->id());
}

TEST_F(RemoteStopWhereisTest, WhereisOfARemoteNameNobodyHoldsIsNoproc) {
  auto r = otp::whereis(a.node, otp::remote_name("nobody", b.full_name()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::noproc) << r.error();
  EXPECT_NE(r.error().to_string().find("whereis {nobody, b@test}"), std::string::npos) << r.error();
}

TEST_F(RemoteStopWhereisTest, WhereisOnANodeThatIsNotConnectedIsNodedownAtOnce) {
  auto r = otp::whereis(a.node, otp::remote_name("echo", "nowhere@test"), 60s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::nodedown) << r.error();
}

TEST_F(RemoteStopWhereisTest, WhereisOfThisNodesOwnNameAnswersLocally) {
  auto echo = otp::whereis(a.node, otp::remote_name("echo", a.full_name()));
  ASSERT_TRUE(echo) << echo.error();
  EXPECT_FALSE(echo->remote());
  EXPECT_EQ(*echo, *a.node.whereis("echo"));
}

TEST_F(RemoteStopWhereisTest, WhereisOfARemoteNameInsideAHandlerIsWouldBlock) {
  ASSERT_TRUE(
      otp::gen_server::start<LooksUpFromItsHandler>(a.node, otp::name("looker"), b.full_name()));
  auto code = otp::gen_server::call<int>(a.node, "looker", services::Get{});
  ASSERT_TRUE(code) << code.error();
  EXPECT_EQ(*code, static_cast<int>(otp::ErrorCode::would_block));
}

// -- gen_server::stop of a remote process -------------------------------------------------------

TEST_F(RemoteStopWhereisTest, StopOfARemotePidRunsTerminateWithTheReasonAndWaitsForTheExit) {
  otp::Inbox report(b.node);
  auto local = otp::gen_server::start<TellsOnTerminate>(b.node, otp::name("doomed"), report.pid(),
                                                        std::shared_future<void>());
  ASSERT_TRUE(local) << local.error();
  auto pid = otp::whereis(a.node, otp::remote_name("doomed", b.full_name()));
  ASSERT_TRUE(pid) << pid.error();

  auto stopped = otp::gen_server::stop(a.node, *pid, otp::Reason::shutdown("bye"), kLong);
  ASSERT_TRUE(stopped) << stopped.error();
  // stop returned after the exit: the process is gone on b already, and its terminate ran.
  EXPECT_FALSE(otp::alive(*local));
  auto terminating = report.receive_as<Terminating>(kLong);
  ASSERT_TRUE(terminating);
  EXPECT_EQ(terminating->reason, otp::Reason::shutdown("bye"));
  // A second stop finds nobody.
  auto again = otp::gen_server::stop(a.node, *pid, otp::Reason::normal(), kLong);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.code(), otp::ErrorCode::noproc) << again.error();
}

TEST_F(RemoteStopWhereisTest, StopOfARemoteNameStopsTheProcessHoldingIt) {
  otp::Inbox report(b.node);
  auto local = otp::gen_server::start<TellsOnTerminate>(b.node, otp::name("doomed"), report.pid(),
                                                        std::shared_future<void>());
  ASSERT_TRUE(local) << local.error();
  auto stopped = otp::gen_server::stop(a.node, otp::remote_name("doomed", b.full_name()),
                                       otp::Reason::normal(), kLong);
  ASSERT_TRUE(stopped) << stopped.error();
  EXPECT_FALSE(otp::alive(*local));
  EXPECT_FALSE(b.node.whereis("doomed"));
}

TEST_F(RemoteStopWhereisTest, StopOfARemoteNameNobodyHoldsIsNoproc) {
  auto r = otp::gen_server::stop(a.node, otp::remote_name("nobody", b.full_name()),
                                 otp::Reason::normal(), 60s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::noproc) << r.error();
}

TEST_F(RemoteStopWhereisTest, StopFailsWithNodedownWhenTheNodeGoesDownBeforeTheExit) {
  otp::Inbox report(b.node);
  std::promise<void> release;
  auto local = otp::gen_server::start<TellsOnTerminate>(b.node, otp::name("slow"), report.pid(),
                                                        release.get_future().share());
  ASSERT_TRUE(local) << local.error();
  std::thread cutter([&] {
    // Cut once its terminate runs (and waits): the stop was asked and the exit is not done.
    if (!report.receive_as<Terminating>(kLong)) ADD_FAILURE() << "terminate never ran";
    otp_test::disconnect(a, b, "test cut");
  });
  auto r = otp::gen_server::stop(a.node, otp::remote_name("slow", b.full_name()),
                                 otp::Reason::normal(), 60s);
  cutter.join();
  release.set_value();
  ASSERT_FALSE(r);
  // nodedown, not timeout: the cut ended the wait, not its deadline.
  EXPECT_EQ(r.code(), otp::ErrorCode::nodedown) << r.error();
}

}  // namespace
