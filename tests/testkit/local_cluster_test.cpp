// otp::testkit::LocalCluster: three nodes with gossip inside this process. Each fault (partition,
// heal, drop, slow, kill, stop, restart) does what it says as the nodes see it, and each await
// returns once what it waits for holds, or throws an AwaitError saying what was seen.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "otp/distributed.hpp"
#include "otp/otp.hpp"
#include "otp/testkit/testkit.hpp"

namespace {

using namespace std::chrono_literals;
using otp::testkit::AwaitError;
using otp::testkit::LocalCluster;

/// Answers a call with the int it was given.
struct Echo : otp::GenServer {
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return otp::reply(m.get<int>());
  }
};

/// What node `to`'s echo answers a call from node `from` with value: value, or -1 with a test
/// failure saying why.
int echo(LocalCluster& c, size_t from, size_t to, int value) {
  auto r = otp::gen_server::call<int>(c.node(from), otp::remote_name("echo", c.name(to)), value,
                                      std::chrono::seconds(30));
  if (r) return *r;
  ADD_FAILURE() << c.name(from) << " -> " << c.name(to) << ": " << r.error();
  return -1;
}

/// Every node runs "echo" (a local name), and node 0 holds the global name "svc".
void start_echo(otp::Node& node, size_t i) {
  auto echo = otp::gen_server::start<Echo>(node, otp::name("echo"));
  ASSERT_TRUE(echo) << echo.error();
  if (i == 0) {
    ASSERT_TRUE(otp::global::register_name(node, "svc", *echo));
  }
}

/// What an await's error says.
template <class F>
std::string await_error(F&& f) {
  try {
    f();
  } catch (const AwaitError& e) {
    return e.what();
  }
  return "(no AwaitError)";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

otp::membership::MemberState state_of(otp::cluster::Cluster& at, const std::string& name) {
  for (const auto& m : at.members()) {
    if (m.id.full_name() == name) return m.state;
  }
  return otp::membership::MemberState::left;
}

TEST(LocalCluster, StartsWithEveryNodeAliveAndLinked) {
  LocalCluster c({.nodes = 3, .setup = start_echo});
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c.name(0), "n1@127.0.0.1");
  EXPECT_EQ(c.cluster(2).self().full_name(), "n3@127.0.0.1");
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(otp::distribution::nodes(c.node(i)).size(), 2u);
    EXPECT_EQ(echo(c, i, (i + 1) % 3, static_cast<int>(i)), static_cast<int>(i));
  }
  c.await_global_name("svc", 0);
  EXPECT_TRUE(contains(c.describe(), "n1 sees 3 alive: n2 alive, n3 alive")) << c.describe();
}

TEST(LocalCluster, PartitionCutsTheSidesApartAndHealJoinsThem) {
  LocalCluster c({.nodes = 3, .setup = start_echo});
  c.partition({{0}, {1, 2}});
  c.await_nodedown(0, 1);
  c.await_nodedown(0, 2);
  c.await_nodedown(1, 0);
  c.await_members_on({0}, 1);
  c.await_members_on({1, 2}, 2);
  // The majority side still talks; the cut one does not.
  EXPECT_EQ(echo(c, 1, 2, 5), 5);
  EXPECT_FALSE(otp::gen_server::call<int>(c.node(1), otp::remote_name("echo", c.name(0)), 5));
  EXPECT_TRUE(contains(c.describe(), "faults: n2 cut, n3 cut")) << c.describe();

  c.heal();
  c.await_members(3);
  c.await_global_name("svc", 0);
  EXPECT_EQ(echo(c, 1, 0, 6), 6);
}

