// Global names across nodes inside this test process: LocalClusters of the test kit (two or three
// Nodes with gossip, on loopback ports). The registry's whole path runs: a register replicated
// over the links, whereis as a local read, calls through otp::global_name, names dropped on exit
// and when a node leaves, anti-entropy on link up (a node that joins later), conflicts after a
// partition (each side registered the name while they were apart), a link closed for overload,
// name monitors and the ViaRegistry form.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "otp/distributed.hpp"
#include "otp/testkit/local_cluster.hpp"
#include "support/eventually.hpp"
#include "support/node_test.hpp"

namespace {

using namespace std::chrono_literals;
using otp::testkit::kAwaitTimeout;
using otp::testkit::LocalCluster;
using otp::testkit::LocalClusterOptions;
using otp_test::eventually;

struct Get {};
struct Add {
  int by = 1;
};
void to_json(nlohmann::json& j, const Add& a) {
  j = nlohmann::json{{"by", a.by}};
}
void from_json(const nlohmann::json& j, Add& a) {
  a.by = j.at("by").get<int>();
}
struct Crash {};

class Counter : public otp::GenServer {
 public:
  explicit Counter(int initial) : value_(initial) {}
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Get&) { return otp::reply(value_); },
                   [&](const Add& a) {
                     value_ += a.by;
                     return otp::reply(value_);
                   },
                   [&](const Crash&) -> otp::Action { throw std::runtime_error("crash asked"); });
  }

 private:
  int value_;
};

/// `nodes` nodes of this test: the constructor returns with all of them alive and linked.
LocalClusterOptions options(size_t nodes) {
  return {.nodes = nodes, .cookie = "global-test"};
}

class GlobalRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    otp::register_remote_type<Get>("global_test.get");
    otp::register_remote_type<Add>("global_test.add");
    otp::register_remote_type<Crash>("global_test.crash");
  }
};

TEST_F(GlobalRegistryTest, ARegistrationIsSeenAndCalledFromEveryNode) {
  LocalCluster c(options(3));
  auto pid = otp::gen_server::start<Counter>(c.node(0), otp::name(otp::global_name("counter")), 5);
  ASSERT_TRUE(pid) << pid.error();
  c.await_global_name("counter", 0);
  for (size_t i = 0; i < 3; ++i) {
    auto v = otp::gen_server::call<int>(c.node(i), otp::global_name("counter"), Add{1});
    ASSERT_TRUE(v) << c.name(i) << ": " << v.error();
  }
  EXPECT_EQ(otp::gen_server::call<int>(c.node(2), otp::global_name("counter"), Get{}).value(), 8);
  EXPECT_EQ(otp::global::registered_names(c.node(1)), std::vector<std::string>{"counter"});
  // The same registry through otp::via.
  auto via = otp::via(otp::global::registry(c.node(1)), "counter");
  EXPECT_EQ(otp::gen_server::call<int>(c.node(1), via, Get{}).value(), 8);
}

TEST_F(GlobalRegistryTest, ATakenNameFailsWithAlreadyRegisteredNamingTheOwnerAndItsNode) {
  LocalCluster c(options(3));
  otp::Node& a = c.node(0);
  otp::Node& b = c.node(1);
  otp::Inbox holder(a);
  ASSERT_TRUE(otp::global::register_name(a, "db", holder.pid(), R"({"zone":"eu"})"));
  c.await_global_name("db", 0);
  otp::Inbox other(b);
  auto r = otp::global::register_name(b, "db", other.pid());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::already_registered);
  EXPECT_NE(r.error().context().find(c.name(0)), std::string::npos) << r.error();
  // start_link with the taken name: OTP's already_started.
  auto s = otp::gen_server::start<Counter>(b, otp::name(otp::global_name("db")), 0);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), otp::ErrorCode::already_started);
  // Metadata travels with the name; only the owner's node changes it.
  auto owner = otp::global::lookup(b, "db");
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->metadata, R"({"zone":"eu"})");
  EXPECT_EQ(otp::global::update_metadata(b, "db", "{}").code(), otp::ErrorCode::not_owner);
  EXPECT_EQ(otp::global::unregister_name(b, "db").code(), otp::ErrorCode::not_owner);
  ASSERT_TRUE(otp::global::update_metadata(a, "db", R"({"zone":"us"})"));
  // (A metadata change is no event of monitor_names, which wakes the kit's awaits: polled.)
  ASSERT_TRUE(eventually(
      [&] {
        auto o = otp::global::lookup(c.node(2), "db");
        return o && o->metadata == R"({"zone":"us"})";
      },
      kAwaitTimeout));
  // Another node's pid can not be registered here.
  EXPECT_EQ(otp::global::register_name(b, "x", holder.pid()).code(), otp::ErrorCode::badarg);
}

