// GenServer clauses: what a server does with a call, cast or info that no clause takes (OTP's
// FunctionClauseError: the server crashes, unless it tolerates unmatched requests), how clauses
// are written (match's result type with throwing clauses) and await_call's deduced reply type.
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "support/eventually.hpp"
#include "support/node_test.hpp"
#include "support/receive.hpp"

namespace {

using namespace std::chrono_literals;
using otp::ErrorCode;
using otp::Reason;
using otp_test::contains;
using otp_test::eventually;
using otp_test::kLong;

otp::NodeOptions config(size_t threads) {
  return otp_test::node_options("gen_server_clauses_test", threads);
}

struct Get {};
struct Add {
  int n;
};
struct Unknown {};  // no server has a clause for it
struct Boom {};     // call: the first clause throws
struct Silent {};   // call: a void clause that returns (a mistake)
struct Terminated {
  Reason reason;
};

/// Answers Get, adds on Add (a cast), throws on Boom; tells `report` its terminate reason. Its
/// first call clause throws and declares no `-> otp::Action`.
class Counter : public otp::GenServer {
 public:
  explicit Counter(int v = 0, otp::Pid report = {}) : v_(v), report_(std::move(report)) {}
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Boom&) { throw std::runtime_error("boom"); }, [&](const Silent&) {},
                   [&](const Get&) { return otp::reply(v_); });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const Add& a) {
      v_ += a.n;
      return otp::noreply();
    });
  }
  void terminate(const Reason& reason) override {
    if (report_) otp::send(report_, Terminated{reason});
  }

 private:
  int v_;
  otp::Pid report_;
};

/// A Counter that keeps running when no clause matches (the lenient behaviour).
class TolerantCounter : public Counter {
 public:
  explicit TolerantCounter(int v = 0) : Counter(v) { tolerate_unmatched(); }
};

// -- an unmatched call ------------------------------------------------------------------------

TEST(GenServerUnmatched, ACallWithNoClauseFailsTheCallerWithBadCallAndCrashesTheServer) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Counter>(node, 3, inbox.pid()).value();
  auto ref = inbox.monitor(pid);
  auto r = otp::gen_server::call<int>(node, pid, Unknown{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::bad_call);
  EXPECT_TRUE(contains(r.error().context(), "no handle_call clause for")) << r.error();
  EXPECT_EQ(r.error().reason().kind(), Reason::Kind::error);
  EXPECT_TRUE(contains(r.error().reason().detail(), "bad_call: no handle_call clause for"))
      << r.error();
  EXPECT_TRUE(contains(r.error().reason().detail(), "Unknown")) << r.error();
  // The server exits with that reason, after terminate ran with it.
  auto t = inbox.receive_as<Terminated>(kLong);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->reason, r.error().reason());
  auto down = otp_test::receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, r.error().reason());
  EXPECT_FALSE(otp::alive(pid));
}

TEST(GenServerUnmatched, TheDefaultHandleCallCrashesTheServerToo) {
  otp::Node node(config(1));
  auto pid = otp::gen_server::start<otp::GenServer>(node).value();
  auto r = otp::gen_server::call<int>(node, pid, Get{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::bad_call);
  EXPECT_TRUE(eventually([&] { return !otp::alive(pid); }));
}

TEST(GenServerUnmatched, ASupervisorRestartsAServerThatAnUnmatchedCallCrashed) {
  otp::Node node(config(2));
  auto sup = otp::supervisor::start_link(node, {otp::worker<Counter>("c", 5).named("c")}, {});
  ASSERT_TRUE(sup) << sup.error();
  auto before = node.whereis("c");
  ASSERT_TRUE(before);
  EXPECT_EQ(otp::gen_server::call<int>(node, "c", Unknown{}).code(), ErrorCode::bad_call);
  EXPECT_TRUE(eventually([&] {
    auto now = node.whereis("c");
    return now && now != before;
  }));
  EXPECT_EQ(otp::gen_server::call<int>(node, "c", Get{}).value(), 5);  // a fresh state
}

TEST(GenServerUnmatched, ATolerantServerFailsOnlyTheCallerAndKeepsItsState) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<TolerantCounter>(node, 3).value();
  otp::gen_server::cast(node, pid, Add{1});
  auto r = otp::gen_server::call<int>(node, pid, Unknown{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::bad_call);
  EXPECT_TRUE(contains(r.error().to_string(), "Unknown")) << r.error();
  EXPECT_TRUE(r.error().reason().is_normal());  // the server did not exit
  EXPECT_EQ(otp::gen_server::call<int>(node, pid, Get{}).value(), 4);
}

// -- an unmatched cast or info ----------------------------------------------------------------

TEST(GenServerUnmatched, ACastWithNoClauseCrashesTheServerWithBadCast) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Counter>(node, 0, inbox.pid()).value();
  auto ref = inbox.monitor(pid);
  otp::gen_server::cast(node, pid, Unknown{});
  auto down = otp_test::receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason.kind(), Reason::Kind::error);
  EXPECT_TRUE(contains(down->reason.detail(), "bad_cast: no handle_cast clause for"))
      << down->reason;
  EXPECT_TRUE(contains(down->reason.detail(), "Unknown")) << down->reason;
}

