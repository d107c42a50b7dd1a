// Global names across nodes inside this test process: three (or more) Nodes, each with its own
// Cluster on a loopback port, linked with connect(). The registry's whole path runs: a register
// replicated over the links, whereis as a local read, calls through otp::global_name, names
// dropped on exit and nodedown, anti-entropy on link up, conflicts after a "partition" (nodes
// that registered before they were linked), name monitors and the ViaRegistry form.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "otp/cluster/cluster.hpp"
#include "otp/distributed.hpp"
#include "support/eventually.hpp"
#include "support/node_test.hpp"
#include "support/time_scale.hpp"

namespace {

using namespace std::chrono_literals;
using otp_test::eventually;

constexpr auto kWait = 10s;

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

/// One node of the test cluster.
struct TestNode {
  /// max_queue_bytes: the transport's bound per link (0: its default).
  explicit TestNode(const std::string& name, size_t max_queue_bytes = 0)
      : node(otp_test::node_options("global_" + name, 2)), name(name) {
    otp::cluster::ClusterOptions config{.name = name, .cookie = "global-test"};
    config.transport.log = [](std::string_view, std::string_view) {};
    if (max_queue_bytes > 0) config.transport.max_queue_bytes = max_queue_bytes;
    auto c = otp::cluster::Cluster::start(node, config);
    if (!c) throw std::runtime_error(c.error().to_string());
    cluster = std::move(*c);
  }
  ~TestNode() { cluster->stop(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(cluster->port()); }
  std::string full_name() const { return cluster->self().full_name(); }

  otp::Node node;
  std::string name;
  std::unique_ptr<otp::cluster::Cluster> cluster;
};

class GlobalRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    otp::register_remote_type<Get>("global_test.get");
    otp::register_remote_type<Add>("global_test.add");
    otp::register_remote_type<Crash>("global_test.crash");
  }

  TestNode& add_node(const std::string& name, size_t max_queue_bytes = 0) {
    nodes.push_back(std::make_unique<TestNode>(name, max_queue_bytes));
    return *nodes.back();
  }
  /// Links a and b and waits until each sees the other.
  void link(TestNode& a, TestNode& b) {
    ASSERT_TRUE(a.cluster->connect(b.address()));
    ASSERT_TRUE(eventually(
        [&] {
          auto an = a.cluster->nodes();
          auto bn = b.cluster->nodes();
          return std::find(an.begin(), an.end(), b.full_name()) != an.end() &&
                 std::find(bn.begin(), bn.end(), a.full_name()) != bn.end();
        },
        kWait))
        << a.name << " and " << b.name << " did not link";
  }
  void start_three() {
    for (const char* n : {"a", "b", "c"}) add_node(n);
    link(*nodes[0], *nodes[1]);
    link(*nodes[0], *nodes[2]);
    link(*nodes[1], *nodes[2]);
  }
  /// Waits until every node's replica shows `name` owned by a process of `owner_node` (or, with
  /// owner_node empty, not at all).
  bool visible_everywhere(const std::string& name, const std::string& owner_node) {
    return eventually(
        [&] {
          for (auto& n : nodes) {
            auto pid = otp::global::whereis_name(n->node, name);
            if (owner_node.empty()
                    ? pid.has_value()
                    : !pid || otp::distribution::node_of(n->node, *pid) != owner_node)
              return false;
          }
          return true;
        },
        kWait);
  }

  /// Waits until a and b show `name` held by a process of the same node; that node ("" if they
  /// did not agree before the deadline).
  std::string agreed_owner(TestNode& a, TestNode& b, const std::string& name) {
    std::string owner;
    const bool agreed = eventually(
        [&] {
          auto at_a = otp::global::whereis_name(a.node, name);
          auto at_b = otp::global::whereis_name(b.node, name);
          if (!at_a || !at_b) return false;
          owner = otp::distribution::node_of(a.node, *at_a);
          return owner == otp::distribution::node_of(b.node, *at_b);
        },
        kWait);
    return agreed ? owner : "";
  }

