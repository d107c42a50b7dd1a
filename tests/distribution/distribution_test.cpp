// Remote processes between two (or three) Nodes in one OS process, over in-memory links that run
// every message through the MessagePack codec: calls, casts and sends both ways, {name, node}
// addressing, monitors and links across nodes, nodedown semantics, restarted nodes, and bad
// input (unregistered or unknown message types).
#include <gtest/gtest.h>

#include <chrono>

#include "distribution/service_nodes.hpp"
#include "support/eventually.hpp"

namespace {

using namespace std::chrono_literals;
using otp_test::MemoryNode;

constexpr auto kLong = 10s;

struct NotRegistered {
  int x = 0;
};

/// Does nothing; dies of any exit signal (it does not trap exits).
class Idle : public otp::GenServer {};

struct Park {};  // call (registered as "test.park"): never answered
struct Parked {};

/// Parks every Park call for ever, and tells `report` (a local pid) each time one arrived, so a
/// test knows the call is in flight on this node.
class Parker : public otp::GenServer {
 public:
  explicit Parker(otp::Pid report) : report_(std::move(report)) {}
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Park&) {
      otp::send(report_, Parked{});
      return otp::noreply();
    });
  }

 private:
  otp::Pid report_;
};

/// Answers every call with an Error value whose code id is the request (a json number).
class FailsWith : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& request, const otp::From&) override {
    const auto id = request.get<nlohmann::json>().get<uint64_t>();
    return otp::reply(otp::Error(*otp::error_code_from_id(id), "lookup of user 7",
                                 otp::Reason::error("the reason travels too")));
  }
};

class DistributionTest : public otp_test::ServiceNodesTest {
 protected:
  otp::Pid remote_pid(MemoryNode& from, MemoryNode& on, const std::string& name) {
    auto pid = otp::gen_server::call<otp::Pid>(from.node, otp::remote_name(name, on.full_name()),
                                               services::WhoAmI{});
    EXPECT_TRUE(pid) << pid.error();
    return pid ? *pid : otp::Pid();
  }
};

TEST_F(DistributionTest, CallByNameOnAnotherNode) {
  auto counter = otp::remote_name("counter", b.full_name());
  EXPECT_EQ(otp::gen_server::call<int>(a.node, counter, services::Add{5}).value(), 5);
  EXPECT_EQ(otp::gen_server::call<int>(a.node, counter, services::Get{}).value(), 5);
  // b's own view agrees: it is the same process.
  EXPECT_EQ(otp::gen_server::call<int>(b.node, "counter", services::Get{}).value(), 5);
}

TEST_F(DistributionTest, CallsWorkBothWays) {
  EXPECT_EQ(otp::gen_server::call<int>(b.node, otp::remote_name("counter", a.full_name()),
                                       services::Add{3})
                .value(),
            3);
  EXPECT_EQ(otp::gen_server::call<int>(a.node, otp::remote_name("counter", b.full_name()),
                                       services::Add{4})
                .value(),
            4);
}

TEST_F(DistributionTest, JsonRequestsRoundTrip) {
  nlohmann::json req = {{"k", "v"}, {"n", {1, 2, 3}}};
  auto r =
      otp::gen_server::call<nlohmann::json>(a.node, otp::remote_name("echo", b.full_name()), req);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, req);
}

TEST_F(DistributionTest, PidsCrossNodesAndAddressTheSameProcess) {
  otp::Pid echo = remote_pid(a, b, "echo");
  ASSERT_TRUE(echo.remote());
  EXPECT_EQ(otp::distribution::node_of(a.node, echo), b.full_name());
  EXPECT_NE(echo.to_string().find("b@test"), std::string::npos) << echo.to_string();
  EXPECT_EQ(otp::gen_server::call<nlohmann::json>(a.node, echo, nlohmann::json(7)).value(), 7);
  // Two decodings of the same remote pid compare equal (and hash alike).
  EXPECT_EQ(remote_pid(a, b, "echo"), echo);
  EXPECT_EQ(std::hash<otp::Pid>{}(remote_pid(a, b, "echo")), std::hash<otp::Pid>{}(echo));
}

