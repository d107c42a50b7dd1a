// The value types, failure paths first: Message (holding, matching, type errors), Reason, Error,
// Result, Pid, Ref, ServerRef and Action: how they print, compare and match.
#include <set>
#include <sstream>
#include <string>
#include <unordered_set>

#include "otp/detail/runtime_access.hpp"
#include "support/eventually.hpp"
#include "support/node_test.hpp"

namespace values_test {
struct Increment {};
struct Put {
  std::string key;
  int value;
};
template <class T>
struct Box {
  T value;
};
}  // namespace values_test

namespace {

using namespace std::chrono_literals;
using otp::ErrorCode;
using otp::Reason;
using otp::detail::RuntimeAccess;  // what the runtime reads from an Action
using values_test::Increment;
using values_test::Put;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

/// A result type for Message::match other than otp::Action: constructible from Unmatched.
struct Matched {
  Matched(otp::Unmatched u) : unmatched(true), what(u.message.type_name()) {}  // NOLINT
  Matched(std::string w) : what(std::move(w)) {}                               // NOLINT
  bool unmatched = false;
  std::string what;
};

// -- Message ------------------------------------------------------------------------------------

TEST(Message, GetOfAnotherTypeThrowsBadMessageTypeNamingBothTypes) {
  otp::Message m = 42;
  try {
    (void)m.get<std::string>();
    FAIL() << "get<std::string> of an int did not throw";
  } catch (const otp::BadMessageType& e) {
    EXPECT_TRUE(contains(e.what(), "std::string")) << e.what();
    EXPECT_TRUE(contains(e.what(), "int")) << e.what();
  }
  EXPECT_THROW((void)m.get<long>(), std::bad_cast);
}

TEST(Message, GetOfAnEmptyMessageThrowsNamingEmpty) {
  otp::Message m;
  try {
    (void)m.get<int>();
    FAIL() << "get<int> of an empty message did not throw";
  } catch (const otp::BadMessageType& e) {
    EXPECT_TRUE(contains(e.what(), "empty")) << e.what();
  }
}

TEST(Message, GetIfOfAnotherTypeReturnsNullptr) {
  otp::Message m = Increment{};
  EXPECT_EQ(m.get_if<int>(), nullptr);
  EXPECT_EQ(m.get_if<Put>(), nullptr);
  EXPECT_NE(m.get_if<Increment>(), nullptr);
  EXPECT_EQ(otp::Message().get_if<Increment>(), nullptr);
}

TEST(Message, IsDistinguishesExactTypesOnly) {
  otp::Message m = 1;  // int
  EXPECT_TRUE(m.is<int>());
  EXPECT_FALSE(m.is<long>());
  EXPECT_FALSE(m.is<unsigned>());
  otp::Message s = "text";  // a string literal decays to const char*
  EXPECT_TRUE(s.is<const char*>());
  EXPECT_FALSE(s.is<std::string>());
}

TEST(Message, AnEmptyMessageHoldsNothing) {
  otp::Message m;
  EXPECT_TRUE(m.empty());
  EXPECT_FALSE(m.is<int>());
  EXPECT_EQ(m.type_name(), "empty");
  EXPECT_EQ(m.type(), typeid(void));
}

TEST(Message, MatchWithNoMatchingHandlerReturnsUnmatchedCarryingTheMessage) {
  otp::Message m = Put{"k", 1};
  otp::Action a = m.match([](const Increment&) { return otp::noreply(); },
                          [](const int&) { return otp::noreply(); });
  EXPECT_EQ(RuntimeAccess::kind(a), otp::Action::Kind::unmatched);
  EXPECT_TRUE(RuntimeAccess::message(a).is<Put>());
  EXPECT_EQ(RuntimeAccess::message(a).get<Put>().key, "k");
}

TEST(Message, MatchOfAnEmptyMessageIsUnmatched) {
  otp::Message m;
  auto r = m.match([](const int&) { return Matched(std::string("int")); });
  EXPECT_TRUE(r.unmatched);
  EXPECT_EQ(r.what, "empty");
}

TEST(Message, MatchCallsOnlyTheFirstHandlerWhoseTypeMatches) {
  otp::Message m = 5;
  int calls = 0;
  auto r = m.match([&](const std::string&) { return Matched(std::string("string")); },
                   [&](const int& v) {
                     ++calls;
                     return Matched("first int " + std::to_string(v));
                   },
                   [&](const int&) {
                     ++calls;
                     return Matched(std::string("second int"));
                   });
  EXPECT_FALSE(r.unmatched);
  EXPECT_EQ(r.what, "first int 5");
  EXPECT_EQ(calls, 1);
}

TEST(Message, MatchPassesTheHeldValue) {
  otp::Message m = Put{"answer", 42};
  auto r = m.match([](const Put& p) { return Matched(p.key + "=" + std::to_string(p.value)); });
  EXPECT_EQ(r.what, "answer=42");
}

// Empty structs (atoms) share one value and allocate nothing; they must still behave as values.
TEST(Message, AnEmptyStructIsAValueOfItsOwnType) {
  otp::Message a = Increment{};
  otp::Message b = a;
  otp::Message c = otp::Message::make<Increment>();
  for (const auto* m : {&a, &b, &c}) {
    EXPECT_FALSE(m->empty());
    EXPECT_TRUE(m->is<Increment>());
    EXPECT_FALSE(m->is<Put>());
    EXPECT_NE(m->get_if<Increment>(), nullptr);
    EXPECT_EQ(m->type_name(), otp::type_name(typeid(Increment)));
  }
  b = otp::Message();
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(a.is<Increment>());
}

TEST(Message, HoldsAValueAndReportsItsType) {
  otp::Message m = Put{"a", 1};
  EXPECT_FALSE(m.empty());
  EXPECT_TRUE(m.is<Put>());
  EXPECT_EQ(m.get<Put>().key, "a");
  EXPECT_EQ(m.get<Put>().value, 1);
  EXPECT_EQ(m.type(), typeid(Put));
}

TEST(Message, CopiesShareOneValue) {
  otp::Message a = Put{"shared", 1};
  otp::Message b = a;
  otp::Message c;
  c = b;
  EXPECT_EQ(a.get_if<Put>(), b.get_if<Put>());
  EXPECT_EQ(a.get_if<Put>(), c.get_if<Put>());
}

TEST(Message, MakeConstructsTheValueInPlace) {
  auto m = otp::Message::make<std::string>(3, 'x');
  EXPECT_EQ(m.get<std::string>(), "xxx");
  auto p = otp::Message::make<Put>(Put{"k", 7});
  EXPECT_EQ(p.get<Put>().value, 7);
}

TEST(Message, TypeNamesAreReadable) {
  EXPECT_EQ(otp::Message(std::string("x")).type_name(), "std::string");
  EXPECT_EQ(otp::Message(1).type_name(), "int");
  EXPECT_EQ(otp::Message(Increment{}).type_name(), "values_test::Increment");
  EXPECT_EQ(otp::Message(values_test::Box<int>{1}).type_name(), "values_test::Box<int>");
  EXPECT_EQ(otp::type_name(typeid(Put)), "values_test::Put");
}

TEST(Message, AMessageCanHoldAMessageLikeValueSuchAsAnError) {
  otp::Message m = otp::Error(ErrorCode::noproc, "call to x");
  ASSERT_TRUE(m.is<otp::Error>());
  EXPECT_EQ(m.get<otp::Error>().code(), ErrorCode::noproc);
}

// -- Reason -------------------------------------------------------------------------------------

TEST(Reason, ADefaultReasonIsNormal) {
  Reason r;
  EXPECT_EQ(r.kind(), Reason::Kind::normal);
  EXPECT_TRUE(r.is_normal());
  EXPECT_TRUE(r.is_clean());
  EXPECT_EQ(r, Reason::normal());
  EXPECT_TRUE(r.detail().empty());
}

TEST(Reason, OnlyNormalAndShutdownAreClean) {
  EXPECT_TRUE(Reason::normal().is_clean());
  EXPECT_TRUE(Reason::shutdown().is_clean());
  EXPECT_TRUE(Reason::shutdown("x").is_clean());
  EXPECT_FALSE(Reason::kill().is_clean());
  EXPECT_FALSE(Reason::killed().is_clean());
  EXPECT_FALSE(Reason::noproc().is_clean());
  EXPECT_FALSE(Reason::noconnection().is_clean());
  EXPECT_FALSE(Reason::error("x").is_clean());
  EXPECT_FALSE(Reason::shutdown().is_normal());
}

TEST(Reason, EqualityComparesKindAndDetail) {
  EXPECT_EQ(Reason::error("a"), Reason::error("a"));
  EXPECT_NE(Reason::error("a"), Reason::error("b"));
  EXPECT_NE(Reason::shutdown(), Reason::shutdown("x"));
  EXPECT_NE(Reason::kill(), Reason::killed());
  EXPECT_NE(Reason(Reason::Kind::error, "normal"), Reason::normal());
}

TEST(Reason, PrintsLikeErlang) {
  EXPECT_EQ(Reason::normal().to_string(), "normal");
  EXPECT_EQ(Reason::shutdown().to_string(), "shutdown");
  EXPECT_EQ(Reason::shutdown("restart").to_string(), "{shutdown, restart}");
  EXPECT_EQ(Reason::kill().to_string(), "kill");
  EXPECT_EQ(Reason::killed().to_string(), "killed");
  EXPECT_EQ(Reason::noproc().to_string(), "noproc");
  EXPECT_EQ(Reason::noconnection().to_string(), "noconnection");
  EXPECT_EQ(Reason::error("boom").to_string(), "error: boom");
  std::ostringstream os;
  os << Reason::error("boom");
  EXPECT_EQ(os.str(), "error: boom");
}

// -- Error and Result ---------------------------------------------------------------------------

TEST(Error, EveryCodeHasItsOwnName) {
  const ErrorCode codes[] = {
      ErrorCode::noproc,       ErrorCode::timeout,     ErrorCode::exit,
      ErrorCode::bad_call,     ErrorCode::bad_reply,   ErrorCode::already_started,
      ErrorCode::ignored,      ErrorCode::init_failed, ErrorCode::max_children,
      ErrorCode::not_found,    ErrorCode::running,     ErrorCode::restarting,
      ErrorCode::calling_self, ErrorCode::would_block, ErrorCode::shutting_down,
      ErrorCode::nodedown,     ErrorCode::badarg,
  };
  std::set<std::string> names;
  for (auto c : codes) {
    std::string n = otp::to_string(c);
    EXPECT_NE(n, "unknown");
    names.insert(n);
  }
  EXPECT_EQ(names.size(), std::size(codes));
  EXPECT_STREQ(otp::to_string(ErrorCode::noproc), "noproc");
  EXPECT_STREQ(otp::to_string(ErrorCode::already_started), "already_started");
}

TEST(Error, AnExitErrorPrintsCodeContextAndReason) {
  otp::Error e(ErrorCode::exit, "call to counter", Reason::error("boom"));
  EXPECT_EQ(e.to_string(), "exit: call to counter (reason: error: boom)");
  std::ostringstream os;
  os << e;
  EXPECT_EQ(os.str(), e.to_string());
}

TEST(Error, AnInitFailedErrorPrintsItsReason) {
  otp::Error e(ErrorCode::init_failed, "start of x", Reason::shutdown("no db"));
  EXPECT_TRUE(contains(e.to_string(), "{shutdown, no db}")) << e;
}

TEST(Error, ANormalReasonIsNotPrinted) {
  otp::Error e(ErrorCode::exit, "call to counter", Reason::normal());
  EXPECT_EQ(e.to_string(), "exit: call to counter");
}

TEST(Error, AnErrorWithoutContextPrintsItsCodeOnly) {
  EXPECT_EQ(otp::Error(ErrorCode::timeout, "").to_string(), "timeout");
}

TEST(Error, EqualityComparesTheWholeValueAndACodeComparesTheCode) {
  otp::Error a(ErrorCode::noproc, "call to a");
  otp::Error b(ErrorCode::noproc, "call to b");
  otp::Error c(ErrorCode::timeout, "call to a");
  EXPECT_TRUE(a == otp::Error(ErrorCode::noproc, "call to a"));
  EXPECT_FALSE(a == b);  // same code, other context: another error
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == otp::Error(ErrorCode::noproc, "call to a", Reason::killed()));
  EXPECT_TRUE(a == ErrorCode::noproc);  // "is it a noproc?"
  EXPECT_TRUE(b == ErrorCode::noproc);
  EXPECT_FALSE(a == ErrorCode::timeout);
  EXPECT_EQ(a.context(), "call to a");
  EXPECT_EQ(a.reason(), Reason::normal());
}