  std::vector<std::unique_ptr<TestNode>> nodes;
};

TEST_F(GlobalRegistryTest, ARegistrationIsSeenAndCalledFromEveryNode) {
  start_three();
  TestNode& a = *nodes[0];
  auto pid = otp::gen_server::start<Counter>(a.node, otp::name(otp::global_name("counter")), 5);
  ASSERT_TRUE(pid) << pid.error();
  ASSERT_TRUE(visible_everywhere("counter", a.full_name()));
  for (auto& n : nodes) {
    auto v = otp::gen_server::call<int>(n->node, otp::global_name("counter"), Add{1});
    ASSERT_TRUE(v) << n->name << ": " << v.error();
  }
  EXPECT_EQ(otp::gen_server::call<int>(nodes[2]->node, otp::global_name("counter"), Get{}).value(),
            8);
  EXPECT_EQ(otp::global::registered_names(nodes[1]->node), std::vector<std::string>{"counter"});
  // The same registry through otp::via.
  auto via = otp::via(otp::global::registry(nodes[1]->node), "counter");
  EXPECT_EQ(otp::gen_server::call<int>(nodes[1]->node, via, Get{}).value(), 8);
}

TEST_F(GlobalRegistryTest, ATakenNameFailsWithAlreadyRegisteredNamingTheOwnerAndItsNode) {
  start_three();
  TestNode& a = *nodes[0];
  TestNode& b = *nodes[1];
  otp::Inbox holder(a.node);
  ASSERT_TRUE(otp::global::register_name(a.node, "db", holder.pid(), R"({"zone":"eu"})"));
  ASSERT_TRUE(visible_everywhere("db", a.full_name()));
  otp::Inbox other(b.node);
  auto r = otp::global::register_name(b.node, "db", other.pid());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::already_registered);
  EXPECT_NE(r.error().context().find(a.full_name()), std::string::npos) << r.error();
  // start_link with the taken name: OTP's already_started.
  auto s = otp::gen_server::start<Counter>(b.node, otp::name(otp::global_name("db")), 0);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), otp::ErrorCode::already_started);
  // Metadata travels with the name; only the owner's node changes it.
  auto owner = otp::global::lookup(b.node, "db");
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->metadata, R"({"zone":"eu"})");
  EXPECT_EQ(otp::global::update_metadata(b.node, "db", "{}").code(), otp::ErrorCode::not_owner);
  EXPECT_EQ(otp::global::unregister_name(b.node, "db").code(), otp::ErrorCode::not_owner);
  ASSERT_TRUE(otp::global::update_metadata(a.node, "db", R"({"zone":"us"})"));
  ASSERT_TRUE(eventually(
      [&] {
        auto o = otp::global::lookup(nodes[2]->node, "db");
        return o && o->metadata == R"({"zone":"us"})";
      },
      kWait));
  // Another node's pid can not be registered here.
  EXPECT_EQ(otp::global::register_name(b.node, "x", holder.pid()).code(), otp::ErrorCode::badarg);
}

TEST_F(GlobalRegistryTest, ANameGoesAwayEverywhereOnExitAndOnUnregister) {
  start_three();
  TestNode& b = *nodes[1];
  {
    otp::Inbox holder(b.node);
    ASSERT_TRUE(otp::global::register_name(b.node, "temp", holder.pid()));
    ASSERT_TRUE(otp::global::register_name(b.node, "temp2", holder.pid()));
    ASSERT_TRUE(visible_everywhere("temp", b.full_name()));
    ASSERT_TRUE(visible_everywhere("temp2", b.full_name()));
  }  // the inbox exits
  EXPECT_TRUE(visible_everywhere("temp", ""));
  EXPECT_TRUE(visible_everywhere("temp2", ""));

  otp::Inbox holder(b.node);
  ASSERT_TRUE(otp::global::register_name(b.node, "kept", holder.pid()));
  ASSERT_TRUE(visible_everywhere("kept", b.full_name()));
  ASSERT_TRUE(otp::global::unregister_name(b.node, "kept"));
  EXPECT_TRUE(visible_everywhere("kept", ""));
  EXPECT_EQ(otp::global::unregister_name(b.node, "kept").code(), otp::ErrorCode::not_found);
  // Free again: anyone may take it.
  otp::Inbox next(nodes[2]->node);
  EXPECT_TRUE(otp::global::register_name(nodes[2]->node, "kept", next.pid()));
}