TEST_F(DistributionTest, CastsAndCallsFromOneProcessArriveInOrder) {
  auto counter = otp::remote_name("counter", b.full_name());
  for (int i = 0; i < 1000; ++i) otp::gen_server::cast(a.node, counter, services::Increment{1});
  EXPECT_EQ(otp::gen_server::call<int>(a.node, counter, services::Get{}).value(), 1000);
}

TEST_F(DistributionTest, SendReachesAnInboxOnAnotherNodeByName) {
  otp::Inbox inbox(b.node);
  ASSERT_TRUE(b.node.register_name("inbox", inbox.pid()));
  ASSERT_TRUE(otp::send(a.node, otp::remote_name("inbox", b.full_name()), std::string("hello")));
  auto m = inbox.receive_as<std::string>(kLong);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, "hello");
}

TEST_F(DistributionTest, ARemoteServerCallsBackIntoThisNodeFromItsHandler) {
  // a -> relay on b -> await_call to counter on a -> answer back through b.
  auto r = otp::gen_server::call<nlohmann::json>(
      a.node, otp::remote_name("relay", b.full_name()),
      services::Relay{a.full_name(), "echo", nlohmann::json("ping")});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, "ping");
}

TEST_F(DistributionTest, CallToAnUnknownNameIsNoproc) {
  auto r = otp::gen_server::call<int>(a.node, otp::remote_name("nobody", b.full_name()),
                                      services::Get{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), otp::ErrorCode::noproc) << r.error();
}

TEST_F(DistributionTest, CallToANodeThatIsNotConnectedFailsAtOnceWithNodedown) {
  auto r = otp::gen_server::call<int>(a.node, otp::remote_name("counter", "nowhere@test"),
                                      services::Get{}, 60s);
  ASSERT_FALSE(r);
  // nodedown, not timeout: it did not wait for its deadline.
  EXPECT_EQ(r.error().code(), otp::ErrorCode::nodedown) << r.error();
}

TEST_F(DistributionTest, ACallInFlightFailsAtOnceWhenTheNodeGoesDown) {
  otp::register_remote_type<Park>("test.park");
  otp::Inbox parked(b.node);
  ASSERT_TRUE(otp::gen_server::start<Parker>(b.node, otp::name("parker"), parked.pid()));
  otp::Pid echo = remote_pid(a, b, "echo");
  std::thread cutter([&] {
    // Cut once the call is parked on b: its handler ran and will never answer.
    if (!parked.receive_as<Parked>(kLong)) ADD_FAILURE() << "the call never reached b";
    otp_test::disconnect(a, b, "test cut");
  });
  auto r = otp::gen_server::call<otp::Ok>(a.node, otp::remote_name("parker", b.full_name()), Park{},
                                          60s);
  cutter.join();
  ASSERT_FALSE(r);
  // nodedown, not timeout: the cut ended the call, not its deadline.
  EXPECT_EQ(r.error().code(), otp::ErrorCode::nodedown) << r.error();
  // And a call made afterwards fails at once too.
  auto again = otp::gen_server::call<otp::Ok>(a.node, echo, services::Get{}, 60s);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), otp::ErrorCode::nodedown) << again.error();
}

TEST_F(DistributionTest, ACrashWhileServingARemoteCallIsAnExitError) {
  auto r = otp::gen_server::call<int>(a.node, otp::remote_name("echo", b.full_name()),
                                      services::Crash{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), otp::ErrorCode::exit) << r.error();
  EXPECT_NE(r.error().reason().detail().find("echo asked to crash"), std::string::npos)
      << r.error();
  // The supervisor on b restarted it: a call works again.
  EXPECT_TRUE(otp_test::eventually([&] {
    return otp::gen_server::call<nlohmann::json>(a.node, otp::remote_name("echo", b.full_name()),
                                                 nlohmann::json(1))
        .ok();
  }));
}

TEST_F(DistributionTest, AServersErrorValueKeepsItsCodeAcrossNodes) {
  ASSERT_TRUE(otp::gen_server::start<FailsWith>(b.node, otp::name("fails_with")));
  // Codes of the runtime and codes appended after overload: each crosses as its wire id.
  for (auto code : {otp::ErrorCode::not_found, otp::ErrorCode::overload,
                    otp::ErrorCode::bad_address, otp::ErrorCode::listen_failed}) {
    auto r = otp::gen_server::call<int>(a.node, otp::remote_name("fails_with", b.full_name()),
                                        nlohmann::json(static_cast<uint64_t>(code)));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(),
              otp::Error(code, "lookup of user 7", otp::Reason::error("the reason travels too")))
        << r.error();
  }
}

