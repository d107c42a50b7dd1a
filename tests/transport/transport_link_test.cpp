// The transport between well-behaved nodes: links come up with the right identities, messages
// flow in order, one link per pair, restarts, disconnect, stop, and send()'s errors.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <thread>

#include "transport_fixture.hpp"

namespace otp::cluster::test {
namespace {

using Kind = Probe::Event::Kind;

// -- links come up ------------------------------------------------------------------------------

TEST(TransportLink, TwoTransportsConnectAndBothSeeTheOtherUp) {
  Hub hub;
  Probe pa(hub), pb(hub);
  auto a = start(config("a", 1, pa), pa);
  auto b = start(config("b", 7, pb), pb);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->connect(address(*b)));

  ASSERT_TRUE(pa.wait_for(Kind::up)) << pa.log_text();
  ASSERT_TRUE(pb.wait_for(Kind::up)) << pb.log_text();
  EXPECT_EQ(pa.events().front().peer, b->self());
  EXPECT_EQ(pb.events().front().peer, a->self());
  EXPECT_EQ(a->peer("b@127.0.0.1"), b->self());
  EXPECT_EQ(b->peer("a@127.0.0.1"), a->self());
  EXPECT_EQ(a->peers(), std::vector<NodeId>{b->self()});
  EXPECT_EQ(a->stats().links_up, 1u);
  EXPECT_EQ(a->stats().dialed, 1u);
  EXPECT_EQ(b->stats().accepted, 1u);
}

TEST(TransportLink, ConnectRefusesAddressesThatAreNotHostColonPort) {
  Hub hub;
  Probe p(hub);
  auto t = start(config("a", 1, p), p);
  ASSERT_TRUE(t);
  for (const std::string bad : {"nohost", "h:notaport", "h:0", "h:65536", ":7001", "h:", "h:-1"}) {
    auto r = t->connect(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), ErrorCode::bad_address) << r.error();
    EXPECT_NE(r.error().context().find(bad), std::string::npos) << r.error();
  }
}

TEST(TransportLink, StartFailsWithTheReasonWhenThePortIsTaken) {
  Hub hub;
  Probe p(hub);
  auto first = start(config("a", 1, p), p);
  ASSERT_TRUE(first);
  auto c = config("b", 1, p);
  c.listen_port = first->port();
  // SO_REUSEADDR does not let two listeners share a port on Linux.
  auto second = Transport::start(c, p);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), ErrorCode::listen_failed) << second.error();
  EXPECT_NE(second.error().context().find(std::to_string(first->port())), std::string::npos)
      << second.error();
}

TEST(TransportLink, StartRefusesAConfigThatCannotWork) {
  Hub hub;
  Probe p(hub);
  auto c = config("a", 1, p);
  c.dead_link_timeout = c.heartbeat_interval;
  auto r = Transport::start(c, p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), ErrorCode::badarg) << r.error();
  EXPECT_NE(r.error().context().find("dead_link_timeout"), std::string::npos) << r.error();
  c = config("a", 1, p, /*cookie=*/"");
  r = Transport::start(c, p);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().context().find("cookie"), std::string::npos) << r.error();
}

// -- messages -----------------------------------------------------------------------------------

/// Two transports linked a -> b, with GetParam() io threads each.
class TransportFlow : public ::testing::TestWithParam<size_t> {
 protected:
  void SetUp() override {
    auto ca = config("a", 1, pa);
    auto cb = config("b", 2, pb);
    ca.io_threads = cb.io_threads = GetParam();
    a = start(ca, pa);
    b = start(cb, pb);
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(a->connect(address(*b)));
    ASSERT_TRUE(pa.wait_for(Kind::up) && pb.wait_for(Kind::up)) << pa.log_text();
  }

  Hub hub;
  Probe pa{hub}, pb{hub};
  std::unique_ptr<Transport> a, b;  // declared last: stopped before the probes go
};