TEST_F(GlobalRegistryTest, ACallToANameWithNoOwnerFailsAtOnceWithNoprocNamingIt) {
  start_three();
  auto r = otp::gen_server::call<int>(nodes[0]->node, otp::global_name("nobody"), Get{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::noproc);
  EXPECT_NE(r.error().context().find("{global, nobody}"), std::string::npos) << r.error();
}

TEST_F(GlobalRegistryTest, ANodeThatStopsTakesItsNamesAwayEverywhere) {
  start_three();
  TestNode& c = *nodes[2];
  otp::Inbox holder(c.node);
  ASSERT_TRUE(otp::global::register_name(c.node, "on_c", holder.pid()));
  ASSERT_TRUE(visible_everywhere("on_c", c.full_name()));
  c.cluster->stop();
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(
        eventually([&] { return !otp::global::whereis_name(nodes[i]->node, "on_c"); }, kWait))
        << nodes[i]->name;
  }
}

TEST_F(GlobalRegistryTest, ANodeThatJoinsLaterGetsEveryNameWithoutReRegistering) {
  TestNode& a = add_node("a");
  std::vector<std::unique_ptr<otp::Inbox>> holders;
  // 1000 names with 600 bytes of metadata each: the sync goes in several parts.
  const std::string metadata = "\"" + std::string(600, 'm') + "\"";
  for (int i = 0; i < 1000; ++i) {
    holders.push_back(std::make_unique<otp::Inbox>(a.node));
    ASSERT_TRUE(otp::global::register_name(a.node, "n" + std::to_string(i), holders.back()->pid(),
                                           metadata));
  }
  TestNode& b = add_node("b");
  link(a, b);
  ASSERT_TRUE(
      eventually([&] { return otp::global::registered_names(b.node).size() == 1000; }, kWait));
  EXPECT_EQ(otp::global::lookup(b.node, "n999")->metadata, metadata);
  EXPECT_EQ(otp::distribution::node_of(b.node, *otp::global::whereis_name(b.node, "n7")),
            a.full_name());
}

TEST_F(GlobalRegistryTest, AConflictAfterAPartitionKeepsOneOwnerAndStopsTheLoser) {
  // a and b are not linked (a partition): each registers "leader", then they link.
  TestNode& a = add_node("a");
  TestNode& b = add_node("b");
  otp::Inbox watch_a(a.node);
  otp::global::monitor_names(a.node, watch_a.pid());
  otp::Inbox on_a(a.node);
  otp::Inbox on_b(b.node);
  ASSERT_TRUE(otp::global::register_name(a.node, "leader", on_a.pid()));
  ASSERT_TRUE(otp::global::register_name(b.node, "leader", on_b.pid()));
  link(a, b);
  // Both nodes settle on the same owner, without a round of messages to agree.
  const std::string owner = agreed_owner(a, b, "leader");
  ASSERT_FALSE(owner.empty()) << "a and b did not agree on one owner of leader";
  const bool a_won = owner == a.full_name();
  otp::Inbox& winner = a_won ? on_a : on_b;
  otp::Inbox& loser = a_won ? on_b : on_a;
  TestNode& winner_node = a_won ? a : b;
  ASSERT_TRUE(visible_everywhere("leader", winner_node.full_name()));
  // The loser was told, then stopped with {shutdown, name_conflict}; the winner runs on.
  auto told = loser.receive_as<otp::NameConflict>(kWait);
  ASSERT_TRUE(told);
  EXPECT_EQ(told->name, "leader");
  EXPECT_EQ(otp::distribution::node_of(a_won ? b.node : a.node, told->winner),
            winner_node.full_name());
  EXPECT_TRUE(eventually([&] { return !otp::alive(loser.pid()); }, kWait));
  EXPECT_TRUE(otp::alive(winner.pid()));
  // a's replica reported the conflict.
  bool conflict = false;
  while (auto e = watch_a.receive_as<otp::GlobalEvent>(kWait)) {
    if (e->kind == otp::GlobalEvent::Kind::conflict && e->name == "leader") {
      conflict = true;
      break;
    }
  }
  EXPECT_TRUE(conflict);
}