TEST_F(DistributionTest, ADeferredReplyCrossesNodes) {
  auto r = otp::gen_server::call<otp::Ok>(a.node, otp::remote_name("echo", b.full_name()),
                                          services::Slow{50});
  EXPECT_TRUE(r) << r.error();
}

TEST_F(DistributionTest, AnUnregisteredTypeIsRefusedOnTheSendingNode) {
  auto r = otp::gen_server::call<int>(a.node, otp::remote_name("counter", b.full_name()),
                                      NotRegistered{1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), otp::ErrorCode::badarg);
  EXPECT_NE(r.error().to_string().find("NotRegistered"), std::string::npos) << r.error();
}

TEST_F(DistributionTest, ATypeNameTheReceiverDoesNotKnowGetsTheCallerAClearError) {
  // Forge what a node with a newer build would send: a call whose payload type b never heard of.
  // b answers with an error naming the type, and keeps serving.
  otp::Inbox caller(a.node);
  auto from = otp::gen_server::call<otp::Pid>(b.node, otp::remote_name("echo", a.full_name()),
                                              services::WhoAmI{});
  ASSERT_TRUE(from);
  otp::protocol::Call call{.from = {a.id, caller.pid().id()},
                           .to = std::string("counter"),
                           .ref = {a.id, 424242},
                           .request = {"svc.from_the_future", {{"x", 1}}}};
  // Record what b answers by watching b's outgoing traffic count, then check b still serves.
  auto before = b.channel->sent();
  otp::distribution::receive(b.node, a.id, std::move(call));
  EXPECT_TRUE(otp_test::eventually([&] { return b.channel->sent() > before; }));
  EXPECT_EQ(otp::gen_server::call<int>(a.node, otp::remote_name("counter", b.full_name()),
                                       services::Add{1})
                .value(),
            1);
}

TEST_F(DistributionTest, AReplyTypeTheCallerCanNotEncodeIsAnErrorNotAHang) {
  // echo answers WhoAmI with a Pid: fine. A server answering an unregistered type: error.
  class Odd : public otp::GenServer {
    otp::Action handle_call(const otp::Message&, const otp::From&) override {
      return otp::reply(NotRegistered{2});
    }
  };
  ASSERT_TRUE(otp::gen_server::start<Odd>(b.node, otp::name("odd")));
  auto r =
      otp::gen_server::call<int>(a.node, otp::remote_name("odd", b.full_name()), services::Get{});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().to_string().find("NotRegistered"), std::string::npos) << r.error();
}

TEST_F(DistributionTest, MonitorOfARemoteProcessFiresWithItsExitReason) {
  otp::Pid echo = remote_pid(a, b, "echo");
  otp::Inbox watcher(a.node);
  otp::Ref ref = watcher.monitor(echo);
  otp::exit(echo, otp::Reason::kill());
  auto down = watcher.receive_as<otp::Down>(kLong);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->ref, ref);
  EXPECT_EQ(down->pid, echo);
  EXPECT_EQ(down->reason.kind(), otp::Reason::Kind::killed);
}

TEST_F(DistributionTest, AShutdownReasonWithADetailCrossesNodesIntact) {
  otp::Pid echo = remote_pid(a, b, "echo");
  otp::Inbox watcher(a.node);
  otp::Ref ref = watcher.monitor(echo);
  otp::Inbox linked(a.node);
  linked.link(echo);
  // The Monitor and Link reached b before the exit: a round trip on the same link proves it.
  ASSERT_TRUE(otp::gen_server::call<nlohmann::json>(a.node, echo, nlohmann::json(1)));
  otp::exit(echo, otp::Reason::shutdown("closed"));
  auto down = watcher.receive_as<otp::Down>(kLong);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->ref, ref);
  EXPECT_EQ(down->reason, otp::Reason::shutdown("closed"));
  auto x = linked.receive_as<otp::ExitSignal>(kLong);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->reason, otp::Reason::shutdown("closed"));
}

