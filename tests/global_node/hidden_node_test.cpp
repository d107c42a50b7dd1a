// Hidden nodes (otp-ctl's kind of peer) linked over loopback to the nodes of a LocalCluster (the
// test kit's nodes in this process): a hidden peer calls processes and gets replies, but the node
// it talks to does not list it in nodes(), sends no NodeUp / NodeDown for it, and shares no global
// names with it in either direction. A raw hidden Transport plays otp-ctl where the test must see
// every message the node sends it; a hidden Node's Cluster shows the same from a Node's side. The
// hidden peers are no LocalCluster nodes: a hidden node joins no membership (no gossip), it dials
// the node it talks to as otp-ctl does.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "otp/cluster/cluster.hpp"
#include "otp/cluster/transport.hpp"
#include "otp/distributed.hpp"
#include "otp/testkit/local_cluster.hpp"
#include "support/eventually.hpp"
#include "support/node_test.hpp"

namespace {

using namespace std::chrono_literals;
using otp::testkit::kAwaitTimeout;
using otp::testkit::LocalCluster;
using otp_test::eventually;
namespace protocol = otp::protocol;

constexpr const char* kCookie = "hidden-test";

struct Get {};

class Counter : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Get&) { return otp::reply(++calls_); });
  }

 private:
  int calls_ = 0;
};

/// A raw hidden transport's events: whether it is up, and every message the node sent it.
class Recorder final : public otp::cluster::TransportListener {
 public:
  void on_node_up(const protocol::NodeId& peer, bool hidden) override {
    std::lock_guard<std::mutex> g(mx_);
    peer_ = peer;
    hidden_ = hidden;
    cv_.notify_all();
  }
  void on_node_down(const protocol::NodeId&, const std::string&) override {}
  void on_message(const protocol::NodeId&, protocol::Message&& message) override {
    std::lock_guard<std::mutex> g(mx_);
    messages_.push_back(std::move(message));
    cv_.notify_all();
  }

  /// The peer, once the link is up (within kAwaitTimeout).
  std::optional<protocol::NodeId> wait_up() {
    std::unique_lock<std::mutex> g(mx_);
    cv_.wait_for(g, kAwaitTimeout, [&] { return peer_.has_value(); });
    return peer_;
  }
  bool hidden() {
    std::lock_guard<std::mutex> g(mx_);
    return hidden_;
  }
  /// Waits for the Reply with ref id `ref`; then every message received so far.
  std::optional<std::vector<protocol::Message>> wait_reply(uint64_t ref) {
    std::unique_lock<std::mutex> g(mx_);
    const bool got = cv_.wait_for(g, kAwaitTimeout, [&] {
      return std::any_of(messages_.begin(), messages_.end(), [&](const protocol::Message& m) {
        const auto* r = std::get_if<protocol::Reply>(&m);
        return r != nullptr && r->ref.id == ref;
      });
    });
    if (!got) return std::nullopt;
    return messages_;
  }

 private:
  std::mutex mx_;
  std::condition_variable cv_;
  std::optional<protocol::NodeId> peer_;
  bool hidden_ = false;
  std::vector<protocol::Message> messages_;
};

bool has_name_messages(const std::vector<protocol::Message>& messages) {
  return std::any_of(messages.begin(), messages.end(), [](const protocol::Message& m) {
    return std::holds_alternative<protocol::NameSync>(m) ||
           std::holds_alternative<protocol::NameUpdate>(m);
  });
}

