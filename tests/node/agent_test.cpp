// Agent: get, update, get_and_update, cast, stop, by name and under a supervisor.
#include "support/eventually.hpp"

using namespace std::chrono_literals;
using otp::ErrorCode;
using otp::Pid;
using otp_test::eventually;

namespace {
class AgentTest : public ::testing::Test {
 protected:
  otp::Node node{{.name = "agent", .scheduler_threads = 2, .log_crashes = false}};
};
}  // namespace

TEST_F(AgentTest, AFunctionThatThrowsCrashesTheAgentAndTheCallerGetsAnExitError) {
  Pid a = otp::agent::start_link<int>(node, [] { return 0; }).value();
  auto r =
      otp::agent::get<int>(node, a, [](const int&) -> int { throw std::runtime_error("bad"); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::exit);
  EXPECT_FALSE(otp::alive(a));
}

TEST_F(AgentTest, UsingTheWrongStateTypeFailsWithBadCall) {
  Pid a = otp::agent::start_link<int>(node, [] { return 0; }).value();
  auto r = otp::agent::get<std::string>(node, a, [](const std::string& s) { return s; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::bad_call);
  EXPECT_TRUE(otp::alive(a));
}

TEST_F(AgentTest, GetUpdateGetAndUpdateCastByName) {
  ASSERT_TRUE(otp::agent::start_link<int>(
      node, [] { return 5; }, otp::name("n")));
  EXPECT_EQ(otp::agent::get<int>(node, "n", [](const int& n) { return n * 2; }).value(), 10);
  ASSERT_TRUE(otp::agent::update<int>(node, "n", [](int n) { return n + 1; }));
  auto old = otp::agent::get_and_update<int>(node, "n", [](int n) { return std::pair(n, 0); });
  EXPECT_EQ(old.value(), 6);
  otp::agent::cast<int>(node, "n", [](int n) { return n + 40; });
  EXPECT_EQ(otp::agent::get<int>(node, "n", [](const int& n) { return n; }).value(), 40);
  ASSERT_TRUE(otp::agent::stop(node, "n"));
  EXPECT_EQ(otp::agent::get<int>(node, "n", [](const int& n) { return n; }).code(),
            ErrorCode::noproc);
}

TEST_F(AgentTest, LargeStateIsMovedNotCopied) {
  using Map = std::map<std::string, std::string>;
  ASSERT_TRUE(otp::agent::start_link<Map>(
      node, [] { return Map{}; }, otp::name("m")));
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(otp::agent::update<Map>(node, "m", [i](Map m) {
      m["k" + std::to_string(i)] = "v";
      return m;
    }));
  EXPECT_EQ(otp::agent::get<Map>(node, "m", [](const Map& m) { return m.size(); }).value(), 100u);
}

TEST_F(AgentTest, UnderASupervisorACrashedAgentRestartsWithItsInitialValue) {
  otp::supervisor::start_link(node, {otp::agent::spec<int>("a", [] { return 1; }).named("sa")}, {})
      .value();
  ASSERT_TRUE(otp::agent::update<int>(node, "sa", [](int n) { return n + 1; }));
  Pid before = node.whereis("sa").value();
  (void)otp::agent::get<int>(node, "sa", [](const int&) -> int { throw std::runtime_error("x"); });
  ASSERT_TRUE(eventually([&] {
    auto p = node.whereis("sa");
    return p && *p != before;
  }));
  EXPECT_EQ(otp::agent::get<int>(node, "sa", [](const int& n) { return n; }).value(), 1);
}