TEST_F(DistributionTest, AnUnmatchedRemoteCallIsBadCallNamingTheExitAndTheServerRestarts) {
  otp::Pid echo = remote_pid(a, b, "echo");
  otp::Inbox watcher(a.node);
  watcher.monitor(echo);
  auto r = otp::gen_server::call<int>(a.node, echo, services::Relay{b.full_name(), "echo", 0});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::bad_call) << r.error();
  EXPECT_NE(r.error().reason().detail().find("bad_call"), std::string::npos) << r.error();
  auto down = watcher.receive_as<otp::Down>(kLong);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, r.error().reason());
  // b's supervisor restarted it.
  EXPECT_TRUE(otp_test::eventually([&] {
    auto again = otp::gen_server::call<otp::Pid>(a.node, otp::remote_name("echo", b.full_name()),
                                                 services::WhoAmI{});
    return again && *again != echo;
  }));
}

TEST_F(DistributionTest, MonitorOfARemoteProcessFiresWithNoconnectionWhenTheNodeGoesDown) {
  otp::Pid echo = remote_pid(a, b, "echo");
  otp::Inbox watcher(a.node);
  watcher.monitor(echo);
  // The Monitor reached b before the cut: a round trip on the same link proves it.
  ASSERT_TRUE(otp::gen_server::call<nlohmann::json>(a.node, echo, nlohmann::json(1)));
  otp_test::disconnect(a, b);
  auto down = watcher.receive_as<otp::Down>(kLong);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason.kind(), otp::Reason::Kind::noconnection);
}

TEST_F(DistributionTest, MonitorOfAProcessOnANodeThatIsDownFiresAtOnce) {
  otp::Pid echo = remote_pid(a, b, "echo");
  otp_test::disconnect(a, b);
  otp::Inbox watcher(a.node);
  watcher.monitor(echo);
  auto down = watcher.receive_as<otp::Down>(kLong);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason.kind(), otp::Reason::Kind::noconnection);
}

TEST_F(DistributionTest, DemonitorAcrossNodesMeansNoDown) {
  otp::Pid echo = remote_pid(a, b, "echo");
  otp::Inbox watcher(a.node);
  otp::Ref ref = watcher.monitor(echo);
  watcher.demonitor(ref);
  otp::Ref second = watcher.monitor(echo);
  otp::exit(echo, otp::Reason::kill());
  auto down = watcher.receive_as<otp::Down>(kLong);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->ref, second);  // only the monitor still in place fires
  EXPECT_FALSE(watcher.receive_as<otp::Down>(200ms));
}

TEST_F(DistributionTest, LinkedRemoteCrashArrivesAsAnExitSignal) {
  otp::Pid echo = remote_pid(a, b, "echo");
  otp::Inbox inbox(a.node);
  inbox.link(echo);
  ASSERT_TRUE(otp::gen_server::call<nlohmann::json>(a.node, echo, nlohmann::json(1)));
  auto r = otp::gen_server::call<int>(a.node, echo, services::Crash{});
  EXPECT_FALSE(r);
  auto x = inbox.receive_as<otp::ExitSignal>(kLong);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->from, echo);
  EXPECT_NE(x->reason.detail().find("echo asked to crash"), std::string::npos) << x->reason;
}

TEST_F(DistributionTest, ALinkedLocalExitReachesTheRemoteSideAndNodedownBreaksLinks) {
  // relay on b links to a process of a and reports the exit signal to an inbox on a.
  otp::Inbox reports(a.node);
  auto victim = otp::gen_server::start<Idle>(a.node);
  ASSERT_TRUE(victim);
  auto relay = otp::remote_name("relay", b.full_name());
  otp::gen_server::cast(a.node, relay, services::Watch{*victim, reports.pid()});
  // Wait until the watch is in place (a call to relay is handled after the cast).
  ASSERT_TRUE(otp::gen_server::call<nlohmann::json>(
      a.node, relay, services::Relay{b.full_name(), "echo", nlohmann::json(0)}));
  otp::exit(*victim, otp::Reason::error("gone"));
  std::vector<std::string> kinds;
  for (int i = 0; i < 2; ++i) {
    auto ev = reports.receive_as<services::Event>(kLong);
    ASSERT_TRUE(ev) << "only got " << kinds.size() << " events";
    EXPECT_EQ(ev->pid, *victim);
    EXPECT_NE(ev->reason.find("gone"), std::string::npos) << ev->reason;
    kinds.push_back(ev->kind);
  }
  std::sort(kinds.begin(), kinds.end());
  EXPECT_EQ(kinds, (std::vector<std::string>{"down", "exit"}));
}

