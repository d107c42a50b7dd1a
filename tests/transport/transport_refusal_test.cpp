// A peer that keeps refusing our handshake (wrong cookie, another cluster) or keeps failing: the
// dialer backs off as for any failure, and both sides log a line per distinct reason, not per
// try (RefusalStreak decides which tries are logged; tested alone first).
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "refusal_log.hpp"
#include "transport_fixture.hpp"

namespace otp::cluster::test {
namespace {

using Kind = Probe::Event::Kind;
using detail::RefusalLog;
using detail::RefusalStreak;
using protocol::RejectReason;

// -- RefusalStreak: which failures are logged ---------------------------------------------------

const RefusalStreak::Clock::time_point t0{};

TEST(RefusalStreak, LogsTheFirstFailureAndThenOnlyAChangeOfReason) {
  RefusalStreak s(60s);
  EXPECT_TRUE(s.failed("bad_mac", t0).log);
  for (int i = 1; i <= 10; ++i) {
    auto v = s.failed("bad_mac", t0 + i * 1s);
    EXPECT_FALSE(v.log) << i;
    EXPECT_EQ(v.count, static_cast<uint64_t>(i + 1));
  }
  auto changed = s.failed("cluster_mismatch", t0 + 11s);
  EXPECT_TRUE(changed.log);
  EXPECT_FALSE(changed.repeated);
  EXPECT_EQ(changed.count, 1u);
  EXPECT_TRUE(s.failed("bad_mac", t0 + 12s).log);  // back again: a change too
}

TEST(RefusalStreak, LogsAStillFailingLineWithTheCountOncePerInterval) {
  RefusalStreak s(60s);
  ASSERT_TRUE(s.failed("bad_mac", t0).log);
  EXPECT_FALSE(s.failed("bad_mac", t0 + 59s).log);
  auto still = s.failed("bad_mac", t0 + 60s);
  EXPECT_TRUE(still.log);
  EXPECT_TRUE(still.repeated);
  EXPECT_EQ(still.count, 3u);
  EXPECT_EQ(detail::repeat_suffix(still), " (still failing: 3 times in a row)");
  EXPECT_FALSE(s.failed("bad_mac", t0 + 61s).log);  // the interval counts from the last line
  EXPECT_TRUE(s.failed("bad_mac", t0 + 120s).log);
}

TEST(RefusalStreak, ResetEndsTheStreakAndSaysHowLongItWas) {
  RefusalStreak s(60s);
  EXPECT_EQ(s.reset(), 0u);
  s.failed("Connection refused", t0);
  s.failed("Connection refused", t0 + 1s);
  s.failed("bad_mac", t0 + 2s);
  EXPECT_EQ(s.reset(), 3u);
  EXPECT_TRUE(s.failed("bad_mac", t0 + 3s).log);  // a new streak starts with a line
}

TEST(RefusalLog, KeepsAStreakPerHostAndStaysBounded) {
  RefusalLog log(60s);
  EXPECT_TRUE(log.refused("10.0.0.1", "bad_mac", t0).log);
  EXPECT_TRUE(log.refused("10.0.0.2", "bad_mac", t0).log);
  EXPECT_FALSE(log.refused("10.0.0.1", "bad_mac", t0 + 1s).log);
  for (size_t i = 0; i < RefusalLog::kMaxHosts; ++i) {
    log.refused("192.168.0." + std::to_string(i), "bad_mac", t0);
  }
  // The table started afresh when it was full: 10.0.0.1 is a new streak (memory stays bounded).
  EXPECT_TRUE(log.refused("10.0.0.1", "bad_mac", t0 + 2s).log);
}

// -- a refusing peer over real links ------------------------------------------------------------

size_t rejected(const Transport& t, RejectReason reason) {
  return t.stats().rejected[static_cast<size_t>(reason)];
}

/// The lines of probe at level (e.g. "warning") that contain needle.
size_t lines(Probe& probe, std::string_view level, std::string_view needle) {
  size_t n = 0;
  std::istringstream text(probe.log_text());
  for (std::string line; std::getline(text, line);) {
    if (line.starts_with("  " + std::string(level) + ": ") && line.find(needle) != line.npos) ++n;
  }
  return n;
}

/// The delays ("retrying in N ms") the dialer of address announced, in order.
std::vector<long> retry_delays(Probe& probe, const std::string& address) {
  std::vector<long> out;
  const std::regex re("dialing " + address + " failed: .*retrying in ([0-9]+) ms");
  std::istringstream text(probe.log_text());
  std::smatch m;
  for (std::string line; std::getline(text, line);) {
    if (std::regex_search(line, m, re)) out.push_back(std::stol(m[1]));
  }
  return out;
}

TEST(TransportRefusedDial, AWrongCookiePeerIsRedialedWithBackoffAndLoggedOncePerReason) {
  Hub hub;
  Probe pa(hub), pb(hub);
  auto ca = config("a", 1, pa, "secret");
  ca.reconnect_initial = 20ms;
  ca.reconnect_max = 160ms;
  ca.reconnect_jitter = 0.0;  // the delays below are exact
  auto a = start(ca, pa);
  auto b = start(config("b", 1, pb, "guess"), pb);
  ASSERT_TRUE(a && b);
  const auto began = std::chrono::steady_clock::now();
  ASSERT_TRUE(a->connect(address(*b)));

  constexpr size_t kTries = 7;
  ASSERT_TRUE(hub.wait([&] { return retry_delays(pa, address(*b)).size() >= kTries; }, 20s))
      << pa.log_text();
  // Backed off like any failed dial: doubling from reconnect_initial up to reconnect_max.
  const auto delays = retry_delays(pa, address(*b));
  const std::vector<long> expected{20, 40, 80, 160, 160, 160, 160};
  EXPECT_EQ(std::vector<long>(delays.begin(), delays.begin() + kTries), expected) << pa.log_text();
  // So the 7 tries took at least the first six delays.
  EXPECT_GE(std::chrono::steady_clock::now() - began, 20ms + 40ms + 80ms + 3 * 160ms);
  EXPECT_GE(rejected(*a, RejectReason::bad_mac), kTries);
  const auto dialed = a->stats().dialed;  // one connection per try, no more:
  EXPECT_LE(dialed, retry_delays(pa, address(*b)).size() + 1);

  // One warning per side for the reason, however many tries; the rest at debug level.
  EXPECT_EQ(lines(pa, "warning", "bad_mac"), 1u) << pa.log_text();
  EXPECT_GE(lines(pa, "debug", "bad_mac"), kTries - 1) << pa.log_text();
  EXPECT_TRUE(hub.wait([&] { return rejected(*b, RejectReason::bad_mac) >= kTries; }));
  EXPECT_EQ(lines(pb, "warning", "handshake rejected: bad_mac"), 1u) << pb.log_text();
  EXPECT_EQ(pa.count(Kind::up) + pb.count(Kind::up), 0u);
}

TEST(TransportRefusedDial, ANewReasonIsLoggedAgainAndASuccessEndsTheStreak) {
  Hub hub;
  Probe pa(hub), pb(hub), pc(hub), pd(hub);
  auto ca = config("a", 1, pa, "secret");
  ca.reconnect_initial = 20ms;
  ca.reconnect_max = 40ms;
  auto a = start(ca, pa);
  auto b = start(config("b", 1, pb, "guess"), pb);
  ASSERT_TRUE(a && b);
  const uint16_t port = b->port();
  const std::string at = address(*b);
  ASSERT_TRUE(a->connect(at));
  ASSERT_TRUE(hub.wait([&] { return rejected(*a, RejectReason::bad_mac) >= 3; })) << pa.log_text();
  b.reset();

  // The same address now answers for another cluster: a new reason, a new warning (the refused
  // connections in between are a reason of their own).
  auto cc = config("c", 1, pc, "secret", "other");
  cc.listen_port = port;
  auto c = start(cc, pc);
  ASSERT_TRUE(c);
  ASSERT_TRUE(hub.wait([&] { return rejected(*a, RejectReason::cluster_mismatch) >= 3; }))
      << pa.log_text();
  EXPECT_EQ(lines(pa, "warning", "bad_mac"), 1u) << pa.log_text();
  EXPECT_EQ(lines(pa, "warning", "cluster_mismatch"), 1u) << pa.log_text();
  c.reset();

  // And a proper node there ends the streak: an info line says after how many tries.
  auto cd = config("d", 1, pd, "secret");
  cd.listen_port = port;
  auto d = start(cd, pd);
  ASSERT_TRUE(d);
  ASSERT_TRUE(pa.wait_for(Kind::up, 1, d->self())) << pa.log_text();
  EXPECT_TRUE(pa.wait_logged("dialing " + at + " reached d@127.0.0.1 after ")) << pa.log_text();
}

TEST(TransportStopDialing, GivesUpAnAddressThatNeverAnsweredOrAnsweredAsThatNodeOnly) {
  Hub hub;
  Probe pa(hub), pb(hub), pc(hub);
  auto a = start(config("a", 1, pa), pa);
  auto b = start(config("b", 1, pb), pb);
  auto c = start(config("c", 1, pc), pc);
  ASSERT_TRUE(a && b && c);
  const std::string dead = address(*c);
  c.reset();  // nobody listens there now
  ASSERT_TRUE(a->connect(address(*b)));
  ASSERT_TRUE(a->connect(dead));
  ASSERT_TRUE(pa.wait_for(Kind::up, 1, b->self())) << pa.log_text();
  ASSERT_TRUE(hub.wait([&] { return a->stats().dial_failures >= 1; })) << pa.log_text();
  EXPECT_EQ(a->stats().dialers, 2u);

  // The dead address never reached a node: given up for whatever name.
  a->stop_dialing(dead, "c@127.0.0.1");
  EXPECT_EQ(a->stats().dialers, 1u);
  // b's address reached b: kept when another name is given, given up for b's own.
  a->stop_dialing(address(*b), "someone-else@127.0.0.1");
  EXPECT_EQ(a->stats().dialers, 1u);
  a->stop_dialing(address(*b), b->self().full_name());
  EXPECT_EQ(a->stats().dialers, 0u);
  // It closes no link: the link to b stays up (only its redialing after a loss is gone).
  EXPECT_EQ(a->peers().size(), 1u);
  EXPECT_EQ(pa.count(Kind::down), 0u);
}

}  // namespace
}  // namespace otp::cluster::test
