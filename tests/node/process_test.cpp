// Process primitives (Erlang's `erlang` module), failure paths first: send, timers, monitors,
// links, exit signals, trap_exit, alive, self, and otp::Inbox. No sleeps are used to synchronise:
// tests wait on events (Inbox::receive with a deadline, Latch::wait, eventually()) with generous
// deadlines; a receive that must time out is used only as a negative check.
#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

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
using otp_test::Latch;
using otp_test::receive_down;
using otp_test::receive_exit_from;
using otp_test::ReleaseOnExit;
using otp_test::since;
using Clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

otp::NodeOptions config(size_t threads) {
  return otp_test::node_options("process_test", threads);
}

// -- a server that exposes the primitives ------------------------------------------------------

struct Ok {};
struct Ping {};
struct Pong {};
struct LinkTo {
  otp::Pid pid;
};
struct UnlinkFrom {
  otp::Pid pid;
};
struct MonitorPid {
  otp::Pid pid;
};
struct DemonitorRef {
  otp::Ref ref;
};
struct SetTrapExit {
  bool on;
};
struct GetSelf {};
struct StopWith {  // cast: return stop(reason)
  Reason reason;
};
struct Throw {};  // cast: the handler throws
struct ExitTarget {
  otp::Pid target;
  Reason reason;
};
struct SendTo {  // cast: otp::send(to, msg)
  otp::Pid to;
  otp::Message msg;
};
struct SendThenStop {  // cast: otp::send(to, msg), then stop(reason)
  otp::Pid to;
  otp::Message msg;
  Reason reason;
};
struct Block {  // cast: blocks the server (and its scheduler thread) until released
  std::shared_ptr<Latch> entered;
  std::shared_ptr<Latch> release;
};
struct Note {
  int n;
};
struct Terminated {
  Reason reason;
};
struct Handled {  // reported for every handle_info, in order
  otp::Message info;
};
struct Hold {};  // call to a Holder: answered only on Release
struct Release {};
struct HoldArrived {};
struct AwaitThenDemonitor {  // call: await a Holder, then demonitor(ref) in the continuation
  otp::Pid holder;
  otp::Ref ref;
};
struct AwaitThenUnlink {  // call: await a Holder, then unlink(pid) in the continuation
  otp::Pid holder;
  otp::Pid pid;
};

/// Holds a call until released, so that the caller stays in await_call meanwhile.
class Holder : public otp::GenServer {
 public:
  explicit Holder(otp::Pid report) : report_(std::move(report)) {}
  otp::Action handle_call(const otp::Message& m, const otp::From& from) override {
    return m.match([&](const Hold&) {
      pending_ = from;
      otp::send(report_, HoldArrived{});
      return otp::noreply();
    });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const Release&) {
      otp::gen_server::reply(pending_, 0);
      return otp::noreply();
    });
  }

 private:
  otp::Pid report_;
  otp::From pending_;
};

/// Runs process primitives on request and forwards everything that reaches handle_info (wrapped
/// in Handled) and terminate (Terminated) to `report`.
class Probe : public otp::GenServer {
 public:
  Probe(otp::Pid report, bool trap) : report_(std::move(report)), trap_(trap) {}
  otp::Action init() override {
    if (trap_) trap_exit(true);
    return otp::ok();
  }
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Ping&) { return otp::reply(Pong{}); },
                   [&](const LinkTo& l) {
                     otp::link(l.pid);
                     return otp::reply(Ok{});
                   },
                   [&](const UnlinkFrom& u) {
                     otp::unlink(u.pid);
                     return otp::reply(Ok{});
                   },
                   [&](const MonitorPid& p) { return otp::reply(otp::monitor(p.pid)); },
                   [&](const DemonitorRef& d) {
                     otp::demonitor(d.ref);
                     return otp::reply(Ok{});
                   },
                   [&](const SetTrapExit& t) { return otp::reply(otp::trap_exit(t.on)); },
                   [&](const AwaitThenDemonitor& a) {
                     return await_call<int>(a.holder, Hold{}, [ref = a.ref](otp::Result<int>) {
                       otp::demonitor(ref);
                       return otp::reply(Ok{});
                     });
                   },
                   [&](const AwaitThenUnlink& a) {
                     return await_call<int>(a.holder, Hold{}, [pid = a.pid](otp::Result<int>) {
                       otp::unlink(pid);
                       return otp::reply(Ok{});
                     });
                   },
                   [&](const GetSelf&) { return otp::reply(otp::self()); });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const StopWith& s) { return otp::stop(s.reason); },
                   [&](const Throw&) -> otp::Action { throw std::runtime_error("probe crashed"); },
                   [&](const ExitTarget& e) {
                     otp::exit(e.target, e.reason);
                     return otp::noreply();
                   },
                   [&](const SendTo& s) {
                     otp::send(s.to, s.msg);
                     return otp::noreply();
                   },
                   [&](const SendThenStop& s) {
                     otp::send(s.to, s.msg);
                     return otp::stop(s.reason);
                   },
                   [&](const Block& b) {
                     b.entered->count_down();
                     b.release->wait(kLong);
                     return otp::noreply();
                   });
  }
  otp::Action handle_info(const otp::Message& m) override {
    otp::send(report_, Handled{m});
    return otp::noreply();
  }
  void terminate(const Reason& reason) override { otp::send(report_, Terminated{reason}); }

 private:
  otp::Pid report_;
  bool trap_;
};

