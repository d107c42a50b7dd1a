// The counter standby (apps/services/counter_standby.hpp) on the nodes of a LocalCluster (the test
// kit's nodes with gossip, in this test process): every node runs
// services::counter_standby("counter") under a supervisor; exactly one counter runs in the cluster
// and every node calls it by its global name; when the owner's node goes away another node's
// standby takes the name (from 0) and calls resume; standbys that lose a simultaneous claim stay
// up and start nothing more; a node that comes back (a new run of the same name) does not make a
// second owner. Waits are on conditions with deadlines.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "otp/distributed.hpp"
#include "otp/testkit/local_cluster.hpp"
#include "services/cluster_services.hpp"
#include "services/counter_standby.hpp"
#include "support/eventually.hpp"

namespace {

using namespace std::chrono_literals;
using otp::testkit::kAwaitTimeout;
using otp::testkit::LocalCluster;
using otp_test::eventually;

constexpr const char* kName = "counter";
const std::string kOwners = std::string("counter_standby_owners:") + kName;

class CounterStandby : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { services::register_types(); }

  /// `nodes` nodes, alive and linked; no standby runs yet (start_standby).
  void start(size_t nodes) {
    c = std::make_unique<LocalCluster>(
        otp::testkit::LocalClusterOptions{.nodes = nodes, .cookie = "standby-test"});
    sups.assign(nodes, otp::Pid());
  }
  /// Starts node i's standby under a supervisor of its own (again after a restart).
  void start_standby(size_t i, std::chrono::milliseconds first_claim_delay) {
    auto s = otp::supervisor::start_link(
        c->node(i), {services::counter_standby(kName, c->cluster(i), first_claim_delay)}, {});
    ASSERT_TRUE(s) << s.error();
    sups[i] = *s;
  }
  /// Counters running on node i under its standby (-1: the owners' supervisor is not there).
  int running_counters(size_t i) {
    auto counts = otp::dynamic_supervisor::count_children(c->node(i), kOwners);
    return counts ? static_cast<int>(counts->active) : -1;
  }
  /// The node of the counter's owner as node i's replica shows it ("" for none).
  std::string owner_node(size_t i) {
    auto pid = otp::global::whereis_name(c->node(i), kName);
    return pid ? otp::distribution::node_of(c->node(i), *pid) : "";
  }
  /// Waits until each of `nodes` shows the name held on itself (each apart from the others).
  void await_each_owns(const std::vector<size_t>& nodes) {
    c->changes().await(
        [&] {
          return std::all_of(nodes.begin(), nodes.end(),
                             [&](size_t i) { return owner_node(i) == c->name(i); });
        },
        kAwaitTimeout, "each node owning the counter on its own",
        [&] {
          std::string seen;
          for (size_t i : nodes) seen += c->name(i) + " sees '" + owner_node(i) + "' ";
          return seen;
        });
  }
  /// Waits until every live node shows the same owner's node and exactly one counter runs in
  /// the cluster, on that node; that node's name ("" at the deadline). (A counter's exit is no
  /// event the kit wakes on: polled.)
  std::string one_owner() {
    std::string owner;
    const bool settled = eventually(
        [&] {
          owner.clear();
          int running = 0;
          for (size_t i = 0; i < c->size(); ++i) {
            if (!c->alive(i)) continue;
            if (owner.empty()) owner = owner_node(i);
            if (owner.empty() || owner_node(i) != owner) return false;
            const int here = running_counters(i);
            if (here != (c->name(i) == owner ? 1 : 0)) return false;
            running += here;
          }
          return running == 1;
        },
        kAwaitTimeout);
    if (!settled) {
      for (size_t i = 0; i < c->size(); ++i) {
        if (!c->alive(i)) continue;
        ADD_FAILURE() << c->name(i) << ": owner '" << owner_node(i) << "', " << running_counters(i)
                      << " counter(s) running";
      }
      return "";
    }
    return owner;
  }
  size_t index_of(const std::string& full_name) {
    for (size_t i = 0; i < c->size(); ++i) {
      if (c->name(i) == full_name) return i;
    }
    return c->size();
  }
  /// Every live node's standby supervisor still runs (nobody crash-looped until its supervisor
  /// gave up).
  void expect_supervisors_up() {
    for (size_t i = 0; i < c->size(); ++i) {
      if (!c->alive(i)) continue;
      EXPECT_TRUE(otp::alive(sups[i])) << c->name(i) << "'s supervisor is down";
      EXPECT_EQ(otp::supervisor::which_children(c->node(i), sups[i]).value().size(), 1u);
    }
  }
  int add(size_t from, int by) {
    auto r = otp::gen_server::call<int>(c->node(from), otp::global_name(kName), services::Add{by});
    EXPECT_TRUE(r) << r.error();
    return r ? *r : -1;
  }