TEST(GenServerUnmatched, ATolerantServerDropsAnUnmatchedCast) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<TolerantCounter>(node, 0).value();
  otp::gen_server::cast(node, pid, Unknown{});
  otp::gen_server::cast(node, pid, Add{2});
  EXPECT_EQ(otp::gen_server::call<int>(node, pid, Get{}).value(), 2);
}

TEST(GenServerUnmatched, AnUnexpectedInfoIsDroppedAndTheServerKeepsRunning) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Counter>(node, 0).value();
  otp::send(pid, Unknown{});
  otp::gen_server::cast(node, pid, Add{2});
  EXPECT_EQ(otp::gen_server::call<int>(node, pid, Get{}).value(), 2);
}

// -- match clauses ----------------------------------------------------------------------------

TEST(GenServerClauses, AThrowingFirstClauseNeedsNoExplicitActionResult) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Counter>(node, 7).value();
  EXPECT_EQ(otp::gen_server::call<int>(node, pid, Get{}).value(), 7);
  auto r = otp::gen_server::call<int>(node, pid, Boom{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::exit);
  EXPECT_TRUE(contains(r.error().reason().detail(), "boom")) << r.error();
}

TEST(GenServerClauses, AVoidClauseThatReturnsCrashesTheServerNamingIt) {
  otp::Node node(config(2));
  auto pid = otp::gen_server::start<Counter>(node, 7).value();
  auto r = otp::gen_server::call<int>(node, pid, Silent{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::exit);
  EXPECT_TRUE(contains(r.error().reason().detail(), "Silent returned nothing")) << r.error();
}

// -- await_call's reply type ------------------------------------------------------------------

struct AskInt {
  otp::Pid target;
};
struct AskString {
  otp::Pid target;
};
struct AskAny {
  otp::Pid target;
};

/// Forwards Get to a Counter with await_call, the reply type deduced from the continuation.
class Asker : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match(
        [&](const AskInt& a) {
          return await_call(a.target, Get{}, [](otp::Result<int> r) {
            return otp::reply(r ? "int:" + std::to_string(*r) : to_string(r.error()));
          });
        },
        [&](const AskString& a) {
          return await_call(a.target, Get{}, [](otp::Result<std::string> r) {
            return otp::reply(r ? "string:" + *r : to_string(r.error()));
          });
        },
        [&](const AskAny& a) {
          return await_call(a.target, Get{}, [](auto r) {
            static_assert(std::is_same_v<decltype(r), otp::Result<otp::Message>>);
            return otp::reply(std::string("any:") + r->type_name());
          });
        });
  }

 private:
  static std::string to_string(const otp::Error& e) { return otp::to_string(e.code()); }
};

TEST(GenServerAwaitCallDeduction, TheReplyTypeComesFromTheContinuationsParameter) {
  otp::Node node(config(2));
  auto counter = otp::gen_server::start<Counter>(node, 9).value();
  auto asker = otp::gen_server::start<Asker>(node).value();
  EXPECT_EQ(otp::gen_server::call<std::string>(node, asker, AskInt{counter}).value(), "int:9");
  EXPECT_EQ(otp::gen_server::call<std::string>(node, asker, AskString{counter}).value(),
            "bad_reply");
  EXPECT_EQ(otp::gen_server::call<std::string>(node, asker, AskAny{counter}).value(), "any:int");
}

}  // namespace

// -- Message::match result types (no runtime needed) ----------------------------------------

namespace {

TEST(MessageMatch, ThrowingClausesAreLeftOutOfTheResultType) {
  otp::Message m = Get{};
  auto a = m.match([](const Boom&) { throw std::runtime_error("no"); },
                   [](const Get&) { return otp::reply(1); });
  static_assert(std::is_same_v<decltype(a), otp::Action>);
  auto b = otp::Message(Boom{});
  EXPECT_THROW(b.match([](const Boom&) { throw std::runtime_error("no"); },
                       [](const Get&) { return otp::reply(1); }),
               std::runtime_error);
}

TEST(MessageMatch, ClauseResultsThatConvertToActionGiveAnAction) {
  otp::Message m = Unknown{};
  // A clause that hands the message on as unmatched, beside clauses that return Actions.
  auto a = m.match([](const Unknown& u) { return otp::Unmatched{otp::Message(u)}; },
                   [](const Get&) { return otp::reply(1); });
  static_assert(std::is_same_v<decltype(a), otp::Action>);
}

TEST(MessageMatch, AnExplicitResultTypeTakesOnlyThrowingClauses) {
  otp::Message m = Get{};
  auto a = m.match<otp::Action>([](const Boom&) { throw std::runtime_error("no"); });
  static_assert(std::is_same_v<decltype(a), otp::Action>);
}

}  // namespace