TEST_F(GlobalRegistryTest, AMonitorOfANameIsToldWhenItGetsAndLosesAnOwner) {
  start_three();
  TestNode& a = *nodes[0];
  TestNode& c = *nodes[2];
  otp::Inbox watcher(c.node);
  otp::Ref ref = otp::global::monitor_name(c.node, watcher.pid(), "svc");
  ASSERT_TRUE(ref);
  auto now = watcher.receive_as<otp::GlobalNameChanged>(kWait);  // the current state at once
  ASSERT_TRUE(now);
  EXPECT_FALSE(now->owner);
  {
    otp::Inbox holder(a.node);
    ASSERT_TRUE(otp::global::register_name(a.node, "svc", holder.pid(), "m"));
    auto got = watcher.receive_as<otp::GlobalNameChanged>(kWait);
    ASSERT_TRUE(got);
    ASSERT_TRUE(got->owner);
    EXPECT_EQ(otp::distribution::node_of(c.node, *got->owner), a.full_name());
    EXPECT_EQ(got->metadata, "m");
  }
  auto lost = watcher.receive_as<otp::GlobalNameChanged>(kWait);
  ASSERT_TRUE(lost);
  EXPECT_FALSE(lost->owner);
  otp::global::demonitor_name(c.node, ref);
  otp::Inbox again(a.node);
  ASSERT_TRUE(otp::global::register_name(a.node, "svc", again.pid()));
  ASSERT_TRUE(visible_everywhere("svc", a.full_name()));
  EXPECT_FALSE(watcher.receive_as<otp::GlobalNameChanged>(200ms));
}