bool lists(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

/// Where node i of c takes links (its transport), for a hidden peer's connect().
std::string address(LocalCluster& c, size_t i) {
  return "127.0.0.1:" + std::to_string(c.cluster(i).port());
}

/// Whether `at` holds the member `name` failed.
bool holds_failed(otp::cluster::Cluster& at, const std::string& name) {
  for (const auto& m : at.members()) {
    if (m.id.full_name() == name) return m.state == otp::membership::MemberState::failed;
  }
  return false;
}

/// "up n2@127.0.0.1" or "down n2@127.0.0.1": the next node event of a monitor_nodes inbox
/// ("none" at the deadline).
std::string next_node_event(otp::Inbox& events) {
  auto m = events.receive_if(
      [](const otp::Message& x) { return x.is<otp::NodeUp>() || x.is<otp::NodeDown>(); },
      kAwaitTimeout);
  if (!m) return "none";
  if (const auto* up = m->get_if<otp::NodeUp>()) return "up " + up->node;
  return "down " + m->get<otp::NodeDown>().node;
}

class HiddenNodeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { otp::register_remote_type<Get>("hidden_test.get"); }

  /// A hidden transport, as otp-ctl starts one.
  std::unique_ptr<otp::cluster::Transport> start_hidden_transport(Recorder& recorder) {
    otp::cluster::TransportOptions t;
    t.cookie = kCookie;
    t.self = {"ctl", "127.0.0.1", protocol::new_creation()};
    t.hidden = true;
    t.log = [](std::string_view, std::string_view) {};
    auto started = otp::cluster::Transport::start(std::move(t), recorder);
    if (!started) throw std::runtime_error(started.error().to_string());
    return std::move(started).value();
  }

  /// A hidden node's cluster layer, "h": linked only where connect() asks.
  static std::unique_ptr<otp::cluster::Cluster> start_hidden_cluster(otp::Node& node) {
    otp::cluster::ClusterOptions config{.name = "h", .cookie = kCookie};
    config.transport.log = [](std::string_view, std::string_view) {};
    config.transport.hidden = true;
    auto started = otp::cluster::Cluster::start(node, config);
    if (!started) throw std::runtime_error(started.error().to_string());
    return std::move(started).value();
  }

  /// Calls the process registered as "counter" on peer from the raw transport, with ref id ref.
  static void call_counter(otp::cluster::Transport& t, const protocol::NodeId& peer, uint64_t ref) {
    const protocol::NodeId self = t.self();
    ASSERT_FALSE(
        t.send(peer, protocol::Call{.from = {self, 1},
                                    .to = std::string("counter"),
                                    .ref = {self, ref},
                                    .request = {"hidden_test.get", nlohmann::json::object()}}));
  }
};

TEST_F(HiddenNodeTest, AHiddenPeerGetsRepliesButNoGlobalNamesAndOwnsNone) {
  LocalCluster c({.nodes = 1, .cookie = kCookie});
  otp::Node& a = c.node(0);
  otp::Inbox holder(a);
  ASSERT_TRUE(otp::global::register_name(a, "held", holder.pid()));
  ASSERT_TRUE(otp::gen_server::start<Counter>(a, otp::name("counter")));

  Recorder recorder;
  auto ctl = start_hidden_transport(recorder);
  ASSERT_TRUE(ctl->connect(address(c, 0)));
  auto peer = recorder.wait_up();
  ASSERT_TRUE(peer);
  EXPECT_TRUE(recorder.hidden());
  // The node lists it as hidden only (a hidden link fires no node event: polled).
  ASSERT_TRUE(eventually([&] { return lists(c.cluster(0).hidden_nodes(), "ctl@127.0.0.1"); },
                         kAwaitTimeout));
  EXPECT_TRUE(c.cluster(0).nodes().empty());
  EXPECT_TRUE(otp::distribution::nodes(a).empty());

  // A call gets its reply. A link up sends the peer the node's names (NameSync) before anything
  // else on the link, so none came if none is here by the reply.
  call_counter(*ctl, *peer, 1);
  auto seen = recorder.wait_reply(1);
  ASSERT_TRUE(seen);
  const auto* reply = std::get_if<protocol::Reply>(&seen->back());
  ASSERT_NE(reply, nullptr);
  ASSERT_TRUE(std::holds_alternative<protocol::Payload>(reply->result));
  EXPECT_EQ(std::get<protocol::Payload>(reply->result).value, 1);
  EXPECT_FALSE(has_name_messages(*seen));

  // A name registered now goes to every linked member (NameUpdate), queued before the next reply.
  ASSERT_TRUE(otp::global::register_name(a, "later", holder.pid()));
  call_counter(*ctl, *peer, 2);
  seen = recorder.wait_reply(2);
  ASSERT_TRUE(seen);
  EXPECT_FALSE(has_name_messages(*seen));

  // The hidden peer claims a name: the node drops the claim (what the peer sends is handled in
  // order, so by the reply to the next call it was).
  ASSERT_FALSE(ctl->send(*peer, protocol::NameUpdate{protocol::NameUpdateKind::add,
                                                     {"stolen", 1, 1'700'000'000'000, 0, ""}}));
  ASSERT_FALSE(
      ctl->send(*peer, protocol::NameSync{{{"stolen2", 1, 1'700'000'000'000, 0, ""}}, true}));
  call_counter(*ctl, *peer, 3);
  ASSERT_TRUE(recorder.wait_reply(3));
  EXPECT_FALSE(otp::global::whereis_name(a, "stolen"));
  EXPECT_FALSE(otp::global::whereis_name(a, "stolen2"));
  EXPECT_EQ(otp::global::registered_names(a), (std::vector<std::string>{"held", "later"}));
  ctl->stop();
  EXPECT_TRUE(eventually([&] { return c.cluster(0).hidden_nodes().empty(); }, kAwaitTimeout));
}

