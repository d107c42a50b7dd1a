// Agent: get, update, get_and_update, cast, stop, by name and under a supervisor; the typed
// handle Agent<T> and what it refuses to compile.
#include <map>
#include <string>
#include <type_traits>
#include <utility>

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
  Pid a = otp::agent::start_link<int>(node, [] { return 0; }).value().pid().value();
  auto r =
      otp::agent::get<int>(node, a, [](const int&) -> int { throw std::runtime_error("bad"); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::exit);
  EXPECT_FALSE(otp::alive(a));
}

TEST_F(AgentTest, ByNameUsingTheWrongStateTypeFailsWithBadCall) {
  Pid a = otp::agent::start_link<int>(node, [] { return 0; }).value().pid().value();
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
  otp::supervisor::start_link(node, {otp::agent::spec("a", [] { return 1; }).named("sa")}, {})
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

// -- the typed handle ----------------------------------------------------------------------------

namespace {
auto for_int = [](int n) { return n + 1; };
auto for_string = [](std::string s) { return s + "!"; };
auto read_string = [](const std::string& s) { return s.size(); };
auto swap_string = [](std::string s) { return std::pair(s.size(), s); };
auto swap_int = [](int n) { return std::pair(n, 0); };

template <class A, class F>
concept CanGet = requires(const A& a, F f) {
  a.get(f);
};
template <class A, class F>
concept CanUpdate = requires(const A& a, F f) {
  a.update(f);
};
template <class A, class F>
concept CanCast = requires(const A& a, F f) {
  a.cast(f);
};
template <class A, class F>
concept CanGetAndUpdate = requires(const A& a, F f) {
  a.get_and_update(f);
};
}  // namespace

// An Agent<int> takes functions of int and nothing else: the wrong T does not compile.
static_assert(CanUpdate<otp::Agent<int>, decltype(for_int)>);
static_assert(!CanUpdate<otp::Agent<int>, decltype(for_string)>);
static_assert(!CanCast<otp::Agent<int>, decltype(for_string)>);
static_assert(!CanGet<otp::Agent<int>, decltype(read_string)>);
static_assert(!CanGetAndUpdate<otp::Agent<int>, decltype(swap_string)>);
static_assert(CanGetAndUpdate<otp::Agent<int>, decltype(swap_int)>);
static_assert(!CanUpdate<otp::Agent<std::string>, decltype(for_int)>);
// T is what init returns, or what start_link is told.
static_assert(
    std::is_same_v<decltype(otp::agent::start_link(std::declval<otp::Node&>(), [] { return 0; })),
                   otp::Result<otp::Agent<int>>>);
static_assert(std::is_same_v<decltype(otp::agent::start_link<long>(std::declval<otp::Node&>(),
                                                                   [] { return 0; })),
                             otp::Result<otp::Agent<long>>>);

TEST_F(AgentTest, TheHandleFromStartLinkRemembersTheType) {
  auto counter = otp::agent::start_link(node, [] { return 5; }).value();
  EXPECT_EQ(counter.get().value(), 5);
  EXPECT_EQ(counter.get([](const int& n) { return n * 2; }).value(), 10);
  ASSERT_TRUE(counter.update([](int n) { return n + 1; }));
  EXPECT_EQ(counter.get_and_update([](int n) { return std::pair(std::to_string(n), 0); }).value(),
            "6");
  counter.cast([](int n) { return n + 40; });
  EXPECT_EQ(counter.get().value(), 40);  // the cast ran before: one client, in order
  Pid pid = counter.pid().value();
  ASSERT_NE(counter.ref().pid(), nullptr);
  EXPECT_EQ(*counter.ref().pid(), pid);
  ASSERT_TRUE(counter.stop());
  EXPECT_FALSE(otp::alive(pid));
  EXPECT_EQ(counter.get().code(), ErrorCode::noproc);
}

TEST_F(AgentTest, AHandleByNameAddressesTheAgentHoldingThatName) {
  using Map = std::map<std::string, int>;
  ASSERT_TRUE(otp::agent::start_link(
      node,
      [] {
        return Map{{"a", 1}};
      },
      otp::name("m")));
  otp::Agent<Map> m(node, "m");
  ASSERT_TRUE(m.update([](Map v) {
    v["b"] = 2;
    return v;
  }));
  EXPECT_EQ(m.get([](const Map& v) { return v.size(); }).value(), 2u);
  EXPECT_EQ(m.pid().value(), node.whereis("m").value());
}