TEST_P(TransportFlow, ManySmallMessagesArriveInOrderBothWays) {
  constexpr int kCount = 5000;
  std::thread a_to_b([&] {
    for (int i = 0; i < kCount; ++i) ASSERT_FALSE(a->send(b->self(), numbered(a->self(), i)));
  });
  for (int i = 0; i < kCount; ++i) ASSERT_FALSE(b->send(a->self(), numbered(b->self(), i)));
  a_to_b.join();

  ASSERT_TRUE(pa.wait_for(Kind::message, kCount, b->self(), 20s))
      << describe(*a) << describe(*b) << pa.log_text() << pb.log_text();
  ASSERT_TRUE(pb.wait_for(Kind::message, kCount, a->self(), 20s))
      << describe(*a) << describe(*b) << pa.log_text() << pb.log_text();
  for (auto* p : {&pa, &pb}) {
    int64_t expected = 0;
    for (const auto& e : p->events()) {
      if (e.kind != Kind::message) continue;
      ASSERT_EQ(number_of(*e.body), expected);
      ++expected;
    }
  }
  const auto sa = a->stats();
  EXPECT_EQ(sa.messages_sent, static_cast<uint64_t>(kCount));
  EXPECT_EQ(b->stats().messages_received, static_cast<uint64_t>(kCount));
  // Messages queued while a write is in flight go out together in the next one. A message to an
  // idle link is written at once on the sender's thread, at most one such write per 10 us: under
  // a sanitizer a send takes longer than that, nothing is a burst, and every message is written
  // on its own (correct, but not what this checks).
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(sa.writes, sa.messages_sent / 2) << sa.writes << " writes";
#endif
}

TEST_P(TransportFlow, QueuedAndDirectSendsMixedKeepTheirOrder) {
  // send_queued never writes on the caller's thread; mixed with send() (which writes at once to
  // an idle link) the order still holds, also when the link goes idle between sends.
  constexpr int kCount = 2000;
  for (int i = 0; i < kCount; ++i) {
    auto m = numbered(a->self(), i);
    ASSERT_FALSE(i % 3 == 0 ? a->send(b->self(), m) : a->send_queued(b->self(), m));
    if (i % 100 == 0) std::this_thread::sleep_for(1ms);  // let the link go idle
  }
  ASSERT_TRUE(pb.wait_for(Kind::message, kCount, a->self(), 20s)) << describe(*a) << pb.log_text();
  int64_t expected = 0;
  for (const auto& e : pb.events()) {
    if (e.kind != Kind::message) continue;
    ASSERT_EQ(number_of(*e.body), expected);
    ++expected;
  }
  EXPECT_EQ(a->send_queued(protocol::NodeId{"nobody", "127.0.0.1", 1}, numbered(a->self(), 0)),
            SendError::nodedown);
}

TEST_P(TransportFlow, SendersOnManyThreadsKeepTheirOwnOrder) {
  constexpr int kThreads = 4;
  constexpr int kEach = 2000;
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        ASSERT_FALSE(a->send(b->self(), numbered(a->self(), t * 1'000'000 + i)));
      }
    });
  }
  for (auto& s : senders) s.join();

  ASSERT_TRUE(pb.wait_for(Kind::message, kThreads * kEach, a->self(), 20s))
      << describe(*a) << describe(*b) << pa.log_text() << pb.log_text();
  std::vector<int64_t> next(kThreads, 0);
  for (const auto& e : pb.events()) {
    if (e.kind != Kind::message) continue;
    const int64_t n = number_of(*e.body);
    const auto t = static_cast<size_t>(n / 1'000'000);
    ASSERT_EQ(n % 1'000'000, next[t]) << "sender " << t;
    ++next[t];
  }
}

