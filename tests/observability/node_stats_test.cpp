// Node::stats(): processes, and the messages and calls handled on every scheduler thread.
#include <gtest/gtest.h>

#include "otp/otp.hpp"

namespace {

struct Get {};
struct Bump {};

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

}  // namespace