TEST(LocalCluster, DropLosesGossipButKeepsTheMembershipAndTheCalls) {
  LocalCluster c({.nodes = 3, .setup = start_echo});
  c.drop(0, 1, 0.3);
  EXPECT_EQ(c.faults(0).get(c.name(1)).drop, 0.3);
  EXPECT_EQ(c.faults(1).get(c.name(0)).drop, 0.3);
  for (int i = 0; i < 30; ++i) {
    auto r = otp::gen_server::call<int>(c.node(0), otp::remote_name("echo", c.name(1)), i, 30s);
    ASSERT_TRUE(r) << r.error();
  }
  c.await_members(3);  // still
  const auto lost = c.faults(0).stats().dropped + c.faults(1).stats().dropped;
  EXPECT_GT(lost, 0u) << "nothing was dropped";
}

TEST(LocalCluster, SlowDelaysEachDirectionOfALink) {
  LocalCluster c({.nodes = 2, .setup = start_echo});
  c.slow(0, 1, 100ms);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(echo(c, 0, 1, 1), 1);
  // Out of n1, into n2, out of n2, into n1: four delays at least.
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 400ms);
  c.await_members(2);
}

TEST(LocalCluster, KillIsSeenFailedAndRestartIsANewRunOfTheSameName) {
  LocalCluster c({.nodes = 3, .setup = start_echo});
  const auto first_run = c.cluster(2).self();
  c.kill(2);
  EXPECT_FALSE(c.alive(2));
  EXPECT_THROW(c.node(2), std::logic_error);
  c.await_nodedown(0, 2);
  c.await_members(2);
  // No leave got out: the others see it fail, not leave.
  c.changes().await(
      [&] { return state_of(c.cluster(0), c.name(2)) == otp::membership::MemberState::failed; },
      otp::testkit::kAwaitTimeout, "n3 failed at n1", [&] { return c.describe(); });
  EXPECT_TRUE(contains(c.describe(), "n3 killed")) << c.describe();

  c.restart(2);
  c.await_members(3);
  EXPECT_EQ(c.cluster(2).self().full_name(), first_run.full_name());
  EXPECT_NE(c.cluster(2).self().creation, first_run.creation);
  EXPECT_EQ(echo(c, 0, 2, 9), 9);
}

TEST(LocalCluster, StopIsSeenLeftAndKeepsTheNodeUntilRestart) {
  LocalCluster c({.nodes = 3, .setup = start_echo});
  const auto first_run = c.cluster(2).self();
  c.stop(2);
  EXPECT_FALSE(c.alive(2));
  EXPECT_TRUE(c.cluster(2).leaving());
  c.await_nodedown(0, 2);
  c.await_nodedown(1, 2);
  c.await_members(2);
  // The leave got out: the others see it left, not failed.
  c.changes().await(
      [&] {
        return state_of(c.cluster(0), c.name(2)) == otp::membership::MemberState::left &&
               state_of(c.cluster(1), c.name(2)) == otp::membership::MemberState::left;
      },
      otp::testkit::kAwaitTimeout, "n3 left at n1 and n2", [&] { return c.describe(); });
  EXPECT_TRUE(contains(c.describe(), "n3 stopped")) << c.describe();
  // Its Node runs on, detached: its processes still answer on it.
  EXPECT_EQ(otp::gen_server::call<int>(c.node(2), "echo", 4).value(), 4);
  EXPECT_TRUE(otp::distribution::nodes(c.node(2)).empty());
  c.stop(2);  // nothing more

  c.restart(2);
  c.await_members(3);
  EXPECT_NE(c.cluster(2).self().creation, first_run.creation);
  EXPECT_EQ(echo(c, 0, 2, 9), 9);
}

