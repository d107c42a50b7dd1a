// The counter standby (apps/services/counter_standby.hpp) on Nodes of this test process linked
// over loopback: every node runs services::counter_standby("counter") under a supervisor; exactly
// one counter runs in the cluster and every node calls it by its global name; when the owner's
// node goes away another node's standby takes the name (from 0) and calls resume; standbys that
// lose a simultaneous claim stay up and start nothing more; a node that comes back (a new run of
// the same name) does not make a second owner. Waits are on conditions with deadlines.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "otp/cluster/cluster.hpp"
#include "otp/distributed.hpp"
#include "services/cluster_services.hpp"
#include "services/counter_standby.hpp"
#include "support/eventually.hpp"
#include "support/node_test.hpp"

namespace {

using namespace std::chrono_literals;
using otp_test::eventually;

constexpr auto kWait = 20s;
constexpr const char* kName = "counter";
const std::string kOwners = std::string("counter_standby_owners:") + kName;

/// One node: a Cluster on a loopback port and the standby's supervisor.
struct StandbyNode {
  /// gossip: membership too (the links then follow it), else links only where connect() asks.
  StandbyNode(const std::string& name, std::chrono::milliseconds first_claim_delay,
              std::optional<otp::cluster::GossipOptions> gossip = std::nullopt)
      : node(otp_test::node_options("standby_" + name, 2)) {
    otp::cluster::ClusterOptions config{.name = name, .cookie = "standby-test"};
    config.transport.log = [](std::string_view, std::string_view) {};
    config.gossip = std::move(gossip);
    auto c = otp::cluster::Cluster::start(node, config);
    if (!c) throw std::runtime_error(c.error().to_string());
    cluster = std::move(*c);
    auto s = otp::supervisor::start_link(
        node, {services::counter_standby(kName, *cluster, first_claim_delay)}, {});
    if (!s) throw std::runtime_error(s.error().to_string());
    sup = *s;
  }
  ~StandbyNode() { cluster->stop(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(cluster->port()); }
  std::string gossip_address() const {
    return "127.0.0.1:" + std::to_string(cluster->gossip_port().value_or(0));
  }
  std::string full_name() const { return cluster->self().full_name(); }
  /// Counters running on this node under its standby (-1: the owners' supervisor is not there).
  int running_counters() {
    auto counts = otp::dynamic_supervisor::count_children(node, kOwners);
    return counts ? static_cast<int>(counts->active) : -1;
  }
  /// The node of the counter's owner as this node's replica shows it ("" for none).
  std::string owner_node() {
    auto pid = otp::global::whereis_name(node, kName);
    return pid ? otp::distribution::node_of(node, *pid) : "";
  }

  otp::Node node;
  std::unique_ptr<otp::cluster::Cluster> cluster;
  otp::Pid sup;
};

class CounterStandby : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { services::register_types(); }

  StandbyNode& add_node(const std::string& name, std::chrono::milliseconds first_claim_delay,
                        std::optional<otp::cluster::GossipOptions> gossip = std::nullopt) {
    nodes.push_back(std::make_unique<StandbyNode>(name, first_claim_delay, std::move(gossip)));
    return *nodes.back();
  }
  /// Links every pair of nodes and waits until each sees every other.
  void link_all() {
    for (size_t i = 0; i < nodes.size(); ++i) {
      for (size_t j = i + 1; j < nodes.size(); ++j) {
        ASSERT_TRUE(nodes[i]->cluster->connect(nodes[j]->address()));
      }
    }
    ASSERT_TRUE(eventually(
        [&] {
          return std::all_of(nodes.begin(), nodes.end(), [&](auto& n) {
            return n->cluster->nodes().size() == nodes.size() - 1;
          });
        },
        kWait));
  }
  /// Waits until every node shows the same owner's node and exactly one counter runs in the
  /// cluster, on that node; that node's name ("" at the deadline).
  std::string one_owner() {
    std::string owner;
    const bool settled = eventually(
        [&] {
          owner = nodes[0]->owner_node();
          if (owner.empty()) return false;
          int running = 0;
          for (auto& n : nodes) {
            if (n->owner_node() != owner) return false;
            const int here = n->running_counters();
            if (here != (n->full_name() == owner ? 1 : 0)) return false;
            running += here;
          }
          return running == 1;
        },
        kWait);
    if (!settled) {
      for (auto& n : nodes) {
        ADD_FAILURE() << n->full_name() << ": owner '" << n->owner_node() << "', "
                      << n->running_counters() << " counter(s) running";
      }
      return "";
    }
    return owner;
  }
  size_t index_of(const std::string& full_name) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i]->full_name() == full_name) return i;
    }
    return nodes.size();
  }
  /// Every standby's supervisor still runs (nobody crash-looped until its supervisor gave up).
  void expect_supervisors_up() {
    for (auto& n : nodes) {
      EXPECT_TRUE(otp::alive(n->sup)) << n->full_name() << "'s supervisor is down";
      EXPECT_EQ(otp::supervisor::which_children(n->node, n->sup).value().size(), 1u);
    }
  }
  int add(StandbyNode& from, int by) {
    auto r = otp::gen_server::call<int>(from.node, otp::global_name(kName), services::Add{by});
    EXPECT_TRUE(r) << r.error();
    return r ? *r : -1;
  }

  std::vector<std::unique_ptr<StandbyNode>> nodes;
};