TEST_F(DistributionTest, NodedownGivesLinkedProcessesNoconnection) {
  otp::Pid echo = remote_pid(a, b, "echo");
  otp::Inbox inbox(a.node);
  inbox.link(echo);
  ASSERT_TRUE(otp::gen_server::call<nlohmann::json>(a.node, echo, nlohmann::json(1)));
  otp_test::disconnect(a, b);
  auto x = inbox.receive_as<otp::ExitSignal>(kLong);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->reason.kind(), otp::Reason::Kind::noconnection);
}

TEST_F(DistributionTest, ExitKillAcrossNodesKillsTheProcess) {
  otp::Pid echo = remote_pid(a, b, "echo");
  auto local_view = b.node.whereis("echo");
  ASSERT_TRUE(local_view);
  otp::Inbox watcher(b.node);
  watcher.monitor(*local_view);
  otp::exit(echo, otp::Reason::kill());
  auto down = watcher.receive_as<otp::Down>(kLong);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason.kind(), otp::Reason::Kind::killed);
}

TEST_F(DistributionTest, NodeEventsReachProcessesThatAskedForThem) {
  otp::Inbox events(a.node);
  otp::distribution::monitor_nodes(a.node, events.pid());
  EXPECT_EQ(otp::distribution::nodes(a.node), std::vector<std::string>{b.full_name()});
  otp_test::disconnect(a, b, "because");
  auto down = events.receive_as<otp::NodeDown>(kLong);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->node, b.full_name());
  EXPECT_EQ(down->reason, "because");
  EXPECT_TRUE(otp::distribution::nodes(a.node).empty());
  otp_test::connect(a, b);
  auto up = events.receive_as<otp::NodeUp>(kLong);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->node, b.full_name());
}

TEST_F(DistributionTest, APidOfAnEarlierIncarnationGetsNoprocNotAStranger) {
  otp::Pid old_echo = remote_pid(a, b, "echo");
  otp_test::disconnect(a, b);
  {
    // b restarts: same name, new creation, its own echo.
    MemoryNode b2{"b", 3};
    ASSERT_TRUE(otp::supervisor::start_link(b2.node, services::child_specs(), {}));
    otp_test::connect(a, b2);
    auto r = otp::gen_server::call<nlohmann::json>(a.node, old_echo, nlohmann::json(1));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), otp::ErrorCode::noproc) << r.error();
    otp::Inbox watcher(a.node);
    watcher.monitor(old_echo);
    auto down = watcher.receive_as<otp::Down>(kLong);
    ASSERT_TRUE(down);
    EXPECT_EQ(down->reason.kind(), otp::Reason::Kind::noproc);
    // The name reaches the new incarnation.
    EXPECT_TRUE(otp::gen_server::call<nlohmann::json>(
        a.node, otp::remote_name("echo", b.full_name()), nlohmann::json(2)));
    otp_test::disconnect(a, b2);
  }
}

TEST_F(DistributionTest, ThreeNodesRouteByPid) {
  MemoryNode c{"c", 4};
  ASSERT_TRUE(otp::supervisor::start_link(c.node, services::child_specs(), {}));
  otp_test::connect(a, c);
  otp_test::connect(b, c);
  // a learns c's echo pid through b (a pid of a third node inside a message), then calls it.
  auto c_echo = otp::gen_server::call<nlohmann::json>(
      a.node, otp::remote_name("relay", b.full_name()),
      services::Relay{c.full_name(), "echo", nlohmann::json("via b")});
  ASSERT_TRUE(c_echo) << c_echo.error();
  EXPECT_EQ(*c_echo, "via b");
  otp::Pid echo = remote_pid(a, c, "echo");
  EXPECT_EQ(otp::gen_server::call<nlohmann::json>(a.node, echo, nlohmann::json(3)).value(), 3);
  otp_test::disconnect(a, c);
  otp_test::disconnect(b, c);
}

}  // namespace
