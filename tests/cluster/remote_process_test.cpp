// Remote processes between real node processes on loopback: this test process is node "t"
// (a Node with a Cluster) and starts otp-node processes, then calls, casts, monitors and links
// across them, kills them (-9), freezes them (SIGSTOP), restarts them, and feeds their ports bad
// input. The otp-nodes are an otp::testkit::ProcessCluster without membership (this node links to
// them); every one is bounded (--max-seconds) and killed by PID at the end of its test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "otp/cluster/cluster.hpp"
#include "otp/distributed.hpp"
#include "otp/protocol/codec.hpp"
#include "otp/protocol/framing.hpp"
#include "otp/protocol/handshake.hpp"
#include "otp/testkit/process_cluster.hpp"
#include "services/cluster_services.hpp"
#include "support/eventually.hpp"
#include "support/time_scale.hpp"

namespace {

using namespace std::chrono_literals;

constexpr auto kLong = 15s;
constexpr const char* kCookie = "cluster-test-cookie";
constexpr int kHeartbeatMs = 200;
constexpr int kDeadLinkMs = 1000;

using otp::testkit::ProcessCluster;

/// `count` otp-nodes n1.. with no membership (linked by connect, or by their --connect), on ports
/// the kernel chooses (a port picked by the test could be an ephemeral port another connection
/// holds), with fast heartbeats and `args` of the test's own.
std::unique_ptr<ProcessCluster> start_peers(size_t count, std::vector<std::string> args = {},
                                            const std::string& cookie = kCookie) {
  std::vector<std::string> all = {"--heartbeat-ms", std::to_string(kHeartbeatMs),
                                  "--dead-link-ms", std::to_string(kDeadLinkMs),
                                  "--threads",      "2"};
  all.insert(all.end(), args.begin(), args.end());
  return std::make_unique<ProcessCluster>(
      otp::testkit::ProcessClusterOptions{.nodes = count,
                                          .program = OTP_NODE_BIN,
                                          .cookie = cookie,
                                          .args = std::move(all),
                                          .gossip = false,
                                          .max_seconds = 120});
}

/// Log lines of this process's transport.
class LogSink {
 public:
  void add(std::string_view level, std::string_view text) {
    std::lock_guard<std::mutex> g(mx_);
    text_ += std::string(level) + ": " + std::string(text) + "\n";
  }
  bool contains(const std::string& s) const {
    std::lock_guard<std::mutex> g(mx_);
    return text_.find(s) != std::string::npos;
  }
  std::string text() const {
    std::lock_guard<std::mutex> g(mx_);
    return text_;
  }

 private:
  mutable std::mutex mx_;
  std::string text_;
};

class RemoteProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    services::register_types();
    ASSERT_TRUE(otp::supervisor::start_link(node, services::child_specs(), {}));
    otp::distribution::monitor_nodes(node, events.pid());
    otp::cluster::ClusterOptions config{.name = "t", .cookie = kCookie};
    config.transport.heartbeat_interval = std::chrono::milliseconds(kHeartbeatMs);
    config.transport.dead_link_timeout = std::chrono::milliseconds(kDeadLinkMs);
    config.transport.log = [this](std::string_view level, std::string_view text) {
      log.add(level, text);
    };
    auto c = otp::cluster::Cluster::start(node, config);
    ASSERT_TRUE(c) << c.error();
    cluster = std::move(*c);
  }
  void TearDown() override { cluster->stop(); }

  /// Connects to node i of peers and waits for its nodeup.
  void connect(ProcessCluster& peers, size_t i) {
    ASSERT_TRUE(cluster->connect(peers.data_address(i)));
    wait_up(peers.name(i));
  }
  void wait_up(const std::string& who) {
    for (;;) {
      auto up = events.receive_as<otp::NodeUp>(kLong);
      ASSERT_TRUE(up) << "no nodeup for " << who << "; log:\n" << log.text();
      if (up->node == who) return;
    }
  }
  std::optional<otp::NodeDown> wait_down(const std::string& who, std::chrono::milliseconds t) {
    auto deadline = std::chrono::steady_clock::now() + t;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto down = events.receive_as<otp::NodeDown>(left);
      if (!down) return std::nullopt;
      if (down->node == who) return down;
    }
  }
  otp::Pid pid_of(ProcessCluster& peers, size_t i, const std::string& name) {
    auto pid = otp::gen_server::call<otp::Pid>(node, otp::remote_name(name, peers.name(i)),
                                               services::WhoAmI{});
    EXPECT_TRUE(pid) << pid.error();
    return pid ? *pid : otp::Pid();
  }
  std::string self_name() const { return cluster->self().full_name(); }

  otp::Node node{{.name = "t", .scheduler_threads = 2, .log_crashes = false}};
  otp::Inbox events{node};
  LogSink log;
  std::unique_ptr<otp::cluster::Cluster> cluster;
};