TEST_F(GlobalRegistryTest, ANameGoesAwayEverywhereOnExitAndOnUnregister) {
  LocalCluster c(options(3));
  otp::Node& b = c.node(1);
  {
    otp::Inbox holder(b);
    ASSERT_TRUE(otp::global::register_name(b, "temp", holder.pid()));
    ASSERT_TRUE(otp::global::register_name(b, "temp2", holder.pid()));
    c.await_global_name("temp", 1);
    c.await_global_name("temp2", 1);
  }  // the inbox exits
  c.await_global_name_free("temp");
  c.await_global_name_free("temp2");

  otp::Inbox holder(b);
  ASSERT_TRUE(otp::global::register_name(b, "kept", holder.pid()));
  c.await_global_name("kept", 1);
  ASSERT_TRUE(otp::global::unregister_name(b, "kept"));
  c.await_global_name_free("kept");
  EXPECT_EQ(otp::global::unregister_name(b, "kept").code(), otp::ErrorCode::not_found);
  // Free again: anyone may take it.
  otp::Inbox next(c.node(2));
  EXPECT_TRUE(otp::global::register_name(c.node(2), "kept", next.pid()));
}

TEST_F(GlobalRegistryTest, ACallToANameWithNoOwnerFailsAtOnceWithNoprocNamingIt) {
  LocalCluster c(options(3));
  auto r = otp::gen_server::call<int>(c.node(0), otp::global_name("nobody"), Get{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::noproc);
  EXPECT_NE(r.error().context().find("{global, nobody}"), std::string::npos) << r.error();
}

TEST_F(GlobalRegistryTest, ANodeThatStopsTakesItsNamesAwayEverywhere) {
  LocalCluster c(options(3));
  otp::Inbox holder(c.node(2));
  ASSERT_TRUE(otp::global::register_name(c.node(2), "on_c", holder.pid()));
  c.await_global_name("on_c", 2);
  c.stop(2);  // Cluster::stop(): n3 leaves, its links close; its holder still runs
  c.await_global_name_free("on_c");  // on n1 and n2
}

TEST_F(GlobalRegistryTest, ANodeThatJoinsLaterGetsEveryNameWithoutReRegistering) {
  // 1000 names with 600 bytes of metadata each, registered on n1 before n2 starts (the kit starts
  // the nodes in order, each after the setup of the one before): the sync goes in several parts.
  const std::string metadata = "\"" + std::string(600, 'm') + "\"";
  LocalClusterOptions o = options(2);
  o.setup = [&](otp::Node& node, size_t i) {
    if (i != 0) return;
    for (int k = 0; k < 1000; ++k) {
      auto holder = otp::gen_server::start<Counter>(node, 0);
      ASSERT_TRUE(holder) << holder.error();
      ASSERT_TRUE(otp::global::register_name(node, "n" + std::to_string(k), *holder, metadata));
    }
  };
  LocalCluster c(std::move(o));
  otp::Node& b = c.node(1);
  c.changes().await(
      [&] { return otp::global::registered_names(b).size() == 1000; }, kAwaitTimeout,
      "1000 names on n2",
      [&] { return std::to_string(otp::global::registered_names(b).size()) + " names on n2"; });
  EXPECT_EQ(otp::global::lookup(b, "n999")->metadata, metadata);
  EXPECT_EQ(otp::distribution::node_of(b, *otp::global::whereis_name(b, "n7")), c.name(0));
}

TEST_F(GlobalRegistryTest, AConflictAfterAPartitionKeepsOneOwnerAndStopsTheLoser) {
  // n1 and n2 are apart (a partition): each registers "leader", then the partition heals.
  LocalCluster c(options(2));
  c.partition({{0}, {1}});
  c.await_members(1);  // each sees itself alone
  otp::Inbox watch_a(c.node(0));
  otp::global::monitor_names(c.node(0), watch_a.pid());
  otp::Inbox on_a(c.node(0));
  otp::Inbox on_b(c.node(1));
  ASSERT_TRUE(otp::global::register_name(c.node(0), "leader", on_a.pid()));
  ASSERT_TRUE(otp::global::register_name(c.node(1), "leader", on_b.pid()));
  c.heal();
  // Both nodes settle on the same owner, without a round of messages to agree.
  const size_t winner_node = c.await_global_name("leader");
  const bool a_won = winner_node == 0;
  otp::Inbox& winner = a_won ? on_a : on_b;
  otp::Inbox& loser = a_won ? on_b : on_a;
  // The loser was told, then stopped with {shutdown, name_conflict}; the winner runs on.
  auto told = loser.receive_as<otp::NameConflict>(kAwaitTimeout);
  ASSERT_TRUE(told);
  EXPECT_EQ(told->name, "leader");
  EXPECT_EQ(otp::distribution::node_of(c.node(a_won ? 1 : 0), told->winner), c.name(winner_node));
  EXPECT_TRUE(eventually([&] { return !otp::alive(loser.pid()); }, kAwaitTimeout));
  EXPECT_TRUE(otp::alive(winner.pid()));
  // a's replica reported the conflict.
  bool conflict = false;
  while (auto e = watch_a.receive_as<otp::GlobalEvent>(kAwaitTimeout)) {
    if (e->kind == otp::GlobalEvent::Kind::conflict && e->name == "leader") {
      conflict = true;
      break;
    }
  }
  EXPECT_TRUE(conflict);
}

TEST_F(GlobalRegistryTest, AMonitorOfANameIsToldWhenItGetsAndLosesAnOwner) {
  LocalCluster c(options(3));
  otp::Node& a = c.node(0);
  otp::Node& on_c = c.node(2);
  otp::Inbox watcher(on_c);
  otp::Ref ref = otp::global::monitor_name(on_c, watcher.pid(), "svc");
  ASSERT_TRUE(ref);
  auto now = watcher.receive_as<otp::GlobalNameChanged>(kAwaitTimeout);  // the current state
  ASSERT_TRUE(now);
  EXPECT_FALSE(now->owner);
  {
    otp::Inbox holder(a);
    ASSERT_TRUE(otp::global::register_name(a, "svc", holder.pid(), "m"));
    auto got = watcher.receive_as<otp::GlobalNameChanged>(kAwaitTimeout);
    ASSERT_TRUE(got);
    ASSERT_TRUE(got->owner);
    EXPECT_EQ(otp::distribution::node_of(on_c, *got->owner), c.name(0));
    EXPECT_EQ(got->metadata, "m");
  }
  auto lost = watcher.receive_as<otp::GlobalNameChanged>(kAwaitTimeout);
  ASSERT_TRUE(lost);
  EXPECT_FALSE(lost->owner);
  otp::global::demonitor_name(on_c, ref);
  otp::Inbox again(a);
  ASSERT_TRUE(otp::global::register_name(a, "svc", again.pid()));
  c.await_global_name("svc", 0);
  EXPECT_FALSE(watcher.receive_as<otp::GlobalNameChanged>(200ms));
}

TEST_F(GlobalRegistryTest, ASupervisedServerGetsItsNameBackAfterACrash) {
  LocalCluster c(options(3));
  otp::Node& b = c.node(1);
  auto spec = otp::worker<Counter>("counter", 0).named(otp::global_name("sup_counter"));
  auto sup = otp::supervisor::start_link(b, {spec}, {});
  ASSERT_TRUE(sup) << sup.error();
  c.await_global_name("sup_counter", 1);
  auto at = [&](size_t i) { return otp::global::whereis_name(c.node(i), "sup_counter"); };
  std::vector<std::optional<otp::Pid>> before;
  for (size_t i = 0; i < 3; ++i) before.push_back(at(i));
  auto crashed = otp::gen_server::call<int>(c.node(0), otp::global_name("sup_counter"), Crash{});
  EXPECT_FALSE(crashed);
  // Every node sees the restarted server (a new pid) under the name.
  c.changes().await(
      [&] {
        for (size_t i = 0; i < 3; ++i) {
          if (!at(i) || at(i) == before[i]) return false;
        }
        return true;
      },
      kAwaitTimeout, "a new sup_counter seen on every node",
      [&] {
        std::string seen;
        for (size_t i = 0; i < 3; ++i) {
          seen += c.name(i) + (!at(i)               ? " sees none "
                               : at(i) == before[i] ? " sees the old "
                                                    : " sees a new ");
        }
        return seen;
      });
  for (size_t i = 0; i < 3; ++i) {
    auto r = otp::gen_server::call<int>(c.node(i), otp::global_name("sup_counter"), Get{});
    EXPECT_TRUE(r) << c.name(i) << ": " << r.error();
  }
}

TEST_F(GlobalRegistryTest, ANodeThatIsNotDistributedSaysSo) {
  otp::Node plain(otp_test::node_options("plain", 1));
  otp::Inbox inbox(plain);
  auto r = otp::global::register_name(plain, "x", inbox.pid());
  EXPECT_EQ(r.code(), otp::ErrorCode::noproc);
  EXPECT_FALSE(otp::global::whereis_name(plain, "x"));
  EXPECT_EQ(otp::gen_server::call<int>(plain, otp::global_name("x"), Get{}).code(),
            otp::ErrorCode::noproc);
}

TEST_F(GlobalRegistryTest, MonitorAndLinkTakeAGlobalName) {
  LocalCluster c(options(3));
  otp::Node& a = c.node(0);
  otp::Node& on_c = c.node(2);
  auto server = otp::gen_server::start<Counter>(a, otp::name(otp::global_name("watched")), 0);
  ASSERT_TRUE(server) << server.error();
  c.await_global_name("watched", 0);
  otp::Inbox watcher(on_c);
  otp::Ref ref = watcher.monitor(otp::global_name("watched"));
  watcher.link(otp::global_name("watched"));
  // A call on the same link, after the monitor and the link: both are in place when it returns.
  ASSERT_TRUE(otp::gen_server::call<int>(on_c, otp::global_name("watched"), Get{}));
  ASSERT_TRUE(otp::gen_server::stop(a, *server, otp::Reason::shutdown("done")));
  auto down = watcher.receive_as<otp::Down>(kAwaitTimeout);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->ref, ref);
  EXPECT_EQ(otp::distribution::node_of(on_c, down->pid), c.name(0));
  EXPECT_EQ(down->reason, otp::Reason::shutdown("done"));
  auto exited = watcher.receive_as<otp::ExitSignal>(kAwaitTimeout);  // an inbox traps exits
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->reason, otp::Reason::shutdown("done"));
  // A name with no owner: Down(noproc) at once, and an exit signal noproc for the link.
  c.await_global_name_free("watched");
  watcher.monitor(otp::global_name("watched"));
  auto none = watcher.receive_as<otp::Down>(kAwaitTimeout);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->reason.kind(), otp::Reason::Kind::noproc);
  watcher.link(otp::global_name("watched"));
  auto signal = watcher.receive_as<otp::ExitSignal>(kAwaitTimeout);
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->reason.kind(), otp::Reason::Kind::noproc);
}

