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
  EXPECT_EQ(keys.size(), 3u);
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
  EXPECT_EQ(otp::Registry::find(node, "MyApp.Registry"), reg);
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
  EXPECT_FALSE(otp::Registry::find(node, "Sup.Registry"));
}