// -- a raw TCP client, for bad input --

class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{.tv_sec = 0, .tv_usec = 200'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  void write(const std::vector<uint8_t>& bytes) {
    (void)!::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  /// True once the peer closed the connection (EOF or reset) within the timeout; bytes it sends
  /// meanwhile are collected into received().
  bool closed_by_peer_within(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      uint8_t buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return true;
      if (n > 0) decoder_.feed({buf, static_cast<size_t>(n)});
    }
    return false;
  }
  /// The next decoded message from the peer (handshake), waiting up to timeout.
  std::optional<otp::protocol::Message> next_message(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto f = decoder_.next();
      if (!f) return std::nullopt;
      if (f.value()) {
        auto m = otp::protocol::decode(*f.value(), otp::protocol::Codec::msgpack);
        if (!m) return std::nullopt;
        return std::move(m).value();
      }
      uint8_t buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return std::nullopt;
      if (n > 0) decoder_.feed({buf, static_cast<size_t>(n)});
    }
    return std::nullopt;
  }
  void send_message(const otp::protocol::Message& m) {
    write(otp::protocol::encode_frame(otp::protocol::encode(m, otp::protocol::Codec::msgpack))
              .value());
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  otp::protocol::FrameDecoder decoder_;
};

// -- calls, casts, sends ---------------------------------------------------------------------

TEST_F(RemoteProcessTest, CallsAndCastsBothWaysWithARealNode) {
  auto peers = start_peers(1);
  const std::string b = peers->name(0);
  connect(*peers, 0);
  auto counter = otp::remote_name("counter", b);
  EXPECT_EQ(otp::gen_server::call<int>(node, counter, services::Add{2}).value(), 2);
  for (int i = 0; i < 500; ++i) otp::gen_server::cast(node, counter, services::Increment{1});
  EXPECT_EQ(otp::gen_server::call<int>(node, counter, services::Get{}).value(), 502);
  // b calls back into this node (its relay awaits a call to our echo).
  auto back = otp::gen_server::call<nlohmann::json>(
      node, otp::remote_name("relay", b),
      services::Relay{self_name(), "counter", nlohmann::json(nullptr)});
  ASSERT_TRUE(back) << back.error();
  // Our counter does not take json: the error comes back as a value, naming what failed.
  EXPECT_TRUE(back->contains("error")) << *back;
  auto echoed = otp::gen_server::call<nlohmann::json>(
      node, otp::remote_name("relay", b),
      services::Relay{self_name(), "echo", nlohmann::json({{"from", "b"}})});
  ASSERT_TRUE(echoed) << echoed.error();
  EXPECT_EQ((*echoed)["from"], "b");
  // b sends to a pid of ours (relay's Forward): a plain message crosses back.
  otp::Inbox inbox(node);
  otp::gen_server::cast(node, otp::remote_name("relay", b),
                        services::Forward{inbox.pid(), nlohmann::json("hello t")});
  auto m = inbox.receive_as<nlohmann::json>(kLong);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, "hello t");
}

TEST_F(RemoteProcessTest, ThreeNodes) {
  auto peers = start_peers(1);  // n1 ("c")
  const size_t b_index = peers->add_node({.args = {"--connect", peers->data_address(0)}});
  const std::string b = peers->name(b_index), c = peers->name(0);
  connect(*peers, b_index);
  connect(*peers, 0);
  ASSERT_NO_THROW(peers->await_line(b_index, "nodeup " + c, kLong));
  // t -> b -> c: b's relay calls c's counter.
  auto r = otp::gen_server::call<nlohmann::json>(node, otp::remote_name("relay", b),
                                                 services::Relay{c, "echo", nlohmann::json(42)});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(cluster->nodes(), (std::vector<std::string>{c, b}));
}