TEST_F(GlobalRegistryTest, TheLosersSupervisorStaysUpAndDoesNotRestartIt) {
  // Both sides of a partition run the same supervised, permanent, globally named child, with no
  // restart allowed (intensity 0): the loser's supervisor must neither restart it nor die.
  LocalCluster c(options(2));
  c.partition({{0}, {1}});
  c.await_members(1);  // each sees itself alone
  const otp::SupervisorOptions strict{.max_restarts = 0};
  auto spec = otp::worker<Counter>("counter", 0).named(otp::global_name("singleton"));
  auto sup_a = otp::supervisor::start_link(c.node(0), {spec}, strict);
  auto sup_b = otp::supervisor::start_link(c.node(1), {spec}, strict);
  ASSERT_TRUE(sup_a) << sup_a.error();
  ASSERT_TRUE(sup_b) << sup_b.error();
  c.heal();
  const bool a_won = c.await_global_name("singleton") == 0;
  otp::Node& loser_node = c.node(a_won ? 1 : 0);
  const otp::Pid loser_sup = a_won ? *sup_b : *sup_a;
  // The loser's child is left not running; its supervisor is alive; the name stays the winner's.
  ASSERT_TRUE(eventually(
      [&] {
        auto children = otp::supervisor::which_children(loser_node, loser_sup);
        return children && children->size() == 1 && !children->front().pid;
      },
      kAwaitTimeout));
  EXPECT_TRUE(otp::alive(loser_sup));
  EXPECT_TRUE(otp::alive(a_won ? *sup_a : *sup_b));
  EXPECT_TRUE(otp::gen_server::call<int>(loser_node, otp::global_name("singleton"), Get{}));
  // restart_child while the winner holds the name: already_started, and the supervisor stays.
  auto again = otp::supervisor::restart_child(loser_node, loser_sup, "counter");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.code(), otp::ErrorCode::already_started);
  EXPECT_TRUE(otp::alive(loser_sup));
}

