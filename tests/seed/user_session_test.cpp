// The seed's UserSession: one GenServer per user, named via MyApp.Registry under the tuple key
// {"user_session", id}. send_message finds it with Registry.lookup and casts the message, or
// returns not_found for an unknown user; the messages accumulate in its state.
#include <string>
#include <tuple>
#include <vector>

#include "seed/user_session.hpp"
#include "support/eventually.hpp"

using namespace std::chrono_literals;
using seed::UserSession;
using Messages = std::vector<std::string>;

namespace {
class SeedUserSession : public ::testing::Test {
 protected:
  void SetUp() override {
    // {Registry, keys: :unique, name: MyApp.Registry} in application.ex
    ASSERT_TRUE(otp::supervisor::start_link(node, {UserSession::registry_spec()}));
    registry = otp::Registry::find(node, UserSession::kRegistry).value();
  }
  otp::Node node{{.name = "sessions", .scheduler_threads = 2, .log_crashes = false}};
  std::shared_ptr<otp::Registry> registry;
};
}  // namespace

TEST_F(SeedUserSession, StartLinkRegistersItThroughTheRegistry) {
  otp::Pid pid = UserSession::start_link(node, 42).value();
  auto found = registry->lookup(std::tuple{"user_session", 42});  // [{pid, _}]
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].pid, pid);
  EXPECT_EQ(registry->whereis_name(UserSession::key(42)), pid);
  EXPECT_EQ(otp::whereis(node, UserSession::via_tuple(node, 42)).value(), pid);
  EXPECT_FALSE(node.whereis("user_session:42"));             // named in the registry, not the node
  EXPECT_TRUE(registry->lookup("user_session:42").empty());  // the key is a tuple, not a string
  EXPECT_TRUE(registry->lookup(std::tuple{"user_session", 42L}).empty());  // nor {_, long}

  auto state = UserSession::state(node, 42).value();  // init: %{user_id: 42, messages: []}
  EXPECT_EQ(state.user_id, 42);
  EXPECT_TRUE(state.messages.empty());
}

TEST_F(SeedUserSession, SendMessageReachesTheSessionFoundByLookupAndMessagesAccumulate) {
  ASSERT_TRUE(UserSession::start_link(node, 1));
  ASSERT_TRUE(UserSession::start_link(node, 2));
  ASSERT_TRUE(UserSession::send_message(node, 1, "hello"));
  ASSERT_TRUE(UserSession::send_message(node, 1, "how are you?"));
  ASSERT_TRUE(UserSession::send_message(node, 2, "hi two"));
  ASSERT_TRUE(UserSession::send_message(node, 1, "bye"));
  // Casts from one client arrive in order, before its next call; [message | messages].
  EXPECT_EQ(UserSession::messages(node, 1).value(), (Messages{"bye", "how are you?", "hello"}));
  EXPECT_EQ(UserSession::messages(node, 2).value(), Messages{"hi two"});
}

TEST_F(SeedUserSession, SendMessageToAnUnknownUserIsNotFound) {
  ASSERT_TRUE(UserSession::start_link(node, 1));
  auto r = UserSession::send_message(node, 99, "anyone?");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::not_found);
  EXPECT_NE(r.error().to_string().find("99"), std::string::npos) << r.error();
  EXPECT_EQ(UserSession::messages(node, 99).code(), otp::ErrorCode::noproc);
  EXPECT_TRUE(UserSession::messages(node, 1)->empty());  // nobody else got it
}

TEST_F(SeedUserSession, OneSessionPerUser) {
  otp::Pid first = UserSession::start_link(node, 5).value();
  auto again = UserSession::start_link(node, 5);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.code(), otp::ErrorCode::already_started);
  EXPECT_EQ(registry->lookup(UserSession::key(5)).at(0).pid, first);
  EXPECT_EQ(registry->count(), 1u);
}

TEST_F(SeedUserSession, ADeadSessionIsGoneFromTheRegistryAndItsNameIsFreeAgain) {
  otp::Pid pid = UserSession::start_link(node, 7).value();
  ASSERT_TRUE(UserSession::send_message(node, 7, "first life"));
  otp::Inbox inbox(node);
  inbox.monitor(pid);
  otp::exit(pid, otp::Reason::kill());
  ASSERT_TRUE(inbox.receive_as<otp::Down>(10s));
  // No waiting: the registry forgets a process before anyone sees its Down.
  EXPECT_TRUE(registry->lookup(UserSession::key(7)).empty());
  EXPECT_EQ(UserSession::send_message(node, 7, "hello?").code(), otp::ErrorCode::not_found);

  otp::Pid second = UserSession::start_link(node, 7).value();
  EXPECT_NE(second, pid);
  ASSERT_TRUE(UserSession::send_message(node, 7, "second life"));
  EXPECT_EQ(UserSession::messages(node, 7).value(), Messages{"second life"});  // a fresh state
}

TEST(SeedUserSessionSupervised, CrashedSessionsComeBackUnderTheirNameAndFollowTheRegistry) {
  // MyApp.Registry and the sessions' DynamicSupervisor under rest_for_one: the sessions depend on
  // the registry that names them.
  otp::Node node({.name = "sessions", .scheduler_threads = 2, .log_crashes = false});
  otp::Pid root =
      otp::supervisor::start_link(
          node,
          {UserSession::registry_spec(),
           otp::dynamic_supervisor::spec(UserSession::kSupervisor).named(UserSession::kSupervisor)},
          {.strategy = otp::Strategy::rest_for_one})
          .value();
  auto lookup = [&](UserSession::UserId id) {
    auto reg = otp::Registry::find(node, UserSession::kRegistry);
    auto found = reg ? (*reg)->lookup(UserSession::key(id)) : std::vector<otp::Registry::Entry>{};
    return found.empty() ? otp::Pid() : found[0].pid;
  };
  otp::Pid s1 = UserSession::start_supervised(node, 1).value();
  EXPECT_EQ(lookup(1), s1);
  ASSERT_TRUE(UserSession::send_message(node, 1, "a"));

  // A crashed session is restarted by its supervisor, under the same via name, with a new state.
  otp::exit(s1, otp::Reason::error("crash"));
  otp::Pid s1b;
  ASSERT_TRUE(otp_test::eventually([&] {
    s1b = lookup(1);
    return s1b && s1b != s1;
  }));
  EXPECT_TRUE(UserSession::messages(node, 1)->empty());

  // The registry restarts: rest_for_one restarts the sessions' supervisor after it, so no
  // session is left registered in the registry that went away; sessions start again in the new.
  auto old_registry = otp::Registry::find(node, UserSession::kRegistry).value();
  otp::Pid owner = otp::supervisor::which_children(node, root).value().at(0).pid;
  otp::Inbox inbox(node);
  inbox.monitor(s1b);
  otp::exit(owner, otp::Reason::error("registry crash"));
  auto down = inbox.receive_as<otp::Down>(10s);
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->reason, otp::Reason::shutdown());
  ASSERT_TRUE(otp_test::eventually([&] {
    auto reg = otp::Registry::find(node, UserSession::kRegistry);
    return reg && *reg != old_registry && otp::whereis(node, UserSession::kSupervisor).ok();
  }));
  EXPECT_EQ(UserSession::send_message(node, 1, "b").code(), otp::ErrorCode::not_found);
  otp::Pid s1c = UserSession::start_supervised(node, 1).value();
  EXPECT_EQ(lookup(1), s1c);
  ASSERT_TRUE(UserSession::send_message(node, 1, "c"));
  EXPECT_EQ(UserSession::messages(node, 1).value(), Messages{"c"});
}
