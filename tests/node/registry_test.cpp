// Registry: unique and duplicate keys, via names, cleanup at death, concurrent registration.
#include <thread>

#include "support/eventually.hpp"
#include "support/workers.hpp"

using namespace std::chrono_literals;
using namespace otp_test;
using otp::ErrorCode;
using otp::Pid;

namespace {
struct Register {
  std::string key;
};
struct Publish {
  std::string topic;
  std::string text;
};

/// Registers itself under the keys it is told, and records what it receives.
class Member : public otp::GenServer {
 public:
  Member(std::shared_ptr<otp::Registry> reg, std::shared_ptr<EventLog> log)
      : reg_(std::move(reg)), log_(std::move(log)) {}
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Register& r) -> otp::Action {
      auto res = reg_->register_key(r.key, otp::Message(std::string("meta:") + r.key));
      if (!res) return otp::reply(res.error());
      return otp::reply(true);
    });
  }
  otp::Action handle_info(const otp::Message& m) override {
    if (auto* s = m.get_if<std::string>()) log_->add(*s);
    return otp::noreply();
  }

 private:
  std::shared_ptr<otp::Registry> reg_;
  std::shared_ptr<EventLog> log_;
};

class RegistryTest : public ::testing::Test {
 protected:
  otp::Node node{{.name = "reg", .scheduler_threads = 2, .log_crashes = false}};
  std::shared_ptr<EventLog> log = std::make_shared<EventLog>();
};
}  // namespace

TEST_F(RegistryTest, UniqueKeyTakenFailsWithAlreadyStartedNamingTheOwner) {
  auto reg = otp::Registry::start(node, {.keys = otp::Registry::Keys::unique}).value();
  Pid a = otp::gen_server::start<Member>(node, reg, log).value();
  Pid b = otp::gen_server::start<Member>(node, reg, log).value();
  ASSERT_TRUE(otp::gen_server::call<bool>(node, a, Register{"k"}));
  auto r = otp::gen_server::call<bool>(node, b, Register{"k"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::already_started);
  EXPECT_NE(r.error().to_string().find(a.to_string()), std::string::npos) << r.error();
  auto found = reg->lookup("k");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].pid, a);
  EXPECT_EQ(found[0].value.get<std::string>(), "meta:k");
}