otp::Pid start_probe(otp::Node& node, const otp::Inbox& report, bool trap = false) {
  return otp::gen_server::start<Probe>(node, report.pid(), trap).value();
}

/// The next message handled by a Probe's handle_info, of type T.
template <class T>
std::optional<T> handled(otp::Inbox& inbox, ms timeout = kLong) {
  auto m = inbox.receive_if(
      [](const otp::Message& x) {
        const auto* h = x.get_if<Handled>();
        return h != nullptr && h->info.is<T>();
      },
      timeout);
  if (!m) return std::nullopt;
  return m->template get<Handled>().info.template get<T>();
}

/// Waits until the node has `n` processes: a process that exits signals its links and monitors
/// before it leaves the process table, so afterwards every exit signal it sent is delivered.
bool settle(otp::Node& node, size_t n) {
  return eventually([&] { return node.process_count() == n; }, kLong);
}

// -- outside any process ------------------------------------------------------------------------

/// Sends probe a Note and checks that the next thing it handles is that Note: nothing held back
/// (a Down, an exit signal) slipped in before it after `after` (demonitor, unlink).
void expect_next_handled_is_a_note(otp::Inbox& inbox, const otp::Pid& probe, const char* after) {
  otp::send(probe, Note{1});
  auto next = inbox.receive_if([](const otp::Message& m) { return m.is<Handled>(); }, kLong);
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->get<Handled>().info.is<Note>())
      << "handled " << next->get<Handled>().info.type_name() << " after " << after;
}

TEST(ProcessOutside, MonitorLinkAndTrapExitOutsideAProcessThrowLogicError) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  EXPECT_THROW((void)otp::monitor(inbox.pid()), std::logic_error);
  EXPECT_THROW(otp::demonitor(otp::Ref::make()), std::logic_error);
  EXPECT_THROW(otp::link(inbox.pid()), std::logic_error);
  EXPECT_THROW(otp::unlink(inbox.pid()), std::logic_error);
  EXPECT_THROW((void)otp::trap_exit(true), std::logic_error);
}

TEST(ProcessOutside, SelfIsInvalidOutsideAProcessAndThePidInsideAHandler) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  EXPECT_FALSE(otp::self().valid());
  auto pid = start_probe(node, inbox);
  EXPECT_EQ(otp::gen_server::call<otp::Pid>(node, pid, GetSelf{}).value(), pid);
}

// -- send ---------------------------------------------------------------------------------------

TEST(ProcessSend, SendToAnUnregisteredNameFailsWithNoproc) {
  otp::Node node(config(1));
  auto r = otp::send(node, "nobody", Note{1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::noproc);
  EXPECT_TRUE(contains(r.error().to_string(), "nobody")) << r.error();
}

TEST(ProcessSend, SendToADeadOrInvalidPidIsSilentlyDropped) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::stop(node, pid));
  ASSERT_TRUE(inbox.receive_as<Terminated>(0ms));
  otp::send(pid, Note{1});
  otp::send(otp::Pid{}, Note{2});
  EXPECT_FALSE(inbox.receive(100ms));
}

TEST(ProcessSend, SendToANameOfADeadProcessFailsWithNoproc) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Probe>(node, otp::name("probe"), inbox.pid(), false).value();
  ASSERT_TRUE(otp::gen_server::stop(node, pid));
  EXPECT_EQ(otp::send(node, "probe", Note{1}).code(), ErrorCode::noproc);
  EXPECT_EQ(otp::whereis(node, "probe").code(), ErrorCode::noproc);
}

TEST(ProcessSend, SendDeliversToHandleInfoInOrder) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  for (int i = 0; i < 20; ++i) otp::send(pid, Note{i});
  for (int i = 0; i < 20; ++i) {
    auto n = handled<Note>(inbox);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->n, i);
  }
}

// The mailbox hands a server its envelopes in batches of 256 and is fed by lock-free pushes:
// bursts of several batches from two threads at once must keep each sender's order.
TEST(ProcessSend, BurstsOfManyBatchesFromTwoSendersKeepEachSendersOrder) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  constexpr int kEach = 3000;
  std::thread other([&] {
    for (int i = 0; i < kEach; ++i) otp::send(pid, Note{1'000'000 + i});
  });
  for (int i = 0; i < kEach; ++i) otp::send(pid, Note{i});
  other.join();
  int next[2] = {0, 1'000'000};
  for (int k = 0; k < 2 * kEach; ++k) {
    auto n = handled<Note>(inbox);
    ASSERT_TRUE(n) << "after " << k << " notes";
    int& expected = next[n->n >= 1'000'000 ? 1 : 0];
    ASSERT_EQ(n->n, expected);
    ++expected;
  }
}

TEST(ProcessSend, SendToARegisteredNameDeliversToHandleInfo) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = otp::gen_server::start<Probe>(node, otp::name("probe"), inbox.pid(), false).value();
  EXPECT_EQ(otp::whereis(node, "probe").value(), pid);
  ASSERT_TRUE(otp::send(node, "probe", Note{5}));
  auto n = handled<Note>(inbox);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->n, 5);
}

TEST(ProcessSend, AServerCanSendToAnotherProcess) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  otp::gen_server::cast(node, pid, SendTo{inbox.pid(), Note{3}});
  auto n = inbox.receive_as<Note>(kLong);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->n, 3);
}

// -- timers -------------------------------------------------------------------------------------