// -- failures ----------------------------------------------------------------------------------

TEST_F(RemoteProcessTest, Kill9FiresMonitorsAndFailsPendingCallsFast) {
  auto peers = start_peers(1);
  const std::string b = peers->name(0);
  connect(*peers, 0);
  otp::Pid echo = pid_of(*peers, 0, "echo");
  otp::Inbox watcher(node);
  watcher.monitor(echo);
  otp::Result<otp::Ok> pending = otp::Error(otp::ErrorCode::timeout, "not run");
  auto sent_before = cluster->stats().messages_sent;
  std::thread caller(
      [&] { pending = otp::gen_server::call<otp::Ok>(node, echo, services::Never{}, 60s); });
  // Kill once the call is on the link (delivered or not, it is in flight and must fail fast).
  ASSERT_TRUE(otp_test::eventually([&] { return cluster->stats().messages_sent > sent_before; }));
  peers->kill(0);
  caller.join();
  ASSERT_FALSE(pending);
  // nodedown, not timeout: the death ended the call, not its 60 s deadline.
  EXPECT_EQ(pending.error().code(), otp::ErrorCode::nodedown) << pending.error();
  auto down = watcher.receive_as<otp::Down>(kLong);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason.kind(), otp::Reason::Kind::noconnection);
  // Calls made now fail at once.
  auto r = otp::gen_server::call<int>(node, otp::remote_name("counter", b), services::Get{}, 60s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), otp::ErrorCode::nodedown);
}