// whereis keeps what it resolved per thread while the table does not change: every change must
// show at once on the node that made it, and each node's registry answers for itself.
TEST_F(GlobalRegistryTest, WhereisShowsEachChangeAtOnceAndEachNodeItsOwnTable) {
  LocalCluster c(options(2));
  c.partition({{0}, {1}});
  c.await_members(1);  // apart: each holds its own "solo"
  otp::Node& a = c.node(0);
  otp::Node& b = c.node(1);
  otp::Inbox first(a), second(a), on_b(b);
  ASSERT_TRUE(otp::global::register_name(a, "solo", first.pid()));
  ASSERT_TRUE(otp::global::register_name(b, "solo", on_b.pid()));
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(otp::global::whereis_name(a, "solo"), first.pid());
    EXPECT_EQ(otp::global::whereis_name(b, "solo"), on_b.pid());
  }
  ASSERT_TRUE(otp::global::unregister_name(a, "solo"));
  EXPECT_FALSE(otp::global::whereis_name(a, "solo"));
  ASSERT_TRUE(otp::global::register_name(a, "solo", second.pid()));
  EXPECT_EQ(otp::global::whereis_name(a, "solo"), second.pid());
  EXPECT_EQ(otp::global::whereis_name(b, "solo"), on_b.pid());
  // Another name changing invalidates nothing it should not.
  ASSERT_TRUE(otp::global::register_name(a, "other", first.pid()));
  EXPECT_EQ(otp::global::whereis_name(a, "solo"), second.pid());
}