TEST(ProcessTimer, CancelTimerBeforeItFiresReturnsTheTimeLeftAndTheMessageNeverArrives) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto t0 = Clock::now();
  auto timer = otp::send_after(node, inbox.pid(), Note{1}, 400ms);
  auto left = otp::cancel_timer(node, timer);
  auto elapsed = since(t0);
  ASSERT_TRUE(left.has_value());
  EXPECT_LE(*left, 400ms);
  EXPECT_GE(*left, 400ms - elapsed - 1ms);
  EXPECT_FALSE(inbox.receive(800ms)) << "a cancelled timer delivered";
  EXPECT_FALSE(otp::cancel_timer(node, timer)) << "cancelling twice";
}

TEST(ProcessTimer, CancelTimerAfterItFiredReturnsNullopt) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto timer = otp::send_after(node, inbox.pid(), Note{1}, 10ms);
  ASSERT_TRUE(inbox.receive_as<Note>(kLong));
  EXPECT_FALSE(otp::cancel_timer(node, timer));
}

TEST(ProcessTimer, CancelTimerOfARefThatIsNoTimerReturnsNullopt) {
  otp::Node node(config(1));
  EXPECT_FALSE(otp::cancel_timer(node, otp::Ref::make()));
  EXPECT_FALSE(otp::cancel_timer(node, otp::Ref{}));
}

TEST(ProcessTimer, SendAfterToADeadProcessIsDropped) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::stop(node, pid));
  ASSERT_TRUE(inbox.receive_as<Terminated>(0ms));
  (void)otp::send_after(node, pid, Note{1}, 10ms);
  (void)otp::send_after(node, otp::Pid{}, Note{2}, 10ms);
  EXPECT_FALSE(inbox.receive(200ms));
}

TEST(ProcessTimer, SendAfterDeliversAfterTheDelay) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto t0 = Clock::now();
  (void)otp::send_after(node, inbox.pid(), Note{7}, 100ms);
  auto n = inbox.receive_as<Note>(kLong);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->n, 7);
  EXPECT_GE(since(t0), 100ms);
}

TEST(ProcessTimer, SendAfterToAServerArrivesInHandleInfoInDueOrder) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  (void)otp::send_after(node, pid, Note{2}, 200ms);
  (void)otp::send_after(node, pid, Note{1}, 50ms);
  auto first = handled<Note>(inbox);
  auto second = handled<Note>(inbox);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->n, 1);
  EXPECT_EQ(second->n, 2);
}

// -- monitors -----------------------------------------------------------------------------------

TEST(ProcessMonitor, MonitorOfADeadPidDeliversDownNoprocAtOnce) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::stop(node, pid));
  auto ref = inbox.monitor(pid);
  auto down = receive_down(inbox, ref, 0ms);  // already queued when monitor returned
  ASSERT_TRUE(down);
  EXPECT_EQ(down->pid, pid);
  EXPECT_EQ(down->reason, Reason::noproc());
}

TEST(ProcessMonitor, MonitorOfAnInvalidPidDeliversDownNoproc) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto ref = inbox.monitor(otp::Pid{});
  auto down = receive_down(inbox, ref, 0ms);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::noproc());
}

TEST(ProcessMonitor, AServerMonitoringADeadPidGetsDownNoproc) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto dead = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::stop(node, dead));
  auto watcher = start_probe(node, inbox);
  auto ref = otp::gen_server::call<otp::Ref>(node, watcher, MonitorPid{dead}).value();
  auto down = handled<otp::Down>(inbox);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->ref, ref);
  EXPECT_EQ(down->pid, dead);
  EXPECT_EQ(down->reason, Reason::noproc());
}

TEST(ProcessMonitor, DemonitorPreventsTheDown) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  auto ref = inbox.monitor(pid);
  inbox.demonitor(ref);
  auto other = inbox.monitor(pid);  // proves the exit was observed
  ASSERT_TRUE(otp::gen_server::stop(node, pid));
  ASSERT_TRUE(receive_down(inbox, other));
  EXPECT_FALSE(receive_down(inbox, ref, 200ms));
}

TEST(ProcessMonitor, AServerDemonitorPreventsTheDown) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto target = start_probe(node, inbox);
  auto watcher = start_probe(node, inbox);
  auto ref = otp::gen_server::call<otp::Ref>(node, watcher, MonitorPid{target}).value();
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, watcher, DemonitorRef{ref}));
  ASSERT_TRUE(otp::gen_server::stop(node, target));
  // Anything the watcher handles after the stop comes after a Down would have.
  otp::send(watcher, Note{1});
  auto next = inbox.receive_if([](const otp::Message& m) { return m.is<Handled>(); }, kLong);
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->get<Handled>().info.is<Note>())
      << "got " << next->get<Handled>().info.type_name();
}

// process.hpp: "after demonitor(ref) no Down for ref is ever delivered". A server that is
// awaiting a call holds other messages back; a Down held back that way must be dropped too.
TEST(ProcessMonitor, DemonitorSuppressesADownThatArrivedWhileTheServerAwaitedACall) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto target = start_probe(node, inbox);
  auto watcher = start_probe(node, inbox);
  auto holder = otp::gen_server::start<Holder>(node, inbox.pid()).value();
  auto ref = otp::gen_server::call<otp::Ref>(node, watcher, MonitorPid{target}).value();
  auto awaiting = std::async(std::launch::async, [&] {
    return otp::gen_server::call<Ok>(node, watcher, AwaitThenDemonitor{holder, ref}, 10s);
  });
  ASSERT_TRUE(inbox.receive_as<HoldArrived>(kLong));
  // The Down reaches the watcher (queued before stop returns) while it awaits the holder.
  ASSERT_TRUE(otp::gen_server::stop(node, target));
  otp::gen_server::cast(node, holder, Release{});  // its reply is queued after the Down
  ASSERT_EQ(awaiting.wait_for(kLong), std::future_status::ready);
  ASSERT_TRUE(awaiting.get());
  expect_next_handled_is_a_note(inbox, watcher, "demonitor");
}