/// The standbys of three linked nodes claim at once (no first-claim delay): the registry keeps
/// one counter, the others exit and are not started again, and every node calls the one left.
TEST_F(CounterStandby, ThreeStandbysClaimingAtOnceEndWithOneOwner) {
  for (const char* n : {"a", "b", "c"}) add_node(n, 0ms);
  ASSERT_NO_FATAL_FAILURE(link_all());
  const std::string owner = one_owner();
  ASSERT_FALSE(owner.empty());
  expect_supervisors_up();
  // A fresh counter per claim: the calls from each node go to the one counter.
  const int first = add(*nodes[0], 1);
  EXPECT_EQ(add(*nodes[1], 1), first + 1);
  EXPECT_EQ(add(*nodes[2], 1), first + 2);
}

/// Standbys of nodes joining a cluster where the name is held (claiming at once, before their
/// links sync) end with no counter: the earlier registration keeps the name.
TEST_F(CounterStandby, StandbysJoiningAClusterWithAnOwnerLeaveItTheName) {
  add_node("a", 0ms);
  ASSERT_TRUE(eventually([&] { return nodes[0]->owner_node() == nodes[0]->full_name(); }, kWait));
  add_node("b", 0ms);
  add_node("c", 0ms);
  ASSERT_NO_FATAL_FAILURE(link_all());
  EXPECT_EQ(one_owner(), nodes[0]->full_name());
  expect_supervisors_up();
}

/// The owner's node goes away: another node's standby takes the name, its counter starting from
/// 0, and calls from every survivor reach it. The old owner's node coming back (a new run with
/// the same name, claiming at once) does not make a second owner.
TEST_F(CounterStandby, WhenTheOwnersNodeGoesAnotherNodeOwnsTheCounter) {
  for (const char* n : {"a", "b", "c"}) add_node(n, 500ms);
  ASSERT_NO_FATAL_FAILURE(link_all());
  const std::string owner = one_owner();
  ASSERT_FALSE(owner.empty());
  const size_t gone = index_of(owner);
  ASSERT_LT(gone, nodes.size());
  ASSERT_EQ(add(*nodes[(gone + 1) % 3], 5), 5);

  const std::string gone_name = owner.substr(0, owner.find('@'));
  nodes.erase(nodes.begin() + static_cast<std::ptrdiff_t>(gone));
  const std::string next = one_owner();
  ASSERT_FALSE(next.empty());
  EXPECT_NE(next, owner);
  EXPECT_EQ(add(*nodes[0], 1), 1) << "a new owner starts from 0";
  EXPECT_EQ(add(*nodes[1], 1), 2);
  expect_supervisors_up();

  // The old owner's node comes back and claims at once, before or after its links sync.
  add_node(gone_name, 0ms);
  ASSERT_NO_FATAL_FAILURE(link_all());
  EXPECT_EQ(one_owner(), next);
  EXPECT_EQ(add(*nodes[2], 1), 3);
  expect_supervisors_up();
}

/// A node that leaves (Cluster::stop(); otp-node's SIGTERM) announces it by gossip for a while;
/// meanwhile the others hear of it and close their links, and each closed link takes that peer's
/// names out of the leaving node's replica, the counter's among them. The leaving node's standby
/// must not register the counter again then (it would move once more a moment later).
TEST_F(CounterStandby, ALeavingNodesStandbyDoesNotClaimTheName) {
  StandbyNode& a = add_node("a", 0ms, otp::cluster::GossipOptions{});
  ASSERT_TRUE(eventually([&] { return a.owner_node() == a.full_name(); }, kWait));
  StandbyNode& b = add_node("b", 0ms, otp::cluster::GossipOptions{.seeds = {a.gossip_address()}});
  ASSERT_EQ(one_owner(), a.full_name());
  otp::Inbox names(b.node);
  otp::global::monitor_names(b.node, names.pid());

  b.cluster->stop();  // returns once its leave went out: a closed its link by then
  ASSERT_TRUE(eventually([&] { return a.cluster->nodes().empty(); }, kWait));
  // Every change b's replica saw while it left: none gave the counter to a process of b.
  while (auto m = names.receive(0ms)) {
    const auto* e = m->get_if<otp::GlobalEvent>();
    if (e == nullptr || e->kind != otp::GlobalEvent::Kind::registered) continue;
    EXPECT_NE(otp::distribution::node_of(b.node, e->owner), b.full_name())
        << "the leaving node registered " << e->name;
  }
  EXPECT_EQ(b.running_counters(), 0);
  EXPECT_EQ(a.owner_node(), a.full_name());
}

}  // namespace