TEST(Result, ErrorOfAValueIsALogicError) {
  otp::Result<int> v = 1;
  EXPECT_THROW((void)v.error(), std::logic_error);
  otp::Result<void> ok;
  EXPECT_THROW((void)ok.error(), std::logic_error);
}

TEST(Result, ValueOfAnErrorThrowsCallFailedCarryingTheError) {
  otp::Result<int> r = otp::Error(ErrorCode::timeout, "call to slow");
  EXPECT_FALSE(r);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code(), ErrorCode::timeout);
  try {
    (void)r.value();
    FAIL() << "value() of an error did not throw";
  } catch (const otp::CallFailed& e) {
    EXPECT_EQ(e.error().code(), ErrorCode::timeout);
    EXPECT_EQ(std::string(e.what()), "timeout: call to slow");
  }
  EXPECT_THROW((void)*r, otp::CallFailed);
  EXPECT_THROW((void)std::move(r).value(), otp::CallFailed);
}

TEST(Result, ValueOfAVoidErrorThrowsCallFailed) {
  otp::Result<void> r = otp::Error(ErrorCode::noproc, "stop of x");
  EXPECT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::noproc);
  EXPECT_THROW(r.value(), otp::CallFailed);
}

TEST(Result, AValueIsOkAndAccessible) {
  otp::Result<std::string> r = std::string("hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "hello");
  EXPECT_EQ(r->size(), 5u);
  EXPECT_EQ(std::move(r).value(), "hello");
  otp::Result<void> v;
  EXPECT_TRUE(v);
  EXPECT_NO_THROW(v.value());
}

// -- Pid and Ref --------------------------------------------------------------------------------

TEST(Pid, AnInvalidPidPrintsAsInvalidAndIsFalse) {
  otp::Pid p;
  EXPECT_FALSE(p.valid());
  EXPECT_FALSE(p);
  EXPECT_EQ(p.to_string(), "<invalid>");
  EXPECT_EQ(p, otp::Pid{});
  EXPECT_EQ(p.node_serial(), 0u);
  EXPECT_EQ(p.id(), 0u);
}

TEST(Pid, APidStaysValidPrintableAndEqualAfterItsProcessDied) {
  otp::Node node({.name = "values", .scheduler_threads = 1});
  otp::Pid pid;
  std::string printed;
  {
    otp::Inbox inbox(node);
    pid = inbox.pid();
    printed = pid.to_string();
  }
  EXPECT_FALSE(otp::alive(pid));
  EXPECT_TRUE(pid.valid());
  EXPECT_EQ(pid.to_string(), printed);
}

TEST(Pid, APidPrintsNodeSerialAndProcessNumber) {
  otp::Node node({.name = "values", .scheduler_threads = 1});
  otp::Inbox inbox(node);
  const auto& p = inbox.pid();
  EXPECT_EQ(p.node_serial(), node.serial());
  EXPECT_EQ(p.to_string(),
            "<" + std::to_string(node.serial()) + "." + std::to_string(p.id()) + ".0>");
  std::ostringstream os;
  os << p;
  EXPECT_EQ(os.str(), p.to_string());
}

TEST(Pid, PidsCompareAndHashByNodeAndProcess) {
  otp::Node node({.name = "values", .scheduler_threads = 1});
  otp::Inbox a(node);
  otp::Inbox b(node);
  otp::Pid a2 = a.pid();
  EXPECT_EQ(a.pid(), a2);
  EXPECT_NE(a.pid(), b.pid());
  EXPECT_TRUE(a.pid() < b.pid() || b.pid() < a.pid());
  std::unordered_set<otp::Pid> set{a.pid(), a2, b.pid()};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(std::hash<otp::Pid>{}(a.pid()), std::hash<otp::Pid>{}(a2));
}

TEST(Pid, PidsOfTwoNodesDiffer) {
  otp::Node n1({.name = "one", .scheduler_threads = 1});
  otp::Node n2({.name = "two", .scheduler_threads = 1});
  EXPECT_NE(n1.serial(), n2.serial());
  otp::Inbox a(n1);
  otp::Inbox b(n2);
  EXPECT_NE(a.pid(), b.pid());
  EXPECT_NE(a.pid().to_string(), b.pid().to_string());
}

TEST(Ref, ADefaultRefIsInvalid) {
  otp::Ref r;
  EXPECT_FALSE(r.valid());
  EXPECT_FALSE(r);
  EXPECT_EQ(r.value(), 0u);
  EXPECT_EQ(r.to_string(), "#Ref<0>");
}

TEST(Ref, MakeGivesDistinctValidRefs) {
  std::unordered_set<otp::Ref> refs;
  for (int i = 0; i < 1000; ++i) {
    auto r = otp::Ref::make();
    EXPECT_TRUE(r.valid());
    refs.insert(r);
  }
  EXPECT_EQ(refs.size(), 1000u);
  auto a = otp::Ref::make();
  auto b = otp::Ref::make();
  EXPECT_LT(a, b);
  EXPECT_EQ(a.to_string(), "#Ref<" + std::to_string(a.value()) + ">");
}

// -- ServerRef ----------------------------------------------------------------------------------

class NamedRegistry : public otp::ViaRegistry {
 public:
  otp::Result<void> register_name(const otp::RegistryKey&, const otp::Pid&) override { return {}; }
  void unregister_name(const otp::RegistryKey&) override {}
  std::optional<otp::Pid> whereis_name(const otp::RegistryKey&) override { return std::nullopt; }
  std::string describe() const override { return "Registry MyApp.Registry"; }
};

TEST(ServerRef, AViaNameThroughARegistryNamePrintsThatName) {
  otp::ServerRef r = otp::via("MyApp.Registry", "k");
  EXPECT_EQ(r.to_string(), "{via, Registry MyApp.Registry, k}");
}

TEST(ServerRef, PrintsNamesPidsAndViaNames) {
  otp::ServerRef by_name = "counter";
  EXPECT_EQ(by_name.to_string(), "counter");
  ASSERT_NE(by_name.local_name(), nullptr);
  EXPECT_EQ(by_name.pid(), nullptr);
  EXPECT_EQ(by_name.via_name(), nullptr);

  otp::ServerRef by_string = std::string("cache");
  EXPECT_EQ(by_string.to_string(), "cache");

  otp::ServerRef by_pid = otp::Pid{};
  EXPECT_EQ(by_pid.to_string(), "<invalid>");
  ASSERT_NE(by_pid.pid(), nullptr);

  otp::ServerRef by_via = otp::via(std::make_shared<NamedRegistry>(), "user:42");
  EXPECT_EQ(by_via.to_string(), "{via, Registry MyApp.Registry, user:42}");
  ASSERT_NE(by_via.via_name(), nullptr);
  EXPECT_EQ(by_via.via_name()->key, "user:42");
}

// -- Action -------------------------------------------------------------------------------------

TEST(Action, FactoriesBuildTheKindsHandlersReturn) {
  EXPECT_EQ(RuntimeAccess::kind(otp::ok()), otp::Action::Kind::noreply);
  EXPECT_EQ(RuntimeAccess::kind(otp::noreply()), otp::Action::Kind::noreply);
  EXPECT_EQ(RuntimeAccess::kind(otp::ignore()), otp::Action::Kind::ignore);

  auto r = otp::reply(3);
  EXPECT_EQ(RuntimeAccess::kind(r), otp::Action::Kind::reply);
  EXPECT_TRUE(RuntimeAccess::has_reply(r));
  EXPECT_EQ(RuntimeAccess::message(r).get<int>(), 3);

  auto s = otp::stop(Reason::shutdown());
  EXPECT_EQ(RuntimeAccess::kind(s), otp::Action::Kind::stop);
  EXPECT_FALSE(RuntimeAccess::has_reply(s));
  EXPECT_EQ(RuntimeAccess::reason(s), Reason::shutdown());

  auto sr = otp::stop(Reason::normal(), std::string("bye"));
  EXPECT_TRUE(RuntimeAccess::has_reply(sr));
  EXPECT_EQ(RuntimeAccess::message(sr).get<std::string>(), "bye");
}

TEST(Action, TimeoutAndContinueAreKept) {
  otp::Action a = otp::noreply().timeout(250ms).then_continue(Increment{});
  ASSERT_TRUE(RuntimeAccess::idle_timeout(a).has_value());
  EXPECT_EQ(*RuntimeAccess::idle_timeout(a), 250ms);
  ASSERT_TRUE(RuntimeAccess::continue_arg(a).has_value());
  EXPECT_TRUE(RuntimeAccess::continue_arg(a)->is<Increment>());
  otp::Action plain = otp::noreply();
  EXPECT_FALSE(RuntimeAccess::idle_timeout(plain).has_value());
  EXPECT_FALSE(RuntimeAccess::continue_arg(plain).has_value());
}

// -- Node names ---------------------------------------------------------------------------------

TEST(NodeNames, RegisteringATakenNameFailsWithAlreadyStartedNamingTheOwner) {
  otp::Node node({.name = "values", .scheduler_threads = 1});
  otp::Inbox a(node);
  otp::Inbox b(node);
  ASSERT_TRUE(node.register_name("svc", a.pid()));
  EXPECT_TRUE(node.register_name("svc", a.pid())) << "re-registering the owner is fine";
  auto r = node.register_name("svc", b.pid());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::already_started);
  EXPECT_TRUE(contains(r.error().to_string(), a.pid().to_string())) << r.error();
  EXPECT_EQ(node.whereis("svc"), a.pid());
}