TEST(ProcessMonitor, DemonitorOfAnUnknownRefIsHarmless) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  inbox.demonitor(otp::Ref::make());
  auto pid = start_probe(node, inbox);
  EXPECT_TRUE(otp::gen_server::call<Ok>(node, pid, DemonitorRef{otp::Ref::make()}));
}

TEST(ProcessMonitor, AMonitorDeliversOneDownWithTheExitReason) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  auto ref = inbox.monitor(pid);
  otp::gen_server::cast(node, pid, StopWith{Reason::error("gone")});
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->ref, ref);
  EXPECT_EQ(down->pid, pid);
  EXPECT_EQ(down->reason, Reason::error("gone"));
  EXPECT_FALSE(receive_down(inbox, ref, 200ms)) << "a second Down for the same monitor";
}

TEST(ProcessMonitor, TwoMonitorsDeliverTwoDownsWithDistinctRefs) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  auto r1 = inbox.monitor(pid);
  auto r2 = inbox.monitor(pid);
  EXPECT_NE(r1, r2);
  ASSERT_TRUE(otp::gen_server::stop(node, pid, Reason::shutdown()));
  auto d1 = receive_down(inbox, r1);
  auto d2 = receive_down(inbox, r2);
  ASSERT_TRUE(d1 && d2);
  EXPECT_EQ(d1->reason, Reason::shutdown());
  EXPECT_EQ(d2->reason, Reason::shutdown());
  EXPECT_FALSE(inbox.receive_as<otp::Down>(200ms)) << "more Downs than monitors";
}

TEST(ProcessMonitor, AServerMonitorDeliversDownToHandleInfo) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto target = start_probe(node, inbox);
  auto watcher = start_probe(node, inbox);
  auto ref = otp::gen_server::call<otp::Ref>(node, watcher, MonitorPid{target}).value();
  otp::gen_server::cast(node, target, Throw{});
  auto down = handled<otp::Down>(inbox);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->ref, ref);
  EXPECT_EQ(down->pid, target);
  EXPECT_TRUE(contains(down->reason.detail(), "probe crashed")) << down->reason;
  EXPECT_TRUE(otp::alive(watcher)) << "a monitor is not a link";
}

TEST(ProcessMonitor, AKilledProcessIsSeenWithReasonKilled) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  auto ref = inbox.monitor(pid);
  otp::exit(pid, Reason::kill());
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::killed());
}

// -- links --------------------------------------------------------------------------------------

TEST(ProcessLink, ACrashPropagatesToANonTrappingLinkedServerWithTheSameReason) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto a = start_probe(node, inbox);
  auto b = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, LinkTo{b}));
  auto ref = inbox.monitor(a);
  otp::gen_server::cast(node, b, Throw{});
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason.kind(), Reason::Kind::error);
  EXPECT_TRUE(contains(down->reason.detail(), "probe crashed")) << down->reason;
}

TEST(ProcessLink, LinksAreBidirectional) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto a = start_probe(node, inbox);
  auto b = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, LinkTo{b}));
  auto ref = inbox.monitor(b);
  otp::gen_server::cast(node, a, StopWith{Reason::error("a failed")});  // A set up the link
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::error("a failed"));
}

TEST(ProcessLink, ANonTrappingServerKilledThroughALinkDoesNotRunTerminate) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto a = start_probe(node, inbox);
  auto b = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, LinkTo{b}));
  auto ref = inbox.monitor(a);
  otp::gen_server::cast(node, b, StopWith{Reason::error("b failed")});
  ASSERT_TRUE(receive_down(inbox, ref));
  // B's terminate ran (it stopped itself); A's must not have (it died from a signal).
  auto t = inbox.receive_as<Terminated>(0ms);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->reason, Reason::error("b failed"));
  EXPECT_FALSE(inbox.receive_as<Terminated>(0ms));
}

TEST(ProcessLink, ANormalExitDoesNotPropagateOverALink) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto a = start_probe(node, inbox);
  auto b = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, LinkTo{b}));
  otp::gen_server::cast(node, b, StopWith{Reason::normal()});
  ASSERT_TRUE(settle(node, 2));  // B has exited and signalled A
  EXPECT_TRUE(otp::gen_server::call<Pong>(node, a, Ping{})) << "A died from a normal exit";
  EXPECT_TRUE(otp::alive(a));
}

TEST(ProcessLink, AShutdownExitPropagatesToANonTrappingLinkedServer) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto a = start_probe(node, inbox);
  auto b = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, LinkTo{b}));
  auto ref = inbox.monitor(a);
  ASSERT_TRUE(otp::gen_server::stop(node, b, Reason::shutdown("bye")));
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::shutdown("bye"));
}

TEST(ProcessLink, TrapExitTurnsALinkedCrashIntoAnExitSignal) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto a = start_probe(node, inbox, /*trap=*/true);
  auto b = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, LinkTo{b}));
  otp::gen_server::cast(node, b, StopWith{Reason::error("b failed")});
  auto signal = handled<otp::ExitSignal>(inbox);
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->from, b);
  EXPECT_EQ(signal->reason, Reason::error("b failed"));
  EXPECT_TRUE(otp::gen_server::call<Pong>(node, a, Ping{}));
}