TEST_F(RegistryTest, ConcurrentRegistrationsOfOneKeyHaveExactlyOneWinner) {
  auto reg = otp::Registry::start(node, {.keys = otp::Registry::Keys::unique}).value();
  std::vector<std::unique_ptr<otp::Inbox>> inboxes;
  for (int i = 0; i < 8; ++i) inboxes.push_back(std::make_unique<otp::Inbox>(node));
  std::atomic<int> wins{0}, losses{0};
  std::vector<std::thread> threads;
  for (auto& in : inboxes)
    threads.emplace_back([&, pid = in->pid()] {
      auto r = reg->register_pid(pid, "only");
      (r ? wins : losses)++;
      if (!r) {
        EXPECT_EQ(r.code(), ErrorCode::already_started);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(losses.load(), 7);
  EXPECT_EQ(reg->count("only"), 1u);
}

TEST_F(RegistryTest, AProcessThatDiesIsGoneFromTheRegistryBeforeAnyoneSeesItsDown) {
  auto reg = otp::Registry::start(node, {.keys = otp::Registry::Keys::unique}).value();
  Pid a = otp::gen_server::start<Member>(node, reg, log).value();
  ASSERT_TRUE(otp::gen_server::call<bool>(node, a, Register{"user:1"}));
  otp::Inbox inbox(node);
  inbox.monitor(a);
  otp::exit(a, otp::Reason::kill());
  ASSERT_TRUE(inbox.receive_as<otp::Down>(10s));
  EXPECT_TRUE(reg->lookup("user:1").empty());  // no waiting needed: cleanup precedes the Down
  EXPECT_EQ(reg->count(), 0u);
  EXPECT_TRUE(reg->keys_of(a).empty());
}

TEST_F(RegistryTest, RegisteringADeadPidFailsWithNoproc) {
  auto reg = otp::Registry::start(node, {}).value();
  Pid a = otp::gen_server::start<Member>(node, reg, log).value();
  ASSERT_TRUE(otp::gen_server::stop(node, a));
  EXPECT_EQ(reg->register_pid(a, "k").code(), ErrorCode::noproc);
  EXPECT_EQ(reg->count(), 0u);
}

TEST_F(RegistryTest, RegisterKeyOutsideAProcessIsAnError) {
  auto reg = otp::Registry::start(node, {}).value();
  EXPECT_THROW((void)reg->register_key("k"), std::logic_error);
}

TEST_F(RegistryTest, DuplicateKeysSupportPubSubWithDispatch) {
  auto reg = otp::Registry::start(node, {.keys = otp::Registry::Keys::duplicate}).value();
  std::vector<Pid> members;
  for (int i = 0; i < 3; ++i) {
    members.push_back(otp::gen_server::start<Member>(node, reg, log).value());
    ASSERT_TRUE(otp::gen_server::call<bool>(node, members.back(), Register{"topic:news"}));
  }
  EXPECT_EQ(reg->count("topic:news"), 3u);
  EXPECT_EQ(reg->count(), 1u);
  reg->dispatch("topic:news", [](const std::vector<otp::Registry::Entry>& entries) {
    for (auto& e : entries) otp::send(e.pid, std::string("hello"));
  });
  ASSERT_TRUE(eventually([&] { return log->count("hello") == 3; }));
  bool called = false;
  reg->dispatch("topic:none", [&](const auto&) { called = true; });
  EXPECT_FALSE(called);
}

TEST_F(RegistryTest, KeysValuesAndUnregister) {
  auto reg = otp::Registry::start(node, {.keys = otp::Registry::Keys::duplicate}).value();
  otp::Inbox in(node);
  ASSERT_TRUE(reg->register_pid(in.pid(), "a", otp::Message(1)));
  ASSERT_TRUE(reg->register_pid(in.pid(), "b", otp::Message(2)));
  ASSERT_TRUE(reg->register_pid(in.pid(), "a", otp::Message(3)));
  auto keys = reg->keys_of(in.pid());
  EXPECT_EQ(keys, (std::vector<otp::RegistryKey>{"a", "b", "a"}));
  auto vals = reg->values("a", in.pid());
  ASSERT_EQ(vals.size(), 2u);
  EXPECT_EQ(vals[0].get<int>(), 1);
  EXPECT_EQ(vals[1].get<int>(), 3);
  reg->unregister_pid(in.pid(), "a");
  EXPECT_TRUE(reg->lookup("a").empty());
  EXPECT_EQ(reg->count("b"), 1u);
}

TEST_F(RegistryTest, ViaNamesWorkForStartCallCastAndSend) {
  auto reg =
      otp::Registry::start(node, {.keys = otp::Registry::Keys::unique, .name = "MyApp.Registry"})
          .value();
  EXPECT_EQ(otp::Registry::find(node, "MyApp.Registry").value(), reg);
  auto via = otp::via(reg, "worker:1");
  Pid w = otp::gen_server::start<Worker>(node, otp::name(via), "w1", log, true, false).value();
  EXPECT_EQ(reg->whereis_name("worker:1"), w);
  EXPECT_EQ(otp::gen_server::call<std::string>(node, via, Ping{}).value(), "pong:w1");
  auto again = otp::gen_server::start<Worker>(node, otp::name(via), "w2", log, true, false);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.code(), ErrorCode::already_started);
  ASSERT_TRUE(otp::send(node, via, std::string("x")));
  otp::gen_server::cast(node, via, Crash{});
  ASSERT_TRUE(eventually([&] { return !reg->whereis_name("worker:1"); }));
  EXPECT_EQ(otp::gen_server::call<std::string>(node, via, Ping{}).code(), ErrorCode::noproc);
  EXPECT_EQ(otp::send(node, via, std::string("x")).code(), ErrorCode::noproc);
}

TEST_F(RegistryTest, ANameIsUniquePerNode) {
  auto first = otp::Registry::start(node, {.name = "R"});
  ASSERT_TRUE(first);
  auto second = otp::Registry::start(node, {.name = "R"});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.code(), ErrorCode::already_started);
}

TEST_F(RegistryTest, ChildSpecOwnsANamedRegistryUnderASupervisor) {
  Pid sup = otp::supervisor::start_link(
                node, {otp::Registry::child_spec("registry", {.name = "Sup.Registry"})}, {})
                .value();
  ASSERT_TRUE(otp::Registry::find(node, "Sup.Registry"));
  ASSERT_TRUE(otp::gen_server::stop(node, sup, otp::Reason::shutdown(), 10s));
  EXPECT_EQ(otp::Registry::find(node, "Sup.Registry").code(), ErrorCode::not_found);
}

// -- keys of any hashable, comparable type ---------------------------------------------------

namespace {
struct Coord {
  int x, y;
  bool operator==(const Coord&) const = default;
};
struct NoHash {
  bool operator==(const NoHash&) const = default;
};
}  // namespace
template <>
struct std::hash<Coord> {
  size_t operator()(const Coord& c) const { return std::hash<int>{}(c.x * 31 + c.y); }
};

static_assert(otp::RegistryKeyType<std::tuple<std::string, int>>);
static_assert(otp::RegistryKeyType<std::pair<int, Coord>>);
static_assert(!otp::RegistryKeyType<NoHash>);
static_assert(!otp::RegistryKeyType<std::tuple<int, NoHash>>);
static_assert(!std::is_constructible_v<otp::RegistryKey, std::vector<int>>);

TEST(RegistryKey, TuplesHashByTheirElementsInOrder) {
  using K = std::tuple<std::string, int>;
  EXPECT_EQ(otp::KeyHash<K>{}({"a", 1}), otp::KeyHash<K>{}({std::string("a"), 1}));
  EXPECT_NE((otp::KeyHash<std::pair<int, int>>{}({1, 2})),
            (otp::KeyHash<std::pair<int, int>>{}({2, 1})));
}

TEST(RegistryKey, EqualWhenOfOneTypeAndEqualCharacterPointersCompareByCharacters) {
  std::string user = "user_session";
  EXPECT_EQ(otp::RegistryKey(std::tuple{"user_session", 42}),
            otp::RegistryKey(std::tuple{user, 42}));
  EXPECT_NE(otp::RegistryKey(std::tuple{"user_session", 42}),
            otp::RegistryKey(std::tuple{user, 43}));
  EXPECT_NE(otp::RegistryKey(42), otp::RegistryKey(42L));
  EXPECT_NE(otp::RegistryKey(42), otp::RegistryKey("42"));
  EXPECT_NE(otp::RegistryKey(std::pair{"a", 1}), otp::RegistryKey(std::tuple{"a", 1}));
  EXPECT_EQ(otp::RegistryKey(std::string_view("k")), otp::RegistryKey("k"));
  EXPECT_EQ(otp::RegistryKey(std::tuple{"user_session", 42}).to_string(), "{user_session, 42}");
  const otp::RegistryKey key(std::tuple{"s", 1});
  auto* held = key.get_if<std::tuple<std::string, int>>();
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(std::get<0>(*held), "s");
}

TEST_F(RegistryTest, TupleIntegerAndStructKeysAreKeptAsTheyAre) {
  auto reg = otp::Registry::start(node, {.keys = otp::Registry::Keys::unique}).value();
  otp::Inbox a(node), b(node);
  ASSERT_TRUE(reg->register_pid(a.pid(), std::tuple{"user_session", 42}, otp::Message(1)));
  ASSERT_TRUE(reg->register_pid(b.pid(), 42));
  ASSERT_TRUE(reg->register_pid(b.pid(), Coord{1, 2}));
  ASSERT_TRUE(reg->register_pid(b.pid(), "user_session:42"));
  EXPECT_EQ(reg->count(), 4u);

  auto found = reg->lookup(std::tuple{std::string("user_session"), 42});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].pid, a.pid());
  EXPECT_EQ(reg->whereis_name(42), b.pid());
  EXPECT_EQ(reg->whereis_name(Coord{1, 2}), b.pid());
  EXPECT_FALSE(reg->whereis_name(Coord{2, 1}));
  EXPECT_FALSE(reg->whereis_name(std::tuple{"user_session", 43}));

  auto taken = reg->register_pid(b.pid(), std::tuple{"user_session", 42});
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.code(), ErrorCode::already_started);
  EXPECT_NE(taken.error().to_string().find("{user_session, 42}"), std::string::npos)
      << taken.error();

  reg->unregister_pid(b.pid(), 42);
  EXPECT_FALSE(reg->whereis_name(42));
  EXPECT_EQ(reg->keys_of(b.pid()), (std::vector<otp::RegistryKey>{Coord{1, 2}, "user_session:42"}));
}