TEST_P(TransportFlow, LargeMessagesArriveIntact) {
  // Alternating sizes: small frames are coalesced, big ones written in place, in one order.
  constexpr int kCount = 60;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_FALSE(a->send(b->self(), numbered(a->self(), i, i % 2 ? 100'000 : 10)));
  }
  ASSERT_TRUE(pb.wait_for(Kind::message, kCount, a->self(), 20s));
  int64_t expected = 0;
  for (const auto& e : pb.events()) {
    if (e.kind != Kind::message) continue;
    ASSERT_EQ(number_of(*e.body), expected);
    const auto& value = std::get<protocol::Cast>(*e.body).request.value;
    EXPECT_EQ(value.at("pad").get<std::string>().size(), expected % 2 ? 100'000u : 10u);
    ++expected;
  }
}

INSTANTIATE_TEST_SUITE_P(IoThreads, TransportFlow, ::testing::Values(1, 2), [](const auto& info) {
  return "io_threads_" + std::to_string(info.param);
});

// -- send()'s errors ----------------------------------------------------------------------------

TEST(TransportSend, ToAnUnknownNodeIsNodedown) {
  Hub hub;
  Probe p(hub);
  auto t = start(config("a", 1, p), p);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->send(NodeId{"nobody", "127.0.0.1", 1}, numbered(t->self(), 0)), SendError::nodedown);
  EXPECT_EQ(t->peer("nobody@127.0.0.1"), std::nullopt);
}

TEST(TransportSend, AMessageAboveMaxFrameSizeIsTooLargeAndTheLinkStaysUp) {
  Hub hub;
  Probe pa(hub), pb(hub);
  auto ca = config("a", 1, pa);
  ca.max_frame_size = 4096;
  auto a = start(ca, pa);
  auto b = start(config("b", 1, pb), pb);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->connect(address(*b)));
  ASSERT_TRUE(pa.wait_for(Kind::up)) << pa.log_text();

  EXPECT_EQ(a->send(b->self(), numbered(a->self(), 0, 5000)), SendError::too_large);
  EXPECT_FALSE(a->send(b->self(), numbered(a->self(), 1)));
  ASSERT_TRUE(pb.wait_for(Kind::message));
  EXPECT_EQ(number_of(*pb.events().back().body), 1);
}

// -- one link per pair --------------------------------------------------------------------------

TEST(TransportLink, SimultaneousConnectsEndWithExactlyOneLinkOnBothSides) {
  // Several rounds: which link establishes first on which side varies; the outcome may not.
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Hub hub;
    Probe pa(hub), pb(hub);
    auto a = start(config("a", 1, pa), pa);
    auto b = start(config("b", 1, pb), pb);
    ASSERT_TRUE(a && b);
    std::thread other([&] { EXPECT_TRUE(b->connect(address(*a))); });
    EXPECT_TRUE(a->connect(address(*b)));
    other.join();

    // Both dials went through (dialed, accepted) and one of the two links is gone on both ends.
    auto settled = [&] {
      const auto sa = a->stats();
      const auto sb = b->stats();
      return pa.balance() == 1 && pb.balance() == 1 && sa.dialed == 1 && sb.dialed == 1 &&
             sa.accepted == 1 && sb.accepted == 1 && sa.connections == 1 && sb.connections == 1;
    };
    ASSERT_TRUE(hub.wait(settled)) << "a:\n" << pa.log_text() << "b:\n" << pb.log_text();
    EXPECT_EQ(a->peers(), std::vector<NodeId>{b->self()});
    EXPECT_EQ(b->peers(), std::vector<NodeId>{a->self()});

    // The surviving link carries traffic both ways, and neither side dials again.
    ASSERT_FALSE(a->send(b->self(), numbered(a->self(), 1)));
    ASSERT_FALSE(b->send(a->self(), numbered(b->self(), 2)));
    ASSERT_TRUE(pb.wait_for(Kind::message) && pa.wait_for(Kind::message));
    EXPECT_FALSE(hub.wait([&] { return !settled(); }, 300ms)) << "a:\n"
                                                              << pa.log_text() << "b:\n"
                                                              << pb.log_text();
  }
}

