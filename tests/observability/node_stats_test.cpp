// Node::stats(): processes, the messages and calls handled on every scheduler thread, and the
// run queue.
#include <gtest/gtest.h>

#include "otp/otp.hpp"
#include "support/eventually.hpp"
#include "support/receive.hpp"

namespace {

struct Get {};
struct Bump {};
struct Block {};

class Counter : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Get&) { return otp::reply(n_); });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const Bump&) {
      ++n_;
      return otp::noreply();
    });
  }

 private:
  int n_ = 0;
};

TEST(NodeStats, CountsProcessesMessagesAndCallsOnEveryThread) {
  otp::Node node({.name = "stats", .scheduler_threads = 2, .log_crashes = false});
  const otp::NodeStats before = node.stats();
  std::vector<otp::Pid> servers;
  for (int i = 0; i < 4; ++i) servers.push_back(otp::gen_server::start<Counter>(node).value());
  EXPECT_EQ(node.stats().processes, before.processes + 4);
  for (int round = 0; round < 25; ++round) {
    for (const auto& s : servers) {
      otp::gen_server::cast(node, s, Bump{});
      ASSERT_TRUE(otp::gen_server::call<int>(node, s, Get{}));
    }
  }
  // 100 calls answered; their casts were handled before them (same sender, same server).
  const otp::NodeStats after = node.stats();
  EXPECT_EQ(after.calls_handled - before.calls_handled, 100u);
  EXPECT_GE(after.messages_handled - before.messages_handled, 200u);
}

/// Holds its scheduler thread in handle_cast(Block) until released.
class Blocker : public otp::GenServer {
 public:
  Blocker(otp_test::Latch* entered, otp_test::Latch* release)
      : entered_(*entered), release_(*release) {}
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const Block&) {
      entered_.count_down();
      release_.wait();
      return otp::noreply();
    });
  }

 private:
  otp_test::Latch& entered_;
  otp_test::Latch& release_;
};

TEST(NodeStats, TheRunQueueCountsProcessesWaitingForASchedulerThread) {
  otp_test::Latch entered(1);
  otp_test::Latch release(1);  // outlives the node: its handler may still be leaving wait()
  otp::Node node({.name = "run_queue", .scheduler_threads = 1, .log_crashes = false});
  std::vector<otp::Pid> servers;
  for (int i = 0; i < 3; ++i) servers.push_back(otp::gen_server::start<Counter>(node).value());
  auto blocker = otp::gen_server::start<Blocker>(node, &entered, &release).value();
  EXPECT_TRUE(otp_test::eventually([&] { return node.stats().run_queue == 0; }));

  // The one scheduler thread is held: three servers with a message each wait for it.
  otp::gen_server::cast(node, blocker, Block{});
  otp_test::ReleaseOnExit unblock(release);
  ASSERT_TRUE(entered.wait());
  for (const auto& s : servers) otp::gen_server::cast(node, s, Bump{});
  EXPECT_TRUE(otp_test::eventually([&] { return node.stats().run_queue == 3; }))
      << node.stats().run_queue;

  release.count_down();
  EXPECT_TRUE(otp_test::eventually([&] { return node.stats().run_queue == 0; }))
      << node.stats().run_queue;
  for (const auto& s : servers) EXPECT_EQ(otp::gen_server::call<int>(node, s, Get{}).value(), 1);
}

}  // namespace