  std::unique_ptr<LocalCluster> c;
  std::vector<otp::Pid> sups;  // each node's standby supervisor
};

/// The standbys of three nodes claim at once (no first-claim delay), each while it is apart from
/// the others (a partition: each then holds a counter of its own). When the partition heals the
/// registry keeps one counter, the others exit and are not started again, and every node calls
/// the one left.
TEST_F(CounterStandby, ThreeStandbysClaimingAtOnceEndWithOneOwner) {
  start(3);
  c->partition({{0}, {1}, {2}});
  c->await_members(1);  // each sees itself alone
  for (size_t i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(start_standby(i, 0ms));
  await_each_owns({0, 1, 2});
  c->heal();
  c->await_members(3);
  const std::string owner = one_owner();
  ASSERT_FALSE(owner.empty());
  expect_supervisors_up();
  // A fresh counter per claim: the calls from each node go to the one counter.
  const int first = add(0, 1);
  EXPECT_EQ(add(1, 1), first + 1);
  EXPECT_EQ(add(2, 1), first + 2);
}

/// Standbys of nodes that meet a node holding the name only after they claimed it themselves
/// (apart until a partition heals, claiming at once, before their links sync) end with no
/// counter: the earlier registration keeps the name.
TEST_F(CounterStandby, StandbysJoiningAClusterWithAnOwnerLeaveItTheName) {
  start(3);
  c->partition({{0}, {1}, {2}});
  c->await_members(1);  // each sees itself alone
  ASSERT_NO_FATAL_FAILURE(start_standby(0, 0ms));
  await_each_owns({0});
  ASSERT_NO_FATAL_FAILURE(start_standby(1, 0ms));
  ASSERT_NO_FATAL_FAILURE(start_standby(2, 0ms));
  await_each_owns({1, 2});
  c->heal();
  c->await_members(3);
  EXPECT_EQ(one_owner(), c->name(0));
  expect_supervisors_up();
}

/// The owner's node goes away: another node's standby takes the name, its counter starting from
/// 0, and calls from every survivor reach it. The old owner's node coming back (a new run with
/// the same name, claiming at once) does not make a second owner.
TEST_F(CounterStandby, WhenTheOwnersNodeGoesAnotherNodeOwnsTheCounter) {
  start(3);
  for (size_t i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(start_standby(i, 500ms));
  const std::string owner = one_owner();
  ASSERT_FALSE(owner.empty());
  const size_t gone = index_of(owner);
  ASSERT_LT(gone, 3u);
  ASSERT_EQ(add((gone + 1) % 3, 5), 5);

  c->kill(gone);
  const std::string next = one_owner();
  ASSERT_FALSE(next.empty());
  EXPECT_NE(next, owner);
  EXPECT_EQ(add((gone + 1) % 3, 1), 1) << "a new owner starts from 0";
  EXPECT_EQ(add((gone + 2) % 3, 1), 2);
  expect_supervisors_up();

  // The old owner's node comes back and claims at once, before or after its links sync.
  c->restart(gone);
  ASSERT_NO_FATAL_FAILURE(start_standby(gone, 0ms));
  c->await_members(3);
  EXPECT_EQ(one_owner(), next);
  EXPECT_EQ(add(gone, 1), 3);
  expect_supervisors_up();
}

/// A node that leaves (Cluster::stop(); otp-node's SIGTERM) announces it by gossip for a while;
/// meanwhile the others hear of it and close their links, and each closed link takes that peer's
/// names out of the leaving node's replica, the counter's among them. The leaving node's standby
/// must not register the counter again then (it would move once more a moment later).
TEST_F(CounterStandby, ALeavingNodesStandbyDoesNotClaimTheName) {
  start(2);
  ASSERT_NO_FATAL_FAILURE(start_standby(0, 0ms));
  c->await_global_name(kName, 0);
  ASSERT_NO_FATAL_FAILURE(start_standby(1, 0ms));
  ASSERT_EQ(one_owner(), c->name(0));
  otp::Node& b = c->node(1);
  otp::Inbox names(b);
  otp::global::monitor_names(b, names.pid());

  c->stop(1);  // returns once its leave went out: n1 closed its link by then
  c->await_nodedown(0, 1);
  // Every change b's replica saw while it left: none gave the counter to a process of b.
  while (auto m = names.receive(0ms)) {
    const auto* e = m->get_if<otp::GlobalEvent>();
    if (e == nullptr || e->kind != otp::GlobalEvent::Kind::registered) continue;
    EXPECT_NE(otp::distribution::node_of(b, e->owner), c->name(1))
        << "the leaving node registered " << e->name;
  }
  EXPECT_EQ(running_counters(1), 0);
  EXPECT_EQ(owner_node(0), c->name(0));
}

}  // namespace