TEST(TransportLink, ConnectingTwiceToOneAddressKeepsOneLink) {
  Hub hub;
  Probe pa(hub), pb(hub);
  auto a = start(config("a", 1, pa), pa);
  auto b = start(config("b", 1, pb), pb);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->connect(address(*b)));
  ASSERT_TRUE(a->connect(address(*b)));
  ASSERT_TRUE(pa.wait_for(Kind::up));
  EXPECT_EQ(a->stats().dialed, 1u);
  EXPECT_EQ(a->stats().connections, 1u);
}

TEST(TransportLink, AnAddressThatIsThisNodeIsDroppedWithoutALink) {
  Hub hub;
  Probe p(hub);
  auto a = start(config("a", 1, p), p);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->connect(address(*a)));
  ASSERT_TRUE(p.wait_logged("is this node itself")) << p.log_text();
  ASSERT_TRUE(hub.wait([&] { return a->stats().connections == 0; })) << p.log_text();
  EXPECT_EQ(p.count(Kind::up), 0u);
  EXPECT_EQ(a->stats().dialed, 1u);  // and no redial
}

// -- restarts, disconnect -----------------------------------------------------------------------

TEST(TransportLink, ARestartedPeerComesBackWithItsNewCreationAfterTheOldOneWentDown) {
  Hub hub;
  Probe pa(hub), pb1(hub), pb2(hub);
  auto a = start(config("a", 1, pa), pa);
  auto b1 = start(config("b", 1, pb1), pb1);
  ASSERT_TRUE(a && b1);
  const NodeId old_b = b1->self();
  const uint16_t port = b1->port();
  EXPECT_TRUE(a->connect(address(*b1)));
  ASSERT_TRUE(pa.wait_for(Kind::up, 1, old_b)) << pa.log_text();

  b1->stop();
  ASSERT_TRUE(pa.wait_for(Kind::down, 1, old_b)) << pa.log_text();
  EXPECT_EQ(a->send(old_b, numbered(a->self(), 0)), SendError::nodedown);

  auto cb2 = config("b", 2, pb2);
  cb2.listen_port = port;
  auto b2 = start(cb2, pb2);
  ASSERT_TRUE(b2);
  const NodeId new_b = b2->self();
  ASSERT_TRUE(pa.wait_for(Kind::up, 1, new_b)) << pa.log_text();  // a redialed with backoff

  auto events = pa.events();
  std::vector<std::pair<Kind, NodeId>> seen;
  for (const auto& e : events) seen.emplace_back(e.kind, e.peer);
  const std::vector<std::pair<Kind, NodeId>> expected{
      {Kind::up, old_b}, {Kind::down, old_b}, {Kind::up, new_b}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(a->send(old_b, numbered(a->self(), 1)), SendError::stale);
  EXPECT_FALSE(a->send(new_b, numbered(a->self(), 2)));
  ASSERT_TRUE(pb2.wait_for(Kind::message));
  EXPECT_EQ(a->peer("b@127.0.0.1"), new_b);
}

TEST(TransportLink, ANewIncarnationReplacesALinkStillUpAndItsDownComesFirst) {
  // The old incarnation's socket stays open (it froze); the new one dials in meanwhile.
  Hub hub;
  Probe pa(hub), pc(hub);
  auto a = start(config("a", 1, pa), pa);
  ASSERT_TRUE(a);
  const NodeId old_c{"c", "127.0.0.1", 1};
  RawPeer frozen(a->port());
  ASSERT_EQ(frozen.handshake(old_c), a->self());
  ASSERT_TRUE(pa.wait_for(Kind::up, 1, old_c)) << pa.log_text();

  auto c = start(config("c", 2, pc), pc);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->connect(address(*a)));
  ASSERT_TRUE(pa.wait_for(Kind::up, 1, c->self())) << pa.log_text();

  std::vector<std::pair<Kind, NodeId>> seen;
  for (const auto& e : pa.events()) seen.emplace_back(e.kind, e.peer);
  const std::vector<std::pair<Kind, NodeId>> expected{
      {Kind::up, old_c}, {Kind::down, old_c}, {Kind::up, c->self()}};
  EXPECT_EQ(seen, expected);
  EXPECT_NE(pa.events()[1].reason.find("new incarnation"), std::string::npos);
  EXPECT_EQ(a->send(old_c, numbered(a->self(), 0)), SendError::stale);
  EXPECT_TRUE(frozen.wait_closed());
}

