// Blocking client functions called inside a handler through a Node& (which escapes the
// compile-time guards of otp/handler_node.hpp): they fail with would_block, and the message
// names the non-blocking function to use instead. (task::await and friends: task_many_test.)
#include <string>
#include <vector>

#include "support/workers.hpp"

using otp::ErrorCode;
using otp::Pid;

namespace {

struct Get {};
struct Blocking {};

class Counter : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Get&) { return otp::reply(1); });
  }
};

/// Tries each blocking function and replies with the errors' messages.
class Misuser : public otp::GenServer {
 public:
  explicit Misuser(Pid other) : other_(std::move(other)) {}
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Blocking&) {
      otp::Node& n = node();
      auto message = [](const auto& r) {
        return r ? std::string("succeeded") : r.error().to_string();
      };
      std::vector<std::string> messages{
          message(otp::gen_server::call<int>(n, other_, Get{})),
          message(otp::gen_server::start<Counter>(n)),
          message(otp::gen_server::stop(n, other_)),
          message(otp::supervisor::count_children(n, other_)),
          message(otp::task_supervisor::start_link(n)),
      };
      return otp::reply(messages);
    });
  }

 private:
  Pid other_;
};

}  // namespace

TEST(WouldBlock, BlockingCallsInsideAHandlerNameTheNonBlockingFunction) {
  otp::Node node({.name = "would_block", .scheduler_threads = 2, .log_crashes = false});
  Pid other = otp::gen_server::start<Counter>(node).value();
  Pid misuser = otp::gen_server::start<Misuser>(node, other).value();
  auto r = otp::gen_server::call<std::vector<std::string>>(node, misuser, Blocking{});
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->size(), 5u);
  const std::vector<std::string> expected{
      "use GenServer::await_call(target, request, continuation, timeout)",
      "use GenServer::await_call(sup, supervisor::StartChild{spec}",
      "use otp::monitor(pid) and otp::exit(pid, reason)",
      "use GenServer::await_call(target, request, continuation, timeout)",
      "use GenServer::await_call(sup, supervisor::StartChild{spec}",
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NE((*r)[i].find("would block the process"), std::string::npos) << (*r)[i];
    EXPECT_NE((*r)[i].find(expected[i]), std::string::npos) << (*r)[i];
  }
  EXPECT_TRUE(otp::alive(misuser));
  EXPECT_TRUE(otp::alive(other));
}