TEST(NodeNames, RegisteringAnInvalidPidOrAnEmptyNameFailsWithBadarg) {
  otp::Node node({.name = "values", .scheduler_threads = 1});
  otp::Inbox a(node);
  EXPECT_EQ(node.register_name("x", otp::Pid{}).code(), ErrorCode::badarg);
  EXPECT_EQ(node.register_name("", a.pid()).code(), ErrorCode::badarg);
}

TEST(NodeNames, RegisteringADeadPidFailsWithNoprocAndLeavesTheNameFree) {
  otp::Node node({.name = "values", .scheduler_threads = 1});
  otp::Pid dead;
  {
    otp::Inbox gone(node);
    dead = gone.pid();
  }
  EXPECT_EQ(node.register_name("x", dead).code(), ErrorCode::noproc);
  EXPECT_FALSE(node.whereis("x"));
}

TEST(NodeNames, ANameIsFreedWhenItsProcessExitsOrIsUnregistered) {
  otp::Node node({.name = "values", .scheduler_threads = 1});
  otp::Inbox keep(node);
  ASSERT_TRUE(node.register_name("kept", keep.pid()));
  node.unregister_name("kept");
  EXPECT_FALSE(node.whereis("kept"));
  {
    otp::Inbox gone(node);
    ASSERT_TRUE(node.register_name("temp", gone.pid()));
    EXPECT_EQ(node.whereis("temp"), gone.pid());
  }
  EXPECT_FALSE(node.whereis("temp"));
  EXPECT_TRUE(node.register_name("temp", keep.pid()));
}

TEST(NodeNames, TheNodeReportsItsConfiguration) {
  otp::Node node({.name = "configured", .scheduler_threads = 3});
  EXPECT_EQ(node.name(), "configured");
  EXPECT_EQ(node.scheduler_threads(), 3u);
  EXPECT_EQ(node.process_count(), 0u);
}

}  // namespace