TEST_F(GlobalRegistryTest, ASupervisedServerGetsItsNameBackAfterACrash) {
  start_three();
  TestNode& b = *nodes[1];
  auto spec = otp::worker<Counter>("counter", 0).named(otp::global_name("sup_counter"));
  auto sup = otp::supervisor::start_link(b.node, {spec}, {});
  ASSERT_TRUE(sup) << sup.error();
  ASSERT_TRUE(visible_everywhere("sup_counter", b.full_name()));
  std::vector<std::optional<otp::Pid>> before;
  for (auto& n : nodes) before.push_back(otp::global::whereis_name(n->node, "sup_counter"));
  auto crashed =
      otp::gen_server::call<int>(nodes[0]->node, otp::global_name("sup_counter"), Crash{});
  EXPECT_FALSE(crashed);
  // Every node sees the restarted server (a new pid) under the name.
  for (size_t i = 0; i < nodes.size(); ++i) {
    ASSERT_TRUE(eventually(
        [&] {
          auto now = otp::global::whereis_name(nodes[i]->node, "sup_counter");
          return now && now != before[i];
        },
        kWait))
        << nodes[i]->name;
  }
  for (auto& n : nodes) {
    auto r = otp::gen_server::call<int>(n->node, otp::global_name("sup_counter"), Get{});
    EXPECT_TRUE(r) << n->name << ": " << r.error();
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

}  // namespace

namespace {

TEST_F(GlobalRegistryTest, MonitorAndLinkTakeAGlobalName) {
  start_three();
  TestNode& a = *nodes[0];
  TestNode& c = *nodes[2];
  auto server = otp::gen_server::start<Counter>(a.node, otp::name(otp::global_name("watched")), 0);
  ASSERT_TRUE(server) << server.error();
  ASSERT_TRUE(visible_everywhere("watched", a.full_name()));
  otp::Inbox watcher(c.node);
  otp::Ref ref = watcher.monitor(otp::global_name("watched"));
  watcher.link(otp::global_name("watched"));
  // A call on the same link, after the monitor and the link: both are in place when it returns.
  ASSERT_TRUE(otp::gen_server::call<int>(c.node, otp::global_name("watched"), Get{}));
  ASSERT_TRUE(otp::gen_server::stop(a.node, *server, otp::Reason::shutdown("done")));
  auto down = watcher.receive_as<otp::Down>(kWait);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->ref, ref);
  EXPECT_EQ(otp::distribution::node_of(c.node, down->pid), a.full_name());
  EXPECT_EQ(down->reason, otp::Reason::shutdown("done"));
  auto exited = watcher.receive_as<otp::ExitSignal>(kWait);  // the link (an inbox traps exits)
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->reason, otp::Reason::shutdown("done"));
  // A name with no owner: Down(noproc) at once, and an exit signal noproc for the link.
  ASSERT_TRUE(visible_everywhere("watched", ""));
  watcher.monitor(otp::global_name("watched"));
  auto none = watcher.receive_as<otp::Down>(kWait);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->reason.kind(), otp::Reason::Kind::noproc);
  watcher.link(otp::global_name("watched"));
  auto signal = watcher.receive_as<otp::ExitSignal>(kWait);
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->reason.kind(), otp::Reason::Kind::noproc);
}

}  // namespace

namespace {

TEST_F(GlobalRegistryTest, TheLosersSupervisorStaysUpAndDoesNotRestartIt) {
  // Both sides of a "partition" run the same supervised, permanent, globally named child, with
  // no restart allowed (intensity 0): the loser's supervisor must neither restart it nor die.
  TestNode& a = add_node("a");
  TestNode& b = add_node("b");
  const otp::SupervisorOptions strict{.max_restarts = 0};
  auto spec = otp::worker<Counter>("counter", 0).named(otp::global_name("singleton"));
  auto sup_a = otp::supervisor::start_link(a.node, {spec}, strict);
  auto sup_b = otp::supervisor::start_link(b.node, {spec}, strict);
  ASSERT_TRUE(sup_a) << sup_a.error();
  ASSERT_TRUE(sup_b) << sup_b.error();
  link(a, b);
  const std::string owner = agreed_owner(a, b, "singleton");
  ASSERT_FALSE(owner.empty()) << "a and b did not agree on one owner of singleton";
  const bool a_won = owner == a.full_name();
  TestNode& loser_node = a_won ? b : a;
  const otp::Pid loser_sup = a_won ? *sup_b : *sup_a;
  // The loser's child is left not running; its supervisor is alive; the name stays the winner's.
  ASSERT_TRUE(eventually(
      [&] {
        auto children = otp::supervisor::which_children(loser_node.node, loser_sup);
        return children && children->size() == 1 && !children->front().pid;
      },
      kWait));
  EXPECT_TRUE(otp::alive(loser_sup));
  EXPECT_TRUE(otp::alive(a_won ? *sup_a : *sup_b));
  EXPECT_TRUE(otp::gen_server::call<int>(loser_node.node, otp::global_name("singleton"), Get{}));
  // restart_child while the winner holds the name: already_started, and the supervisor stays.
  auto again = otp::supervisor::restart_child(loser_node.node, loser_sup, "counter");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.code(), otp::ErrorCode::already_started);
  EXPECT_TRUE(otp::alive(loser_sup));
}

}  // namespace

