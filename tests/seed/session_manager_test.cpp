// The seed's SessionManager: init returns {:ok, id, timeout}; refresh returns {:noreply, state,
// timeout}; handle_info(:timeout) prints "Session X timed out" and stops with reason normal.
#include <chrono>

#include "seed/journal.hpp"
#include "seed/session_manager.hpp"
#include "support/eventually.hpp"

using namespace std::chrono_literals;
using seed::SessionManager;
using Clock = std::chrono::steady_clock;

TEST(SeedSessionManager, DefaultTimeoutIsSixtySeconds) {
  EXPECT_EQ(SessionManager::kDefaultTimeout, 60s);
  otp::Node node({.name = "sessions", .scheduler_threads = 2});
  seed::Journal journal;
  otp::Pid pid =
      SessionManager::start_link(node, "long", SessionManager::kDefaultTimeout, journal.puts())
          .value();
  SessionManager::refresh(node, pid);
  EXPECT_TRUE(otp::alive(pid));
  EXPECT_EQ(journal.count("Session long timed out"), 0u);
}  // node shutdown stops the live session

TEST(SeedSessionManager, WithoutRefreshItTimesOutAndStopsNormally) {
  otp::Node node({.name = "sessions", .scheduler_threads = 2});
  seed::Journal journal;
  otp::Inbox inbox(node);
  auto started = Clock::now();
  otp::Pid pid = SessionManager::start_link(node, "s1", 500ms, journal.puts()).value();
  inbox.monitor(pid);

  auto down = inbox.receive_as<otp::Down>(10s);
  ASSERT_TRUE(down.has_value()) << "the session never timed out";
  EXPECT_GE(Clock::now() - started, 500ms);  // not before its idle timeout
  EXPECT_EQ(down->pid, pid);
  EXPECT_EQ(down->reason, otp::Reason::normal());
  EXPECT_EQ(journal.lines(), std::vector<std::string>{"Session s1 timed out"});
  EXPECT_FALSE(otp::alive(pid));
}

TEST(SeedSessionManager, RefreshKeepsItAlivePastTheTimeout) {
  otp::Node node({.name = "sessions", .scheduler_threads = 2});
  seed::Journal journal;
  otp::Inbox inbox(node);
  const auto timeout = 1000ms;
  auto started = Clock::now();
  otp::Pid pid = SessionManager::start_link(node, "s2", timeout, journal.puts()).value();
  inbox.monitor(pid);

  // Refresh every 100 ms for 1.5 timeouts: no Down may arrive meanwhile.
  for (int i = 0; i < 15; ++i) {
    ASSERT_FALSE(inbox.receive_as<otp::Down>(100ms).has_value()) << "timed out despite refresh";
    SessionManager::refresh(node, pid);
  }
  EXPECT_GT(Clock::now() - started, timeout);
  EXPECT_TRUE(otp::alive(pid));
  EXPECT_EQ(journal.count("Session s2 timed out"), 0u);

  // Then it is left idle and times out, once.
  auto down = inbox.receive_as<otp::Down>(10s);
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->reason, otp::Reason::normal());
  EXPECT_EQ(journal.count("Session s2 timed out"), 1u);
}

TEST(SeedSessionManager, SessionsTimeOutIndependently) {
  otp::Node node({.name = "sessions", .scheduler_threads = 2});
  seed::Journal journal;
  otp::Inbox inbox(node);
  otp::Pid quick = SessionManager::start_link(node, "quick", 500ms, journal.puts()).value();
  otp::Pid slow = SessionManager::start_link(node, "slow", 60s, journal.puts()).value();
  inbox.monitor(quick);
  inbox.monitor(slow);
  auto down = inbox.receive_as<otp::Down>(10s);
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->pid, quick);
  EXPECT_EQ(down->reason, otp::Reason::normal());
  EXPECT_TRUE(otp::alive(slow));
  EXPECT_EQ(journal.lines(), std::vector<std::string>{"Session quick timed out"});
}