TEST(ProcessLink, ATrappingServerSeesAShutdownReasonWithItsDetailIntact) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto a = start_probe(node, inbox, /*trap=*/true);
  auto b = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, LinkTo{b}));
  otp::gen_server::cast(node, b, StopWith{Reason::shutdown("closed")});
  auto signal = handled<otp::ExitSignal>(inbox);
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->reason, Reason::shutdown("closed"));
  EXPECT_EQ(signal->reason.to_string(), "{shutdown, closed}");
  EXPECT_TRUE(signal->reason.is_clean());
}

TEST(ProcessLink, ATrappingServerGetsAnExitSignalForANormalExitToo) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto a = start_probe(node, inbox, /*trap=*/true);
  auto b = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, LinkTo{b}));
  otp::gen_server::cast(node, b, StopWith{Reason::normal()});
  auto signal = handled<otp::ExitSignal>(inbox);
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->from, b);
  EXPECT_EQ(signal->reason, Reason::normal());
}

TEST(ProcessLink, UnlinkStopsPropagation) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto a = start_probe(node, inbox);
  auto b = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, LinkTo{b}));
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, UnlinkFrom{b}));
  otp::gen_server::cast(node, b, Throw{});
  ASSERT_TRUE(settle(node, 2));
  EXPECT_TRUE(otp::gen_server::call<Pong>(node, a, Ping{})) << "A died through a removed link";
}

TEST(ProcessLink, UnlinkFromTheOtherSideStopsPropagationToo) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto a = start_probe(node, inbox, /*trap=*/true);
  auto b = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, LinkTo{b}));
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, b, UnlinkFrom{a}));
  otp::gen_server::cast(node, b, StopWith{Reason::error("b failed")});
  ASSERT_TRUE(settle(node, 2));
  otp::send(a, Note{1});  // handled after any exit signal B could have sent
  auto next = inbox.receive_if([](const otp::Message& m) { return m.is<Handled>(); }, kLong);
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->get<Handled>().info.is<Note>())
      << "got " << next->get<Handled>().info.type_name();
}

// process.hpp: "after unlink no exit signal from that link arrives", also when the signal came
// in while the server awaited a call (and was held back with the other messages).
TEST(ProcessLink, UnlinkSuppressesAnExitSignalThatArrivedWhileTheServerAwaitedACall) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto a = start_probe(node, inbox, /*trap=*/true);
  auto b = start_probe(node, inbox);
  auto holder = otp::gen_server::start<Holder>(node, inbox.pid()).value();
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, LinkTo{b}));
  auto awaiting = std::async(std::launch::async, [&] {
    return otp::gen_server::call<Ok>(node, a, AwaitThenUnlink{holder, b}, 10s);
  });
  ASSERT_TRUE(inbox.receive_as<HoldArrived>(kLong));
  otp::gen_server::cast(node, b, StopWith{Reason::error("b failed")});
  ASSERT_TRUE(settle(node, 3));  // B has exited and signalled A
  otp::gen_server::cast(node, holder, Release{});
  ASSERT_EQ(awaiting.wait_for(kLong), std::future_status::ready);
  ASSERT_TRUE(awaiting.get());
  expect_next_handled_is_a_note(inbox, a, "unlink");
}

TEST(ProcessLink, LinkingADeadPidKillsANonTrappingServerWithNoproc) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto dead = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::stop(node, dead));
  auto a = start_probe(node, inbox);
  auto ref = inbox.monitor(a);
  (void)otp::gen_server::call<Ok>(node, a, LinkTo{dead});
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::noproc());
}

TEST(ProcessLink, LinkingADeadPidGivesATrappingServerAnExitSignalNoproc) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto dead = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::stop(node, dead));
  auto a = start_probe(node, inbox, /*trap=*/true);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, LinkTo{dead}));
  auto signal = handled<otp::ExitSignal>(inbox);
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->from, dead);
  EXPECT_EQ(signal->reason, Reason::noproc());
}

TEST(ProcessLink, LinkingAnInvalidPidGivesATrappingServerAnExitSignalNoproc) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto a = start_probe(node, inbox, /*trap=*/true);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, LinkTo{otp::Pid{}}));
  auto signal = handled<otp::ExitSignal>(inbox);
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->reason, Reason::noproc());
}

TEST(ProcessLink, TrapExitReturnsThePreviousValue) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  EXPECT_FALSE(otp::gen_server::call<bool>(node, pid, SetTrapExit{true}).value());
  EXPECT_TRUE(otp::gen_server::call<bool>(node, pid, SetTrapExit{true}).value());
  EXPECT_TRUE(otp::gen_server::call<bool>(node, pid, SetTrapExit{false}).value());
  EXPECT_FALSE(otp::gen_server::call<bool>(node, pid, SetTrapExit{false}).value());
}

TEST(ProcessLink, TurningTrapExitOffMakesALinkedCrashFatalAgain) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto a = start_probe(node, inbox, /*trap=*/true);
  auto b = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, a, LinkTo{b}));
  ASSERT_TRUE(otp::gen_server::call<bool>(node, a, SetTrapExit{false}).value());
  auto ref = inbox.monitor(a);
  otp::gen_server::cast(node, b, StopWith{Reason::error("b failed")});
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::error("b failed"));
}

