// otp::testkit's History (thread-safe recording of client operations) and its checks against a
// final state: a lost acknowledged write and a duplicate are caught and named; a clean history
// passes; failed operations must not show, unknown ones may.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "otp/testkit/testkit.hpp"

namespace {

using otp::testkit::History;
using otp::testkit::Operation;
using otp::testkit::Outcome;

/// A final state: the tokens a set holds; an operation is applied as many times as its token.
otp::testkit::AppliedCount applied_in(const std::vector<int>& state) {
  return [state](const Operation& o) {
    return static_cast<size_t>(std::count(state.begin(), state.end(), o.arg.get<int>()));
  };
}

TEST(History, RecordsOutcomesValuesAndTimesInInvokeOrder) {
  History h;
  auto a = h.invoke("add", 1, "c1");
  auto b = h.invoke("add", 2, "c2");
  auto c = h.invoke("add", 3);
  auto d = h.invoke("get");
  h.ok(b, 7);
  h.fail(a, "noproc");
  h.unknown(c, "timeout");
  auto ops = h.operations();
  ASSERT_EQ(ops.size(), 4u);
  EXPECT_EQ(ops[0].id, a);
  EXPECT_EQ(ops[0].outcome, Outcome::fail);
  EXPECT_EQ(ops[0].error, "noproc");
  EXPECT_EQ(ops[1].outcome, Outcome::ok);
  EXPECT_EQ(ops[1].value, 7);
  EXPECT_EQ(ops[1].client, "c2");
  EXPECT_GE(ops[1].completed, ops[1].invoked);
  EXPECT_EQ(ops[2].outcome, Outcome::unknown);
  EXPECT_EQ(ops[3].outcome, Outcome::pending);
  EXPECT_EQ(ops[3].id, d);
  EXPECT_EQ(h.count(Outcome::ok), 1u);
  EXPECT_EQ(ops[1].to_string(), "#2 c2 add 2 -> ok 7");
  EXPECT_NE(h.to_string().find("#1 c1 add 1 -> fail (noproc)"), std::string::npos);
  EXPECT_THROW(h.ok(b, 8), std::logic_error);  // completed twice
  EXPECT_THROW(h.ok(99), std::out_of_range);
}

TEST(History, ManyClientsAtOnce) {
  History h;
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&h, c] {
      for (int i = 0; i < 500; ++i) {
        auto id = h.invoke("add", c * 1000 + i, "c" + std::to_string(c));
        h.ok(id);
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(h.size(), 2000u);
  EXPECT_EQ(h.count(Outcome::ok), 2000u);
  auto ops = h.operations();
  for (size_t i = 0; i < ops.size(); ++i) EXPECT_EQ(ops[i].id, i + 1);
}

TEST(Checks, PassACleanHistory) {
  History h;
  h.ok(h.invoke("add", 1));
  h.ok(h.invoke("add", 2));
  h.fail(h.invoke("add", 3), "noproc");      // not applied: fine
  h.unknown(h.invoke("add", 4), "timeout");  // applied once: fine
  h.unknown(h.invoke("add", 5), "timeout");  // not applied: fine
  const std::vector<int> state{1, 2, 4};
  auto lost = otp::testkit::check_acknowledged(h, applied_in(state));
  EXPECT_TRUE(lost.ok) << lost.why;
  auto twice = otp::testkit::check_no_duplicates(h, applied_in(state));
  EXPECT_TRUE(twice.ok) << twice.why;
}

TEST(Checks, CatchALostAcknowledgedWrite) {
  History h;
  h.ok(h.invoke("add", 1, "c1"));
  h.ok(h.invoke("add", 2, "c2"), 2);
  h.ok(h.invoke("get"), 1);
  const std::vector<int> state{1};  // 2 was acknowledged, then lost
  auto only_adds = otp::testkit::check_acknowledged(h, applied_in(state), "add");
  EXPECT_FALSE(only_adds.ok);
  EXPECT_FALSE(static_cast<bool>(only_adds));
  EXPECT_NE(only_adds.why.find("1 acknowledged operation(s) lost"), std::string::npos)
      << only_adds.why;
  EXPECT_NE(only_adds.why.find("#2 c2 add 2 -> ok 2: acknowledged, not in the final state"),
            std::string::npos)
      << only_adds.why;
  EXPECT_EQ(only_adds.why.find("#1"), std::string::npos) << only_adds.why;
}

TEST(Checks, CatchADuplicateAndAFailedOperationThatWasApplied) {
  History h;
  h.ok(h.invoke("add", 1));
  h.unknown(h.invoke("add", 2), "timeout");
  h.fail(h.invoke("add", 3), "noproc");
  const std::vector<int> state{1, 2, 2, 3};  // 2 applied twice (a retry), 3 applied though failed
  auto twice = otp::testkit::check_no_duplicates(h, applied_in(state), "add");
  EXPECT_FALSE(twice.ok);
  EXPECT_NE(twice.why.find("2 operation(s) applied more than promised"), std::string::npos)
      << twice.why;
  EXPECT_NE(twice.why.find("#2 add 2 -> unknown (timeout): applied 2 times"), std::string::npos)
      << twice.why;
  EXPECT_NE(twice.why.find("#3 add 3 -> fail (noproc): failed, yet applied"), std::string::npos)
      << twice.why;
}

TEST(Checks, ListAtMostTwentyOffendersAndCountTheRest) {
  History h;
  for (int i = 0; i < 25; ++i) h.ok(h.invoke("add", i));
  auto lost = otp::testkit::check_acknowledged(h, applied_in({}));
  EXPECT_FALSE(lost.ok);
  EXPECT_NE(lost.why.find("25 acknowledged operation(s) lost"), std::string::npos);
  EXPECT_NE(lost.why.find("... and 5 more"), std::string::npos) << lost.why;
}

}  // namespace
