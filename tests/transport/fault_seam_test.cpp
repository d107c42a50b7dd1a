// The fault-injection seam (otp/cluster/faults.hpp) on real Clusters inside this process, over
// loopback: a fault set on one node for a peer cuts, loses or slows both directions of the TCP
// links and of the gossip as that node sees them, so the other node sees the same (a one-sided
// cut is seen failed from both sides), and clearing it heals. A membership driver alone, fed
// datagrams by hand, shows whom the seam finds behind a gossip packet.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "otp/cluster/cluster.hpp"
#include "otp/cluster/faults.hpp"
#include "otp/cluster/membership_driver.hpp"
#include "otp/distribution.hpp"
#include "otp/otp.hpp"
#include "otp/protocol/gossip.hpp"
#include "support/eventually.hpp"

namespace {

using namespace std::chrono_literals;
using otp::cluster::FaultInjector;
using otp::cluster::LinkFault;
using otp::membership::EventKind;

constexpr auto kWait = 30s;  // generous: sanitizers, a loaded machine

/// Answers every int call with the same int.
class Echo : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return otp::reply(m.get<int>());
  }
};

/// The int a call answered, or -1 (and a test failure naming the error).
int answer(const otp::Result<int>& r) {
  if (!r) {
    ADD_FAILURE() << "call failed: " << r.error();
    return -1;
  }
  return *r;
}

/// Counts the ints cast to it, which must come 0, 1, 2, ...; a call answers the count, or -1
/// once one came out of order.
class InOrder : public otp::GenServer {
 public:
  otp::Action handle_cast(const otp::Message& m) override {
    if (m.get<int>() != next_) broken_ = true;
    ++next_;
    return otp::noreply();
  }
  otp::Action handle_call(const otp::Message&, const otp::From&) override {
    return otp::reply(broken_ ? -1 : next_);
  }

 private:
  int next_ = 0;
  bool broken_ = false;
};

/// One node with gossip and a fault injector; records its membership events.
struct SeamNode {
  SeamNode(const std::string& name, const std::vector<std::string>& seeds, bool gossip = true)
      : node([&] {
          otp::NodeOptions o;
          o.name = "seam_" + name;
          o.scheduler_threads = 2;
          o.log_crashes = false;
          return o;
        }()),
        faults(std::make_shared<FaultInjector>(42)),
        inbox(node) {
    otp::cluster::ClusterOptions config{.name = name, .cookie = "seam-test"};
    config.transport.log = [this](std::string_view, std::string_view text) {
      std::lock_guard<std::mutex> lock(mx);
      log.emplace_back(text);
      cv.notify_all();
    };
    if (gossip) {
      config.gossip = otp::cluster::GossipOptions{.seeds = seeds};
      config.gossip->membership.reconnect_interval = 500ms;
    }
    config.faults = faults;
    config.on_member_event = [this](const otp::membership::Event& e) {
      std::lock_guard<std::mutex> lock(mx);
      events.push_back(e);
      cv.notify_all();
    };
    otp::distribution::monitor_nodes(node, inbox.pid());  // before the links come up
    cluster = std::move(otp::cluster::Cluster::start(node, config).value());
  }
  ~SeamNode() { cluster->stop(); }

  std::string full_name() const { return cluster->self().full_name(); }
  std::string gossip_seed() const { return "127.0.0.1:" + std::to_string(*cluster->gossip_port()); }