// Erlang guarantees that signals from one process to another arrive in the order they were sent:
// a trapping process receives a message its linked peer sent before exiting before the
// {'EXIT', Peer, Reason} message (the classic "send the result, then exit" pattern).
TEST(ProcessLink, AnExitSignalDoesNotOvertakeAMessageTheSameProcessSentBeforeIt) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto t = start_probe(node, inbox, /*trap=*/true);
  auto s = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, t, LinkTo{s}));
  // Keep T busy so that both signals are queued before it looks at its mailbox.
  Block block{std::make_shared<Latch>(1), std::make_shared<Latch>(1)};
  ReleaseOnExit guard(*block.release);
  otp::gen_server::cast(node, t, block);
  ASSERT_TRUE(block.entered->wait(kLong));
  otp::gen_server::cast(node, s, SendThenStop{t, Note{1}, Reason::error("done")});
  ASSERT_TRUE(settle(node, 2));  // S has exited: its Note and its exit signal are queued at T
  block.release->count_down();
  auto first = inbox.receive_if([](const otp::Message& m) { return m.is<Handled>(); }, kLong);
  auto second = inbox.receive_if([](const otp::Message& m) { return m.is<Handled>(); }, kLong);
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(first->get<Handled>().info.is<Note>())
      << "first handled: " << first->get<Handled>().info.type_name();
  EXPECT_TRUE(second->get<Handled>().info.is<otp::ExitSignal>())
      << "second handled: " << second->get<Handled>().info.type_name();
}

// -- exit signals -------------------------------------------------------------------------------

TEST(ProcessExit, ExitNormalIsIgnoredByANonTrappingServer) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  otp::exit(pid, Reason::normal());
  // Exit signals overtake calls, so the call is handled after the signal.
  EXPECT_TRUE(otp::gen_server::call<Pong>(node, pid, Ping{}));
  EXPECT_TRUE(otp::alive(pid));
}

TEST(ProcessExit, ExitNormalReachesATrappingServerAsAnExitSignal) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox, /*trap=*/true);
  otp::exit(pid, Reason::normal());
  auto signal = handled<otp::ExitSignal>(inbox);
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->reason, Reason::normal());
  EXPECT_FALSE(signal->from.valid()) << "sent from outside any process";
}

TEST(ProcessExit, ExitWithAnErrorKillsANonTrappingServerWithThatReason) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  auto ref = inbox.monitor(pid);
  otp::exit(pid, Reason::error("told to die"));
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::error("told to die"));
  EXPECT_FALSE(inbox.receive_as<Terminated>(0ms)) << "terminate ran for a signal exit";
}

TEST(ProcessExit, ExitWithAnErrorReachesATrappingServerAsAnExitSignalFromTheSender) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto target = start_probe(node, inbox, /*trap=*/true);
  auto sender = start_probe(node, inbox);
  otp::gen_server::cast(node, sender, ExitTarget{target, Reason::error("go away")});
  auto signal = handled<otp::ExitSignal>(inbox);
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->from, sender);
  EXPECT_EQ(signal->reason, Reason::error("go away"));
  EXPECT_TRUE(otp::alive(target));
}

TEST(ProcessExit, ExitKillKillsEvenATrappingServerAndItsLinksSeeKilled) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox, /*trap=*/true);
  inbox.link(pid);
  auto ref = inbox.monitor(pid);
  otp::exit(pid, Reason::kill());
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::killed());
  auto signal = receive_exit_from(inbox, pid);
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->reason, Reason::killed()) << "links see killed, never kill";
  EXPECT_FALSE(inbox.receive_as<Terminated>(0ms)) << "terminate ran for a kill";
  EXPECT_FALSE(handled<otp::ExitSignal>(inbox, 0ms)) << "kill was trapped";
}

TEST(ProcessExit, KilledIsTrappableForLinkedServersAndFatalForNonTrappingOnes) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto victim = start_probe(node, inbox);
  auto trapper = start_probe(node, inbox, /*trap=*/true);
  auto plain = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, trapper, LinkTo{victim}));
  ASSERT_TRUE(otp::gen_server::call<Ok>(node, plain, LinkTo{victim}));
  auto plain_ref = inbox.monitor(plain);
  otp::exit(victim, Reason::kill());
  auto signal = handled<otp::ExitSignal>(inbox);
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->from, victim);
  EXPECT_EQ(signal->reason, Reason::killed());
  auto down = receive_down(inbox, plain_ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::killed());
  EXPECT_TRUE(otp::gen_server::call<Pong>(node, trapper, Ping{}));
}

TEST(ProcessExit, AKillDoesNotWaitBehindALongMailbox) {
  class Busy : public otp::GenServer {
   public:
    explicit Busy(std::shared_ptr<std::atomic<int>> done) : done_(std::move(done)) {}
    otp::Action handle_cast(const otp::Message&) override {
      std::this_thread::sleep_for(20ms);  // simulated work, not synchronisation
      ++*done_;
      return otp::noreply();
    }

   private:
    std::shared_ptr<std::atomic<int>> done_;
  };
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto done = std::make_shared<std::atomic<int>>(0);
  auto pid = otp::gen_server::start<Busy>(node, done).value();
  auto ref = inbox.monitor(pid);
  for (int i = 0; i < 100; ++i) otp::gen_server::cast(node, pid, Ping{});  // ~2 s of work
  otp::exit(pid, Reason::kill());
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down) << "no Down; " << done->load() << " casts were handled";
  EXPECT_EQ(down->reason, Reason::killed());
  // Behind the mailbox, all 100 casts would have been handled first.
  EXPECT_LT(done->load(), 50);
}