TEST(LocalCluster, AwaitGlobalNameWithNoOwnerGivenReturnsTheOneEveryNodeAgreesOn) {
  LocalCluster c({.nodes = 3});
  // Each side registers "x" while they are apart; after the heal one claim wins everywhere.
  c.partition({{0}, {1, 2}});
  c.await_nodedown(0, 1);
  c.await_nodedown(0, 2);
  c.await_nodedown(1, 0);
  c.await_nodedown(2, 0);
  auto holder_0 = std::make_unique<otp::Inbox>(c.node(0));
  auto holder_1 = std::make_unique<otp::Inbox>(c.node(1));
  ASSERT_TRUE(otp::global::register_name(c.node(0), "x", holder_0->pid()));
  ASSERT_TRUE(otp::global::register_name(c.node(1), "x", holder_1->pid()));
  // Apart, each side sees its own claim.
  EXPECT_EQ(otp::global::whereis_name(c.node(0), "x"), holder_0->pid());
  EXPECT_EQ(otp::global::whereis_name(c.node(1), "x"), holder_1->pid());
  c.heal();
  c.await_members(3);
  const size_t winner = c.await_global_name("x");
  ASSERT_LT(winner, 2u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(otp::distribution::node_of(c.node(i), *otp::global::whereis_name(c.node(i), "x")),
              c.name(winner));
  }
  EXPECT_EQ(c.await_global_name("x", winner), winner);

  // The winner's holder exits: the name is free everywhere.
  (winner == 0 ? holder_0 : holder_1).reset();
  c.await_global_name_free("x");
  for (size_t i = 0; i < 3; ++i) EXPECT_FALSE(otp::global::whereis_name(c.node(i), "x"));
}

TEST(LocalCluster, RestartKeepsTheNodesPartition) {
  LocalCluster c({.nodes = 3});
  c.partition({{0, 1}, {2}});
  c.await_nodedown(0, 2);
  c.kill(2);
  c.restart(2);
  // The new run is cut off from both, as the old one was.
  EXPECT_TRUE(c.faults(2).get(c.name(0)).cut());
  EXPECT_TRUE(c.faults(2).get(c.name(1)).cut());
  EXPECT_TRUE(c.faults(0).get(c.name(2)).cut());
  c.await_members_on({2}, 1);
  c.heal();
  c.await_members(3);
}

TEST(LocalCluster, AwaitErrorsSayWhatWasSeen) {
  LocalCluster c({.nodes = 3, .setup = start_echo});
  const auto members = await_error([&] { c.await_members(4, 300ms); });
  EXPECT_TRUE(contains(members,
                       "await 4 alive members, all linked, on every live node timed out "
                       "after 300 ms: n1 sees 3 alive: n2 alive, n3 alive, linked to "
                       "[n2@127.0.0.1 n3@127.0.0.1]"))
      << members;
  EXPECT_TRUE(contains(members, "(wanted 4)")) << members;

  const auto name = await_error([&] { c.await_global_name("svc", 1, 300ms); });
  EXPECT_TRUE(contains(name, "await global name 'svc' owned on n2@127.0.0.1 at every live node"))
      << name;
  EXPECT_TRUE(contains(name, "n1 sees it on n1@127.0.0.1")) << name;
  const auto nobody = await_error([&] { c.await_global_name("nobody", 0, 300ms); });
  EXPECT_TRUE(contains(nobody, "n3 sees no owner")) << nobody;
  const auto agreed = await_error([&] { c.await_global_name("nobody", std::nullopt, 300ms); });
  EXPECT_TRUE(contains(agreed,
                       "await global name 'nobody' owned on one node at every live node "
                       "timed out after 300 ms: n1 sees no owner"))
      << agreed;
  const auto free = await_error([&] { c.await_global_name_free("svc", 300ms); });
  EXPECT_TRUE(contains(free,
                       "await global name 'svc' free at every live node timed out after "
                       "300 ms: n1 sees it on n1@127.0.0.1"))
      << free;

  const auto down = await_error([&] { c.await_nodedown(0, 1, 300ms); });
  EXPECT_TRUE(contains(down,
                       "await nodedown of n2@127.0.0.1 at n1@127.0.0.1 timed out after 300 ms: "
                       "still linked; n1 sees 3 alive"))
      << down;
}

}  // namespace