TEST(TransportLink, DisconnectClosesTheLinkOnBothSidesAndStopsRedialing) {
  Hub hub;
  Probe pa(hub), pb(hub);
  auto a = start(config("a", 1, pa), pa);
  auto b = start(config("b", 1, pb), pb);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->connect(address(*b)));
  ASSERT_TRUE(pa.wait_for(Kind::up) && pb.wait_for(Kind::up));

  a->disconnect("b@127.0.0.1");
  ASSERT_TRUE(pa.wait_for(Kind::down) && pb.wait_for(Kind::down)) << pa.log_text();
  EXPECT_EQ(pa.events().back().reason, "disconnected");
  // Several reconnect_max periods pass without a new link.
  EXPECT_FALSE(pa.wait_for(Kind::up, 2, std::nullopt, 600ms)) << pa.log_text();
  EXPECT_EQ(a->stats().dialed, 1u);
}

/// How many tries the dialer of address made that failed (its "dialing <address> failed" lines,
/// debug ones included).
size_t failed_tries(Probe& probe, const std::string& address) {
  size_t n = 0;
  const std::string needle = "dialing " + address + " failed";
  std::istringstream text(probe.log_text());
  for (std::string line; std::getline(text, line);) n += line.find(needle) != line.npos;
  return n;
}

TEST(TransportLink, DisconnectOfAnAddressStopsADialerThatNeverCompletedAHandshake) {
  // b refuses a's cookie, so a never learns b's name: only the address can name that dialer.
  // c refuses it too and keeps being redialed: the clock this test waits on.
  Hub hub;
  Probe pa(hub), pb(hub), pc(hub);
  auto ca = config("a", 1, pa);
  ca.reconnect_max = 40ms;
  auto a = start(ca, pa);
  auto b = start(config("b", 1, pb, "guess"), pb);
  auto c = start(config("c", 1, pc, "guess"), pc);
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(a->connect(address(*b)));
  ASSERT_TRUE(a->connect(address(*c)));
  ASSERT_TRUE(hub.wait([&] { return failed_tries(pa, address(*b)) >= 2; })) << pa.log_text();

  a->disconnect("b@127.0.0.1");  // the name is not known to the transport: nothing stops
  ASSERT_TRUE(hub.wait([&] { return failed_tries(pa, address(*b)) >= 3; })) << pa.log_text();

  a->disconnect(address(*b));
  // A try already under way when disconnect() came may still end and say so, but no later one.
  const size_t tries_b = failed_tries(pa, address(*b)) + 1;
  const size_t tries_c = failed_tries(pa, address(*c));
  ASSERT_TRUE(hub.wait([&] { return failed_tries(pa, address(*c)) >= tries_c + 5; }, 10s))
      << pa.log_text();
  EXPECT_LE(failed_tries(pa, address(*b)), tries_b) << pa.log_text();
  EXPECT_EQ(pa.count(Kind::up), 0u);
}

TEST(TransportLink, DisconnectOfAnAddressClosesTheLinkItMadeAndStopsRedialingIt) {
  Hub hub;
  Probe pa(hub), pb(hub), pc(hub);
  auto ca = config("a", 1, pa);
  ca.reconnect_max = 40ms;
  auto a = start(ca, pa);
  auto b = start(config("b", 1, pb), pb);
  auto c = start(config("c", 1, pc, "guess"), pc);
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(a->connect(address(*b)));
  ASSERT_TRUE(pa.wait_for(Kind::up) && pb.wait_for(Kind::up));

  a->disconnect(address(*b));
  ASSERT_TRUE(pa.wait_for(Kind::down) && pb.wait_for(Kind::down)) << pa.log_text();
  EXPECT_EQ(pa.events().back().reason, "disconnected");
  // c's refusals are the clock: several of its redials pass without a new link to b.
  ASSERT_TRUE(a->connect(address(*c)));
  ASSERT_TRUE(hub.wait([&] { return failed_tries(pa, address(*c)) >= 5; }, 10s)) << pa.log_text();
  EXPECT_EQ(pa.count(Kind::up), 1u) << pa.log_text();
}