TEST(ProcessExit, AnErrorExitSignalDoesNotWaitBehindALongMailboxEither) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  auto ref = inbox.monitor(pid);
  Block block{std::make_shared<Latch>(1), std::make_shared<Latch>(1)};
  ReleaseOnExit guard(*block.release);
  otp::gen_server::cast(node, pid, block);
  ASSERT_TRUE(block.entered->wait(kLong));
  for (int i = 0; i < 1000; ++i) otp::send(pid, Note{i});
  otp::exit(pid, Reason::error("stop now"));
  block.release->count_down();
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::error("stop now"));
  size_t notes = 0;
  while (inbox.receive_if([](const otp::Message& m) { return m.is<Handled>(); }, 0ms)) ++notes;
  EXPECT_LT(notes, 1000u) << "the exit waited for the whole mailbox";
}

// erlang:exit/2: "If Reason is normal, Pid does not exit, unless Pid is the calling process, in
// which case it exits with reason normal."
TEST(ProcessExit, ExitNormalToSelfFromAHandlerStopsTheServerNormally) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  auto ref = inbox.monitor(pid);
  otp::gen_server::cast(node, pid, ExitTarget{pid, Reason::normal()});
  auto down = receive_down(inbox, ref, 2s);
  ASSERT_TRUE(down) << "exit(self(), normal) was ignored";
  EXPECT_EQ(down->reason, Reason::normal());
}

TEST(ProcessExit, ExitOfADeadOrInvalidPidIsHarmless) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::stop(node, pid));
  otp::exit(pid, Reason::kill());
  otp::exit(otp::Pid{}, Reason::kill());
  EXPECT_FALSE(otp::alive(pid));
}

// -- alive --------------------------------------------------------------------------------------

TEST(ProcessAlive, AliveIsFalseForAnInvalidPid) {
  EXPECT_FALSE(otp::alive(otp::Pid{}));
}

TEST(ProcessAlive, AliveIsTrueWhileRunningAndFalseOnceExited) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  EXPECT_TRUE(otp::alive(pid));
  EXPECT_TRUE(otp::alive(inbox.pid()));
  auto ref = inbox.monitor(pid);
  otp::exit(pid, Reason::kill());
  ASSERT_TRUE(receive_down(inbox, ref));
  EXPECT_FALSE(otp::alive(pid)) << "alive after its Down";
  EXPECT_TRUE(pid.valid()) << "a dead pid stays a valid value";
}

// -- Inbox --------------------------------------------------------------------------------------

TEST(Inbox, ReceiveTimesOutWithNulloptWhenNothingArrives) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto t0 = Clock::now();
  EXPECT_FALSE(inbox.receive(100ms));
  EXPECT_GE(since(t0), 100ms);
  EXPECT_FALSE(inbox.receive(0ms));
  EXPECT_FALSE(inbox.receive_as<Note>(0ms));
}

TEST(Inbox, ReceiveIfLeavesNonMatchingMessagesQueuedInOrder) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  otp::send(inbox.pid(), Note{1});
  otp::send(inbox.pid(), Ping{});
  otp::send(inbox.pid(), Note{2});
  EXPECT_FALSE(inbox.receive_if([](const otp::Message& m) { return m.is<Pong>(); }, 50ms));
  EXPECT_EQ(inbox.pending(), 3u);
  auto ping = inbox.receive_if([](const otp::Message& m) { return m.is<Ping>(); }, 0ms);
  ASSERT_TRUE(ping);
  EXPECT_EQ(inbox.pending(), 2u);
  auto a = inbox.receive(0ms);
  auto b = inbox.receive(0ms);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->get<Note>().n, 1);
  EXPECT_EQ(b->get<Note>().n, 2);
  EXPECT_EQ(inbox.pending(), 0u);
}

TEST(Inbox, ReceiveAsReturnsTheOldestMessageOfThatType) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  otp::send(inbox.pid(), Ping{});
  otp::send(inbox.pid(), Note{1});
  otp::send(inbox.pid(), Note{2});
  auto n = inbox.receive_as<Note>(0ms);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->n, 1);
  EXPECT_TRUE(inbox.receive_as<Ping>(0ms));
  EXPECT_EQ(inbox.receive_as<Note>(0ms)->n, 2);
}

TEST(Inbox, ReceiveWaitsForAMessageSentLaterFromAnotherThread) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  Latch waiting(1);
  std::thread sender([&] {
    waiting.wait(kLong);
    otp::send(inbox.pid(), Note{9});
  });
  waiting.count_down();
  auto n = inbox.receive_as<Note>(kLong);
  sender.join();
  ASSERT_TRUE(n);
  EXPECT_EQ(n->n, 9);
}

TEST(Inbox, ReceiveIfWaitsForAMatchingMessageThatArrivesAfterOthers) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  otp::send(inbox.pid(), Ping{});
  otp::gen_server::cast(node, pid, SendTo{inbox.pid(), Note{4}});
  auto n = inbox.receive_as<Note>(kLong);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->n, 4);
  EXPECT_TRUE(inbox.receive_as<Ping>(0ms));
}

TEST(Inbox, ACallToAnInboxFailsWithBadCall) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto r = otp::gen_server::call<int>(node, inbox.pid(), Ping{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), ErrorCode::bad_call);
}