// An update that a link refuses (the peer this far behind: here a 1 KiB bound, in production
// 64 MiB) would leave the peer's replica behind for good; the link is closed instead, made anew
// by the dialer, and the new link's sync brings every name over.
TEST_F(GlobalRegistryTest, AnUpdateRefusedByAnOverloadedLinkClosesItAndTheNewLinkResyncs) {
  LocalClusterOptions o = options(2);
  o.configure = [](otp::cluster::ClusterOptions& config, size_t i) {
    if (i == 0) config.transport.max_queue_bytes = 1024;  // n1, the dialer of the pair
  };
  LocalCluster c(std::move(o));
  otp::Node& a = c.node(0);
  otp::Node& b = c.node(1);
  otp::Inbox downs(a);
  otp::distribution::monitor_nodes(a, downs.pid());
  otp::Inbox holder(a);
  const std::string metadata = "\"" + std::string(600, 'm') + "\"";  // over half the bound
  constexpr int kNames = 200;
  for (int i = 0; i < kNames; ++i)
    ASSERT_TRUE(otp::global::register_name(a, "q" + std::to_string(i), holder.pid(), metadata));
  bool closed_for_overload = false;
  while (auto e = downs.receive_as<otp::NodeDown>(kAwaitTimeout)) {
    if (e->reason.find("overload") != std::string::npos) {
      closed_for_overload = true;
      break;
    }
  }
  EXPECT_TRUE(closed_for_overload) << "no update was refused: the test proves nothing";
  const bool resynced = c.changes().wait_for(
      [&] { return otp::global::registered_names(b).size() == static_cast<size_t>(kNames); },
      kAwaitTimeout);
  EXPECT_TRUE(resynced) << otp::global::registered_names(b).size() << " of " << kNames
                        << " names on n2";
  EXPECT_EQ(otp::global::lookup(b, "q" + std::to_string(kNames - 1))->metadata, metadata);
}

TEST_F(GlobalRegistryTest, ANameAndMetadataOver64KiBAreRefused) {
  LocalCluster c(options(1));
  otp::Node& a = c.node(0);
  otp::Inbox holder(a);
  auto r = otp::global::register_name(a, "big", holder.pid(), std::string(70'000, 'x'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::badarg);
  EXPECT_NE(r.error().context().find("at most 65536"), std::string::npos) << r.error();
  ASSERT_TRUE(otp::global::register_name(a, "big", holder.pid(), "{}"));
  EXPECT_EQ(otp::global::update_metadata(a, "big", std::string(70'000, 'x')).code(),
            otp::ErrorCode::badarg);
}

}  // namespace