TEST_F(RegistryTest, ViaNamesWithTupleKeysWorkForStartCallAndLookup) {
  auto reg =
      otp::Registry::start(node, {.keys = otp::Registry::Keys::unique, .name = "Tuple.Registry"})
          .value();
  auto key = std::tuple{"worker", 7};
  Pid w =
      otp::gen_server::start<Worker>(node, otp::name(otp::via(reg, key)), "w7", log, true, false)
          .value();
  EXPECT_EQ(reg->whereis_name(key), w);
  EXPECT_EQ(otp::gen_server::call<std::string>(node, otp::via(reg, key), Ping{}).value(),
            "pong:w7");
  // Through the registry's name, looked up at each use.
  auto by_name = otp::via("Tuple.Registry", std::tuple{"worker", 7});
  EXPECT_EQ(otp::gen_server::call<std::string>(node, by_name, Ping{}).value(), "pong:w7");
  EXPECT_EQ(otp::ServerRef(by_name).to_string(), "{via, Registry Tuple.Registry, {worker, 7}}");
  auto again = otp::gen_server::start<Worker>(node, otp::name(by_name), "w8", log, true, false);
  EXPECT_EQ(again.code(), ErrorCode::already_started);
  EXPECT_EQ(otp::gen_server::call<std::string>(node, otp::via(reg, std::tuple{"worker", 8}), Ping{})
                .code(),
            ErrorCode::noproc);
}

TEST_F(RegistryTest, FindOfAMissingRegistryIsNotFound) {
  auto r = otp::Registry::find(node, "Nobody.Registry");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::not_found);
  EXPECT_NE(r.error().to_string().find("Nobody.Registry"), std::string::npos) << r.error();
}