TEST(Inbox, ACastToAnInboxArrivesAsAMessage) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  otp::gen_server::cast(node, inbox.pid(), Note{2});
  EXPECT_TRUE(inbox.receive_as<Note>(kLong));
}

TEST(Inbox, ReceiveInsideAHandlerThrowsLogicError) {
  class ReceivesInHandler : public otp::GenServer {
   public:
    explicit ReceivesInHandler(otp::Node* node) : node_(node) {}
    otp::Action handle_call(const otp::Message&, const otp::From&) override {
      otp::Inbox inbox(*node_);
      try {
        (void)inbox.receive(10ms);
      } catch (const std::logic_error&) {
        return otp::reply(true);
      }
      return otp::reply(false);
    }

   private:
    otp::Node* node_;
  };
  otp::Node node(config(1));
  auto pid = otp::gen_server::start<ReceivesInHandler>(node, &node).value();
  EXPECT_TRUE(otp::gen_server::call<bool>(node, pid, Ping{}).value());
}

TEST(Inbox, DestroyingAnInboxIsSeenAsANormalExitByMonitorsAndTrappingLinks) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto trapper = start_probe(node, inbox, /*trap=*/true);
  auto plain = start_probe(node, inbox);
  otp::Pid gone;
  otp::Ref ref;
  {
    otp::Inbox temp(node);
    gone = temp.pid();
    ref = inbox.monitor(gone);
    temp.link(trapper);
    temp.link(plain);
  }
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::normal());
  auto signal = handled<otp::ExitSignal>(inbox);
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->from, gone);
  EXPECT_EQ(signal->reason, Reason::normal());
  EXPECT_TRUE(otp::gen_server::call<Pong>(node, plain, Ping{})) << "a normal exit killed a link";
  EXPECT_FALSE(otp::alive(gone));
}

TEST(Inbox, AnInboxLinkedToACrashingServerGetsAnExitSignalAndSurvives) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  inbox.link(pid);
  otp::gen_server::cast(node, pid, Throw{});
  auto signal = receive_exit_from(inbox, pid);
  ASSERT_TRUE(signal);
  EXPECT_TRUE(contains(signal->reason.detail(), "probe crashed")) << signal->reason;
  EXPECT_TRUE(otp::alive(inbox.pid()));
}

TEST(Inbox, AnInboxLinkedToADeadPidGetsAnExitSignalNoproc) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  ASSERT_TRUE(otp::gen_server::stop(node, pid));
  inbox.link(pid);
  auto signal = receive_exit_from(inbox, pid, 0ms);
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->reason, Reason::noproc());
  inbox.link(otp::Pid{});
  auto invalid = inbox.receive_as<otp::ExitSignal>(0ms);
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->reason, Reason::noproc());
}

TEST(Inbox, UnlinkStopsExitSignalsToAnInbox) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  inbox.link(pid);
  inbox.unlink(pid);
  auto ref = inbox.monitor(pid);
  otp::gen_server::cast(node, pid, Throw{});
  ASSERT_TRUE(receive_down(inbox, ref));
  ASSERT_TRUE(settle(node, 1));
  EXPECT_FALSE(inbox.receive_as<otp::ExitSignal>(0ms));
}

TEST(Inbox, AServerLinkedFromAnInboxDiesWhenTheInboxIsKilled) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  auto ref = inbox.monitor(pid);
  otp::Pid victim;
  {
    otp::Inbox temp(node);
    victim = temp.pid();
    temp.link(pid);
    otp::exit(victim, Reason::kill());
    EXPECT_FALSE(otp::alive(victim));
  }
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->reason, Reason::killed());
}

TEST(Inbox, AnInboxTrapsExitSignalsOtherThanKill) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  otp::exit(inbox.pid(), Reason::error("trapped"));
  auto signal = inbox.receive_as<otp::ExitSignal>(kLong);
  ASSERT_TRUE(signal);
  EXPECT_EQ(signal->reason, Reason::error("trapped"));
  EXPECT_TRUE(otp::alive(inbox.pid()));
}

TEST(Inbox, MonitorFromAnInboxSeesAServerStop) {
  otp::Node node(config(1));
  otp::Inbox inbox(node);
  auto pid = start_probe(node, inbox);
  auto ref = inbox.monitor(pid);
  ASSERT_TRUE(otp::gen_server::stop(node, pid, Reason::shutdown()));
  auto down = receive_down(inbox, ref);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->pid, pid);
  EXPECT_EQ(down->reason, Reason::shutdown());
}

TEST(Inbox, AServerCanMonitorAnInbox) {
  otp::Node node(config(2));
  otp::Inbox inbox(node);
  auto watcher = start_probe(node, inbox);
  otp::Ref ref;
  otp::Pid gone;
  {
    otp::Inbox temp(node);
    gone = temp.pid();
    ref = otp::gen_server::call<otp::Ref>(node, watcher, MonitorPid{gone}).value();
  }
  auto down = handled<otp::Down>(inbox);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->ref, ref);
  EXPECT_EQ(down->pid, gone);
  EXPECT_EQ(down->reason, Reason::normal());
}

TEST(Inbox, EachInboxIsAProcessWithItsOwnPid) {
  otp::Node node(config(1));
  size_t before = node.process_count();
  {
    otp::Inbox a(node);
    otp::Inbox b(node);
    EXPECT_NE(a.pid(), b.pid());
    EXPECT_EQ(a.pid().node_serial(), node.serial());
    EXPECT_EQ(node.process_count(), before + 2);
  }
  EXPECT_EQ(node.process_count(), before);
}

}  // namespace