// whereis keeps what it resolved per thread while the table does not change: every change must
// show at once on the node that made it, and each node's registry answers for itself.
TEST_F(GlobalRegistryTest, WhereisShowsEachChangeAtOnceAndEachNodeItsOwnTable) {
  TestNode& a = add_node("a");
  TestNode& b = add_node("b");  // not linked: each holds its own "solo"
  otp::Inbox first(a.node), second(a.node), on_b(b.node);
  ASSERT_TRUE(otp::global::register_name(a.node, "solo", first.pid()));
  ASSERT_TRUE(otp::global::register_name(b.node, "solo", on_b.pid()));
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(otp::global::whereis_name(a.node, "solo"), first.pid());
    EXPECT_EQ(otp::global::whereis_name(b.node, "solo"), on_b.pid());
  }
  ASSERT_TRUE(otp::global::unregister_name(a.node, "solo"));
  EXPECT_FALSE(otp::global::whereis_name(a.node, "solo"));
  ASSERT_TRUE(otp::global::register_name(a.node, "solo", second.pid()));
  EXPECT_EQ(otp::global::whereis_name(a.node, "solo"), second.pid());
  EXPECT_EQ(otp::global::whereis_name(b.node, "solo"), on_b.pid());
  // Another name changing invalidates nothing it should not.
  ASSERT_TRUE(otp::global::register_name(a.node, "other", first.pid()));
  EXPECT_EQ(otp::global::whereis_name(a.node, "solo"), second.pid());
}

// An update that a link refuses (the peer this far behind: here a 1 KiB bound, in production
// 64 MiB) would leave the peer's replica behind for good; the link is closed instead, made anew
// by the dialer, and the new link's sync brings every name over.
TEST_F(GlobalRegistryTest, AnUpdateRefusedByAnOverloadedLinkClosesItAndTheNewLinkResyncs) {
  TestNode& a = add_node("a", 1024);
  TestNode& b = add_node("b");
  link(a, b);
  otp::Inbox downs(a.node);
  otp::distribution::monitor_nodes(a.node, downs.pid());
  otp::Inbox holder(a.node);
  const std::string metadata = "\"" + std::string(600, 'm') + "\"";  // over half the bound
  constexpr int kNames = 200;
  for (int i = 0; i < kNames; ++i)
    ASSERT_TRUE(
        otp::global::register_name(a.node, "q" + std::to_string(i), holder.pid(), metadata));
  bool closed_for_overload = false;
  while (auto e = downs.receive_as<otp::NodeDown>(kWait)) {
    if (e->reason.find("overload") != std::string::npos) {
      closed_for_overload = true;
      break;
    }
  }
  EXPECT_TRUE(closed_for_overload) << "no update was refused: the test proves nothing";
  EXPECT_TRUE(eventually(
      [&] { return otp::global::registered_names(b.node).size() == static_cast<size_t>(kNames); },
      kWait))
      << otp::global::registered_names(b.node).size() << " of " << kNames << " names on b";
  EXPECT_EQ(otp::global::lookup(b.node, "q" + std::to_string(kNames - 1))->metadata, metadata);
}

TEST_F(GlobalRegistryTest, ANameAndMetadataOver64KiBAreRefused) {
  TestNode& a = add_node("a");
  otp::Inbox holder(a.node);
  auto r = otp::global::register_name(a.node, "big", holder.pid(), std::string(70'000, 'x'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::badarg);
  EXPECT_NE(r.error().context().find("at most 65536"), std::string::npos) << r.error();
  ASSERT_TRUE(otp::global::register_name(a.node, "big", holder.pid(), "{}"));
  EXPECT_EQ(otp::global::update_metadata(a.node, "big", std::string(70'000, 'x')).code(),
            otp::ErrorCode::badarg);
}
