// Hidden nodes (otp-ctl's kind of peer) across Nodes of this process linked over loopback: a
// hidden peer calls processes and gets replies, but the node it talks to does not list it in
// nodes(), sends no NodeUp / NodeDown for it, and shares no global names with it in either
// direction. A raw hidden Transport plays otp-ctl where the test must see every message the node
// sends it; a hidden Cluster shows the same from a Node's side.
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
#include "support/eventually.hpp"
#include "support/node_test.hpp"

namespace {

using namespace std::chrono_literals;
using otp_test::eventually;
namespace protocol = otp::protocol;

constexpr auto kWait = 10s;
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

/// One node with its Cluster (no gossip: linked by connect()); hidden makes it a hidden node.
struct TestNode {
  TestNode(const std::string& name, bool hidden)
      : node(otp_test::node_options("hidden_" + name, 2)) {
    otp::cluster::ClusterOptions config{.name = name, .cookie = kCookie};
    config.transport.log = [](std::string_view, std::string_view) {};
    config.transport.hidden = hidden;
    auto c = otp::cluster::Cluster::start(node, config);
    if (!c) throw std::runtime_error(c.error().to_string());
    cluster = std::move(*c);
  }
  ~TestNode() { cluster->stop(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(cluster->port()); }
  std::string full_name() const { return cluster->self().full_name(); }

  otp::Node node;
  std::unique_ptr<otp::cluster::Cluster> cluster;
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

  /// The peer, once the link is up (within kWait).
  std::optional<protocol::NodeId> wait_up() {
    std::unique_lock<std::mutex> g(mx_);
    cv_.wait_for(g, kWait, [&] { return peer_.has_value(); });
    return peer_;
  }
  bool hidden() {
    std::lock_guard<std::mutex> g(mx_);
    return hidden_;
  }
  /// Waits for the Reply with ref id `ref`; then every message received so far.
  std::optional<std::vector<protocol::Message>> wait_reply(uint64_t ref) {
    std::unique_lock<std::mutex> g(mx_);
    const bool got = cv_.wait_for(g, kWait, [&] {
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
  TestNode a("a", false);
  otp::Inbox holder(a.node);
  ASSERT_TRUE(otp::global::register_name(a.node, "held", holder.pid()));
  ASSERT_TRUE(otp::gen_server::start<Counter>(a.node, otp::name("counter")));

  Recorder recorder;
  auto ctl = start_hidden_transport(recorder);
  ASSERT_TRUE(ctl->connect(a.address()));
  auto peer = recorder.wait_up();
  ASSERT_TRUE(peer);
  EXPECT_TRUE(recorder.hidden());
  // The node lists it as hidden only.
  ASSERT_TRUE(eventually([&] { return lists(a.cluster->hidden_nodes(), "ctl@127.0.0.1"); }, kWait));
  EXPECT_TRUE(a.cluster->nodes().empty());
  EXPECT_TRUE(otp::distribution::nodes(a.node).empty());

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
  ASSERT_TRUE(otp::global::register_name(a.node, "later", holder.pid()));
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
  EXPECT_FALSE(otp::global::whereis_name(a.node, "stolen"));
  EXPECT_FALSE(otp::global::whereis_name(a.node, "stolen2"));
  EXPECT_EQ(otp::global::registered_names(a.node), (std::vector<std::string>{"held", "later"}));
  ctl->stop();
  EXPECT_TRUE(eventually([&] { return a.cluster->hidden_nodes().empty(); }, kWait));
}

TEST_F(HiddenNodeTest, AHiddenNodeFiresNoNodeUpOrDownAndIsNotInNodes) {
  TestNode a("a", false);
  otp::Inbox events(a.node);
  otp::distribution::monitor_nodes(a.node, events.pid());
  ASSERT_TRUE(otp::gen_server::start<Counter>(a.node, otp::name("counter")));
  ASSERT_TRUE(otp::global::register_name(a.node, "held", events.pid()));

  auto h = std::make_unique<TestNode>("h", true);
  ASSERT_TRUE(h->cluster->connect(a.address()));
  // Both ends see the link as hidden: a hidden node is nobody's member, nor has it members.
  ASSERT_TRUE(eventually(
      [&] {
        return lists(a.cluster->hidden_nodes(), h->full_name()) &&
               lists(h->cluster->hidden_nodes(), a.full_name());
      },
      kWait));
  EXPECT_TRUE(a.cluster->nodes().empty());
  EXPECT_TRUE(h->cluster->nodes().empty());
  // Processes of the hidden node call the node's processes by {name, node}.
  auto v = otp::gen_server::call<int>(h->node, otp::remote_name("counter", a.full_name()), Get{});
  ASSERT_TRUE(v) << v.error();
  EXPECT_EQ(*v, 1);
  EXPECT_TRUE(otp::global::registered_names(h->node).empty());

  // A member linking now: the first node event a's monitor gets is its NodeUp (the transport
  // reports ups in order, so h's would have come first).
  auto b = std::make_unique<TestNode>("b", false);
  ASSERT_TRUE(b->cluster->connect(a.address()));
  auto up = events.receive_as<otp::NodeUp>(kWait);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->node, b->full_name());
  EXPECT_EQ(a.cluster->nodes(), std::vector<std::string>{b->full_name()});

  // The hidden node leaves, then the member: the first NodeDown is the member's.
  h.reset();
  ASSERT_TRUE(eventually([&] { return a.cluster->hidden_nodes().empty(); }, kWait));
  b.reset();
  auto down = events.receive_as<otp::NodeDown>(kWait);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->node, "b@127.0.0.1");
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