  /// Waits for an event of `kind` about `peer` after the first `from` events; its index.
  std::optional<size_t> await_event(EventKind kind, const std::string& peer, size_t from = 0) {
    std::unique_lock<std::mutex> lock(mx);
    std::optional<size_t> found;
    cv.wait_for(lock, kWait, [&] {
      for (size_t i = from; i < events.size(); ++i) {
        if (events[i].kind == kind && events[i].member.id.full_name() == peer) {
          found = i;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  /// Waits until at least n transport log lines contain part.
  bool await_log(const std::string& part, size_t n) {
    std::unique_lock<std::mutex> lock(mx);
    return cv.wait_for(lock, kWait, [&] { return count_locked(part) >= n; });
  }
  /// Transport log lines containing part, now.
  size_t log_count(const std::string& part) {
    std::lock_guard<std::mutex> lock(mx);
    return count_locked(part);
  }
  /// Under mx.
  size_t count_locked(const std::string& part) const {
    return static_cast<size_t>(std::count_if(log.begin(), log.end(), [&](const std::string& l) {
      return l.find(part) != std::string::npos;
    }));
  }
  std::string log_text() {
    std::lock_guard<std::mutex> lock(mx);
    std::string text;
    for (const auto& l : log) text += "  " + l + "\n";
    return text;
  }
  size_t event_count() {
    std::lock_guard<std::mutex> lock(mx);
    return events.size();
  }
  /// Waits for the NodeDown (or NodeUp) of peer.
  template <class T>
  bool await_node_event(const std::string& peer) {
    return inbox
        .receive_if(
            [&](const otp::Message& m) {
              const auto* e = m.get_if<T>();
              return e != nullptr && e->node == peer;
            },
            kWait)
        .has_value();
  }
  bool linked_to(const std::string& peer) {
    auto n = otp::distribution::nodes(node);
    return std::find(n.begin(), n.end(), peer) != n.end();
  }

  otp::Node node;
  std::shared_ptr<FaultInjector> faults;
  otp::Inbox inbox;
  std::unique_ptr<otp::cluster::Cluster> cluster;
  std::mutex mx;
  std::condition_variable cv;
  std::vector<otp::membership::Event> events;
  std::vector<std::string> log;
};

/// a and b with gossip, each seeing the other alive and linked.
struct Pair {
  Pair() : a("a", {}), b("b", {a.gossip_seed()}) {
    EXPECT_TRUE(a.await_event(EventKind::joined, b.full_name()));
    EXPECT_TRUE(b.await_event(EventKind::joined, a.full_name()));
    EXPECT_TRUE(a.await_node_event<otp::NodeUp>(b.full_name()));
    EXPECT_TRUE(b.await_node_event<otp::NodeUp>(a.full_name()));
  }
  SeamNode a;
  SeamNode b;
};

TEST(FaultInjector, RemembersFaultsPerPeerAndDecidesPerPacket) {
  FaultInjector f(1);
  EXPECT_FALSE(f.any());
  EXPECT_EQ(f.get("b@h"), LinkFault{});
  f.set("b@h", {.drop = 1.0});
  EXPECT_TRUE(f.any());
  EXPECT_TRUE(f.cut("b@h"));
  EXPECT_FALSE(f.cut("c@h"));
  EXPECT_TRUE(f.datagram("b@h").drop);
  EXPECT_TRUE(f.stream("b@h").drop);
  EXPECT_FALSE(f.datagram("c@h").drop);

  f.set("b@h", {.drop = 0.5, .delay = 20ms});
  int lost = 0;
  for (int i = 0; i < 1000; ++i) {
    auto v = f.datagram("b@h");
    if (v.drop) {
      ++lost;
    } else {
      EXPECT_EQ(v.delay, 20ms);
    }
    // A stream never loses a message short of a cut: it comes late (a retransmission).
    auto s = f.stream("b@h");
    EXPECT_FALSE(s.drop);
    EXPECT_TRUE(s.delay == 20ms || s.delay == 20ms + f.retransmit_delay());
  }
  EXPECT_GT(lost, 400);
  EXPECT_LT(lost, 600);

  f.set("b@h", {});  // nothing: cleared
  EXPECT_FALSE(f.any());
  f.set("b@h", {.delay = 5ms});
  f.set("c@h", {.drop = 1.0});
  f.clear_all();
  EXPECT_FALSE(f.any());
  EXPECT_FALSE(f.datagram("c@h").drop);
}

// A cut set on a alone: a drops b's traffic both ways, so both see the other failed and the
// link go down; b's redials are refused at a's handshake. Clearing it: alive and linked again.
TEST(FaultSeam, OneSidedCutIsSeenFailedFromBothSidesAndHeals) {
  Pair p;
  const size_t a_seen = p.a.event_count();
  const size_t b_seen = p.b.event_count();
  p.a.faults->set(p.b.full_name(), {.drop = 1.0});

  EXPECT_TRUE(p.a.await_event(EventKind::failed, p.b.full_name(), a_seen));
  EXPECT_TRUE(p.b.await_event(EventKind::failed, p.a.full_name(), b_seen));
  EXPECT_TRUE(p.a.await_node_event<otp::NodeDown>(p.b.full_name()));
  EXPECT_TRUE(p.b.await_node_event<otp::NodeDown>(p.a.full_name()));
  EXPECT_FALSE(p.a.linked_to(p.b.full_name()));
  EXPECT_GT(p.a.faults->stats().dropped, 0u);

  const size_t a_cut = p.a.event_count();
  const size_t b_cut = p.b.event_count();
  p.a.faults->clear(p.b.full_name());
  // Back: a new "alive" (refuted) or "joined" event, and a link.
  auto back = [](SeamNode& n, const std::string& peer, size_t from) {
    std::unique_lock<std::mutex> lock(n.mx);
    return n.cv.wait_for(lock, kWait, [&] {
      for (size_t i = from; i < n.events.size(); ++i) {
        const auto& e = n.events[i];
        if (e.member.id.full_name() == peer &&
            (e.kind == EventKind::alive || e.kind == EventKind::joined))
          return true;
      }
      return false;
    });
  };
  EXPECT_TRUE(back(p.a, p.b.full_name(), a_cut));
  EXPECT_TRUE(back(p.b, p.a.full_name(), b_cut));
  EXPECT_TRUE(p.a.await_node_event<otp::NodeUp>(p.b.full_name()));
  EXPECT_TRUE(p.b.await_node_event<otp::NodeUp>(p.a.full_name()));
  ASSERT_TRUE(otp::gen_server::start<Echo>(p.b.node, otp::name("echo")));
  EXPECT_EQ(
      answer(otp::gen_server::call<int>(p.a.node, otp::remote_name("echo", p.b.full_name()), 7)),
      7);
}

// Without gossip the transport alone obeys the seam: a cut on the accepting side closes the link
// at its next frame (a heartbeat at the latest) and refuses the dialer's handshakes before its
// own Hello, so the dialer never sees a link up either; cleared, the dialer's next try links
// again.
TEST(FaultSeam, TransportCutClosesTheLinkAndRefusesTheHandshakeUntilCleared) {
  SeamNode a("ta", {}, /*gossip=*/false);
  SeamNode b("tb", {}, /*gossip=*/false);
  ASSERT_TRUE(a.cluster->connect("127.0.0.1:" + std::to_string(b.cluster->port())));
  ASSERT_TRUE(a.await_node_event<otp::NodeUp>(b.full_name()));
  ASSERT_TRUE(b.await_node_event<otp::NodeUp>(a.full_name()));
  // The transport's lines of a link coming up (a dials b).
  const std::string a_up = " up (we dialed)";
  const std::string b_up = " up (the peer dialed)";
  ASSERT_EQ(a.log_count(a_up), 1u);
  ASSERT_EQ(b.log_count(b_up), 1u);

  b.faults->set(a.full_name(), {.drop = 1.0});
  EXPECT_TRUE(a.await_node_event<otp::NodeDown>(b.full_name()));
  EXPECT_TRUE(b.await_node_event<otp::NodeDown>(a.full_name()));
  // a keeps dialing; b refuses each try until the cut is cleared.
  const std::string cut = a.full_name() + " is cut off";
  EXPECT_TRUE(b.await_log(cut, 3));  // the link, then two handshakes
  // a's second try began after its first one closed: had that one come up on a, it would be
  // logged by now. Neither side saw a link up since the cut.
  EXPECT_EQ(a.log_count(a_up), 1u) << a.log_text();
  EXPECT_EQ(b.log_count(b_up), 1u) << b.log_text();
  EXPECT_FALSE(a.linked_to(b.full_name()));
  EXPECT_FALSE(b.linked_to(a.full_name()));
  b.faults->clear(a.full_name());
  EXPECT_TRUE(a.await_node_event<otp::NodeUp>(b.full_name()));
  EXPECT_TRUE(b.await_node_event<otp::NodeUp>(a.full_name()));
}

// The same with the cut on the dialing side, before its first dial: its handshake ends once the
// acceptor's Hello names the cut peer, before its own Proof, so the acceptor never sees a link up.
TEST(FaultSeam, ACutOnTheDialingSideEndsItsHandshakeBeforeItsProof) {
  SeamNode a("da", {}, /*gossip=*/false);
  SeamNode b("db", {}, /*gossip=*/false);
  a.faults->set(b.full_name(), {.drop = 1.0});
  ASSERT_TRUE(a.cluster->connect("127.0.0.1:" + std::to_string(b.cluster->port())));
  const std::string cut = b.full_name() + " is cut off";
  EXPECT_TRUE(a.await_log(cut, 1));
  // b saw the connection end before a's Proof (or a Reject) came.
  EXPECT_TRUE(b.await_log("during the handshake", 1)) << b.log_text();
  EXPECT_EQ(a.log_count(" up ("), 0u) << a.log_text();
  EXPECT_EQ(b.log_count(" up ("), 0u) << b.log_text();
  a.faults->clear(b.full_name());
  EXPECT_TRUE(a.await_node_event<otp::NodeUp>(b.full_name()));
  EXPECT_TRUE(b.await_node_event<otp::NodeUp>(a.full_name()));
}

/// A UDP socket on 127.0.0.1 that sends gossip packets signed as a member would.
class RawGossiper {
 public:
  explicit RawGossiper(otp::protocol::gossip::Key key) : key_(std::move(key)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("no UDP socket on 127.0.0.1");
    }
    port_ = ntohs(a.sin_port);
  }
  ~RawGossiper() { ::close(fd_); }
  RawGossiper(const RawGossiper&) = delete;
  RawGossiper& operator=(const RawGossiper&) = delete;

  /// A gossip datagram to port whose only news is that `name`@127.0.0.1 is alive at this
  /// socket's address: what a node that was never heard of sends first.
  void announce(const std::string& name, uint16_t port) {
    namespace gossip = otp::protocol::gossip;
    gossip::Update u{.kind = gossip::UpdateKind::alive,
                     .node = {name, "127.0.0.1", 1},
                     .has_info = true,
                     .gossip = {"127.0.0.1", port_},
                     .meta = {.data = {"127.0.0.1", 1}}};
    const auto bytes = gossip::encode(gossip::Packet{gossip::Gossip{}, {u}}, key_);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(
        ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
        static_cast<ssize_t>(bytes.size()));
  }

 private:
  otp::protocol::gossip::Key key_;
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A datagram from an address no event named yet, and no ping: the membership driver still finds
// the sender in it (the alive update placing it at that address), so a cut drops it. A peer not
// cut, announcing itself the same way, is heard.
TEST(FaultSeam, GossipFromAnAddressNeverSeenIsDroppedWhenItNamesACutSender) {
  auto faults = std::make_shared<FaultInjector>(42);
  otp::cluster::MembershipDriverOptions o;
  o.self = {"g", "127.0.0.1", 0};
  o.gossip.membership.cookie = "seam-test";
  o.gossip.leave_timeout = 0ms;
  o.faults = faults;
  o.log = [](std::string_view, std::string_view) {};
  auto driver = otp::cluster::MembershipDriver::start(std::move(o));
  ASSERT_TRUE(driver) << driver.error();
  auto& g = **driver;
  const otp::protocol::gossip::Key key{.cluster = "otp", .cookie = "seam-test"};
  const std::string cut = "cut@127.0.0.1";
  faults->set(cut, {.drop = 1.0});

  RawGossiper cut_sender(key);
  RawGossiper other_sender(key);
  cut_sender.announce("cut", g.port());
  other_sender.announce("other", g.port());  // after the cut one: heard, so that one was handled
  auto knows = [&](const std::string& full_name) {
    const auto members = g.members();
    return std::any_of(members.begin(), members.end(), [&](const otp::membership::Member& m) {
      return m.id.full_name() == full_name;
    });
  };
  EXPECT_TRUE(otp_test::eventually([&] { return knows("other@127.0.0.1"); }, kWait));
  EXPECT_FALSE(knows(cut));
  EXPECT_EQ(faults->stats().dropped, 1u);
  g.stop();
}

// 30 % of the traffic lost both ways at a: gossip loses datagrams, links only stall (TCP
// retransmits), membership keeps both alive and calls are answered.
TEST(FaultSeam, LossyLinkKeepsMembershipAndAnswersCalls) {
  Pair p;
  ASSERT_TRUE(otp::gen_server::start<Echo>(p.b.node, otp::name("echo")));
  const size_t a_seen = p.a.event_count();
  const size_t b_seen = p.b.event_count();
  p.a.faults->set(p.b.full_name(), {.drop = 0.3});
  const auto echo = otp::remote_name("echo", p.b.full_name());
  for (int i = 0; i < 40; ++i) {
    auto r = otp::gen_server::call<int>(p.a.node, echo, i, 30s);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(*r, i);
    std::this_thread::sleep_for(50ms);  // spread the calls over the gossip rounds (not a wait)
  }
  EXPECT_GT(p.a.faults->stats().dropped, 0u);  // datagrams were lost
  EXPECT_GT(p.a.faults->stats().delayed, 0u);  // frames were retransmitted
  auto no_failure = [](SeamNode& n, size_t from) {
    std::lock_guard<std::mutex> lock(n.mx);
    for (size_t i = from; i < n.events.size(); ++i) {
      if (n.events[i].kind == EventKind::failed) return false;
    }
    return true;
  };
  EXPECT_TRUE(no_failure(p.a, a_seen));
  EXPECT_TRUE(no_failure(p.b, b_seen));
  EXPECT_TRUE(p.a.linked_to(p.b.full_name()));
}

// A delay set on a alone slows both directions: a call from a to b is answered, at least two
// delays later (the request out of a, the reply into a).
TEST(FaultSeam, SlowLinkDelaysBothDirections) {
  Pair p;
  ASSERT_TRUE(otp::gen_server::start<Echo>(p.b.node, otp::name("echo")));
  const auto echo = otp::remote_name("echo", p.b.full_name());
  ASSERT_EQ(answer(otp::gen_server::call<int>(p.a.node, echo, 1)), 1);
  p.a.faults->set(p.b.full_name(), {.delay = 150ms});
  const auto t0 = std::chrono::steady_clock::now();
  auto r = otp::gen_server::call<int>(p.a.node, echo, 2, 30s);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, 2);
  EXPECT_GE(took, 300ms);
  // Messages keep their order while the delay changes and is cleared under them.
  ASSERT_TRUE(otp::gen_server::start<InOrder>(p.b.node, otp::name("in_order")));
  const auto in_order = otp::remote_name("in_order", p.b.full_name());
  for (int i = 0; i < 300; ++i) {
    if (i == 100) p.a.faults->set(p.b.full_name(), {.delay = 20ms});
    if (i == 200) p.a.faults->clear(p.b.full_name());
    otp::gen_server::cast(p.a.node, in_order, i);
  }
  EXPECT_EQ(answer(otp::gen_server::call<int>(p.a.node, in_order, 0, 30s)), 300);
  EXPECT_TRUE(p.a.linked_to(p.b.full_name()));
}

}  // namespace