// -- stop ---------------------------------------------------------------------------------------

TEST(TransportStop, StopWithLinksUpReportsEachDownBeforeReturningAndNothingAfter) {
  Hub hub;
  Probe pa(hub), pb(hub), pc(hub);
  // stop() must close its links, not wait for them to time out: with every timeout at a
  // minute, a stop that waited for one would take that long.
  auto slow_timeouts = [](TransportOptions c) {
    c.handshake_timeout = 60s;
    c.dead_link_timeout = 60s;
    return c;
  };
  auto a = start(slow_timeouts(config("a", 1, pa)), pa);
  auto b = start(slow_timeouts(config("b", 1, pb)), pb);
  auto c = start(slow_timeouts(config("c", 1, pc)), pc);
  ASSERT_TRUE(a && b && c);
  EXPECT_TRUE(a->connect(address(*b)));
  EXPECT_TRUE(c->connect(address(*a)));
  ASSERT_TRUE(pa.wait_for(Kind::up, 2)) << pa.log_text();

  const auto began = std::chrono::steady_clock::now();
  a->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - began, 30s);
  EXPECT_EQ(pa.count(Kind::down, b->self()), 1u);
  EXPECT_EQ(pa.count(Kind::down, c->self()), 1u);
  EXPECT_EQ(pa.events().back().reason, "stop");
  const size_t events_at_stop = pa.events().size();

  a->stop();  // idempotent
  EXPECT_EQ(a->send(b->self(), numbered(a->self(), 0)), SendError::nodedown);
  EXPECT_TRUE(a->peers().empty());
  EXPECT_FALSE(a->connect(address(*b)));
  // The others see the link go; a's listener hears nothing more while c keeps redialing a.
  ASSERT_TRUE(pb.wait_for(Kind::down) && pc.wait_for(Kind::down));
  ASSERT_TRUE(pc.wait_logged("dialing " + address(*a) + " failed")) << pc.log_text();
  EXPECT_EQ(pa.events().size(), events_at_stop);
}

TEST(TransportStop, StopFromAListenerCallbackClosesEverythingAndTheDestructorJoins) {
  Hub hub;
  Probe pa(hub), pb(hub), pc(hub);
  std::unique_ptr<Transport> a;
  // A node that gives up as soon as its first peer arrives: stop() on a's own Asio thread.
  pa.on_up_down = [&](Probe::Event::Kind kind, const NodeId&) {
    if (kind == Kind::up) a->stop();
  };
  a = start(config("a", 1, pa), pa);
  auto b = start(config("b", 1, pb), pb);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->connect(address(*b)));
  ASSERT_TRUE(pa.wait_for(Kind::down)) << pa.log_text();
  EXPECT_EQ(pa.events().back().reason, "stop");
  a->stop();  // from the test thread: joins
  EXPECT_EQ(pa.count(Kind::up), 1u);
  EXPECT_EQ(pa.count(Kind::down), 1u);
  EXPECT_TRUE(a->peers().empty());
}

TEST(TransportStop, TheDestructorStopsWithoutHanging) {
  Hub hub;
  Probe pa(hub), pb(hub);
  auto a = start(config("a", 1, pa), pa);
  auto b = start(config("b", 1, pb), pb);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->connect(address(*b)));
  ASSERT_TRUE(pa.wait_for(Kind::up));
  a.reset();
  EXPECT_EQ(pa.count(Kind::down), 1u);
  ASSERT_TRUE(pb.wait_for(Kind::down));
}

}  // namespace
}  // namespace otp::cluster::test