TEST_F(HiddenNodeTest, AHiddenNodeFiresNoNodeUpOrDownAndIsNotInNodes) {
  LocalCluster c({.nodes = 2, .cookie = kCookie});
  otp::Node& a = c.node(0);
  const std::string b = c.name(1);
  otp::Inbox events(a);
  otp::distribution::monitor_nodes(a, events.pid());
  ASSERT_TRUE(otp::gen_server::start<Counter>(a, otp::name("counter")));
  ASSERT_TRUE(otp::global::register_name(a, "held", events.pid()));
  // The member n2 goes apart, to link again only after the hidden node did. Once each holds the
  // other failed, their link is closed (one nodedown) and stays closed until the heal.
  c.partition({{0}, {1}});
  c.changes().await(
      [&] { return holds_failed(c.cluster(0), b) && holds_failed(c.cluster(1), c.name(0)); },
      kAwaitTimeout, "n1 and n2 each holding the other failed", [&] { return c.describe(); });
  c.await_nodedown(0, 1);

  otp::Node h_node(otp_test::node_options("hidden_h", 2));
  auto h = start_hidden_cluster(h_node);
  const std::string h_name = h->self().full_name();
  ASSERT_TRUE(h->connect(address(c, 0)));
  // Both ends see the link as hidden: a hidden node is nobody's member, nor has it members.
  ASSERT_TRUE(eventually(
      [&] {
        return lists(c.cluster(0).hidden_nodes(), h_name) && lists(h->hidden_nodes(), c.name(0));
      },
      kAwaitTimeout));
  EXPECT_TRUE(c.cluster(0).nodes().empty());
  EXPECT_TRUE(h->nodes().empty());
  // Processes of the hidden node call the node's processes by {name, node}.
  auto v = otp::gen_server::call<int>(h_node, otp::remote_name("counter", c.name(0)), Get{});
  ASSERT_TRUE(v) << v.error();
  EXPECT_EQ(*v, 1);
  EXPECT_TRUE(otp::global::registered_names(h_node).empty());

  // The member links now.
  c.heal();
  c.await_members(2);
  EXPECT_EQ(c.cluster(0).nodes(), std::vector<std::string>{b});

  // The hidden node leaves, then the member.
  h->stop();
  ASSERT_TRUE(eventually([&] { return c.cluster(0).hidden_nodes().empty(); }, kAwaitTimeout));
  c.stop(1);
  // a's monitor saw the member only, in order: its nodedown at the partition, its nodeup at the
  // heal, its nodedown when it left. The hidden node's link, up and down between them, fired
  // none.
  EXPECT_EQ(next_node_event(events), "down " + b);
  EXPECT_EQ(next_node_event(events), "up " + b);
  EXPECT_EQ(next_node_event(events), "down " + b);
}

TEST_F(HiddenNodeTest, AHiddenClusterRefusesGossip) {
  otp::Node node(otp_test::node_options("hidden_gossip", 1));
  otp::cluster::ClusterOptions config{.name = "h", .cookie = kCookie};
  config.transport.hidden = true;
  config.gossip = otp::cluster::GossipOptions{};
  auto c = otp::cluster::Cluster::start(node, config);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.code(), otp::ErrorCode::badarg);
}

}  // namespace