TEST_F(RemoteProcessTest, AFrozenNodeIsDetectedByHeartbeatAndComesBackAsTheSameIncarnation) {
  auto peers = start_peers(1);
  const std::string b = peers->name(0);
  connect(*peers, 0);
  otp::Pid echo = pid_of(*peers, 0, "echo");
  peers->pause(0);
  auto stopped_at = std::chrono::steady_clock::now();
  auto down = wait_down(b, kLong);
  ASSERT_TRUE(down) << log.text();
  auto detected = std::chrono::steady_clock::now() - stopped_at;
  // The bound is the dead-link timeout (plus scheduling slack), not TCP's minutes.
  EXPECT_LT(detected, (std::chrono::milliseconds(kDeadLinkMs) + 2s) * otp_test::kTimeScale)
      << std::chrono::duration_cast<std::chrono::milliseconds>(detected).count() << " ms";
  peers->resume(0);
  wait_up(b);
  // Same incarnation: the pid we held still reaches the same process.
  auto r = otp::gen_server::call<nlohmann::json>(node, echo, nlohmann::json("still here"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, "still here");
}

TEST_F(RemoteProcessTest, ARestartedNodeIsANewIncarnation) {
  auto peers = start_peers(1);
  const std::string b = peers->name(0);
  connect(*peers, 0);
  const otp::Pid old_echo = pid_of(*peers, 0, "echo");
  peers->kill(0);
  ASSERT_TRUE(wait_down(b, kLong));
  peers->restart(0);  // a new run on the same port, where we keep redialing
  wait_up(b);
  auto r = otp::gen_server::call<nlohmann::json>(node, old_echo, nlohmann::json(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), otp::ErrorCode::noproc) << r.error();
  auto fresh =
      otp::gen_server::call<nlohmann::json>(node, otp::remote_name("echo", b), nlohmann::json(2));
  ASSERT_TRUE(fresh) << fresh.error();
  EXPECT_NE(pid_of(*peers, 0, "echo"), old_echo);
}

// -- bad input ----------------------------------------------------------------------------------

TEST_F(RemoteProcessTest, AWrongCookieIsRejectedAndLoggedOnBothSides) {
  auto peers = start_peers(1, {}, "another-cookie");
  ASSERT_TRUE(cluster->connect(peers->data_address(0)));
  EXPECT_TRUE(otp_test::eventually([&] { return log.contains("bad_mac"); }, kLong)) << log.text();
  EXPECT_TRUE(otp_test::eventually(
      [&] { return peers->process(0).stderr_text().find("bad_mac") != std::string::npos; }, kLong))
      << peers->process(0).stderr_text();
  EXPECT_FALSE(events.receive_as<otp::NodeUp>(300ms));
  EXPECT_TRUE(cluster->nodes().empty());
}

TEST_F(RemoteProcessTest, GarbageBytesCloseThatConnectionOnly) {
  auto peers = start_peers(1);
  const std::string b = peers->name(0);
  connect(*peers, 0);
  RawClient raw(peers->port(0));
  ASSERT_TRUE(raw.connected());
  std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  raw.write(std::vector<uint8_t>(junk.begin(), junk.end()));
  EXPECT_TRUE(raw.closed_by_peer_within(kLong));
  EXPECT_TRUE(otp_test::eventually(
      [&] { return peers->process(0).stderr_text().find("127.0.0.1") != std::string::npos; },
      kLong));
  EXPECT_EQ(
      otp::gen_server::call<int>(node, otp::remote_name("counter", b), services::Add{1}).value(),
      1);
}

TEST_F(RemoteProcessTest, AnOversizedFrameClosesThatLinkOnly) {
  auto peers = start_peers(1, {"--max-frame-bytes", "65536"});
  const std::string b = peers->name(0);
  connect(*peers, 0);
  // A proper handshake first, as a node "x" that knows the cookie, then a frame claiming 16 MiB.
  RawClient raw(peers->port(0));
  ASSERT_TRUE(raw.connected());
  auto hs = otp::protocol::Handshake::initiator(
      {.cluster = "otp", .self = {"x", "127.0.0.1", 9}, .cookie = kCookie});
  for (auto& m : hs.start().send) raw.send_message(m);
  while (!hs.done()) {
    auto m = raw.next_message(kLong);
    ASSERT_TRUE(m) << "handshake with " << b << " did not finish";
    for (auto& out : hs.on_message(*m).send) raw.send_message(out);
  }
  ASSERT_EQ(hs.outcome().state, otp::protocol::HandshakeState::established)
      << hs.outcome().to_string();
  auto header = otp::protocol::frame_header(16u << 20);
  raw.write(std::vector<uint8_t>(header.begin(), header.end()));
  EXPECT_TRUE(raw.closed_by_peer_within(kLong));
  EXPECT_TRUE(otp_test::eventually(
      [&] { return peers->process(0).stderr_text().find("x@127.0.0.1") != std::string::npos; },
      kLong));
  // Our own link to b is another link: unaffected.
  EXPECT_EQ(
      otp::gen_server::call<int>(node, otp::remote_name("counter", b), services::Add{1}).value(),
      1);
  EXPECT_EQ(cluster->nodes(), std::vector<std::string>{b});
}

TEST_F(RemoteProcessTest, AClientThatSendsNothingIsFreedByTheHandshakeTimeout) {
  auto peers = start_peers(1, {"--handshake-timeout-ms", "500"});
  RawClient raw(peers->port(0));
  ASSERT_TRUE(raw.connected());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(raw.closed_by_peer_within(kLong));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s * otp_test::kTimeScale);
  // b still accepts proper nodes.
  connect(*peers, 0);
}

}  // namespace

namespace {

TEST(ClusterLifetime, ANodeShutDownBeforeItsClusterStopsTheClusterAndLeavesNothingBehind) {
  auto node = std::make_unique<otp::Node>(
      otp::NodeOptions{.name = "early", .scheduler_threads = 1, .log_crashes = false});
  auto cluster = otp::cluster::Cluster::start(*node, {.name = "early", .cookie = kCookie});
  ASSERT_TRUE(cluster) << cluster.error();
  uint16_t port = (*cluster)->port();
  node.reset();  // shutdown detaches: the transport stops with it
  RawClient raw(port);
  EXPECT_FALSE(raw.connected()) << "the listener outlived the node";
  (*cluster)->stop();  // a no-op now, and it must not touch the destroyed node
  cluster->reset();
}

}  // namespace
