// Test servers for supervision tests: a Worker that records its starts and stops in a shared
// event log and crashes, stops or hangs on request; a Gate that holds a supervisor busy.
#pragma once

#include <algorithm>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "otp/otp.hpp"
#include "support/eventually.hpp"

namespace otp_test {

class EventLog {
 public:
  void add(std::string e) {
    std::lock_guard<std::mutex> g(mx_);
    events_.push_back(std::move(e));
  }
  std::vector<std::string> snapshot() const {
    std::lock_guard<std::mutex> g(mx_);
    return events_;
  }
  size_t count(const std::string& e) const {
    std::lock_guard<std::mutex> g(mx_);
    return static_cast<size_t>(std::count(events_.begin(), events_.end(), e));
  }
  void clear() {
    std::lock_guard<std::mutex> g(mx_);
    events_.clear();
  }

 private:
  mutable std::mutex mx_;
  std::vector<std::string> events_;
};

struct Crash {};
struct StopNormal {};
struct StopWith {  // cast: the worker stops with this reason
  otp::Reason reason;
};
struct Hang {};  // await a reply that never comes, so stop requests wait behind it
struct Ping {};

/// Never answers calls; counts down `arrived` (if given) when one arrives.
class BlackHole : public otp::GenServer {
 public:
  explicit BlackHole(std::shared_ptr<Latch> arrived = nullptr) : arrived_(std::move(arrived)) {}
  otp::Action handle_call(const otp::Message&, const otp::From&) override {
    if (arrived_) arrived_->count_down();
    return otp::noreply();
  }

 private:
  std::shared_ptr<Latch> arrived_;
};

class Worker : public otp::GenServer {
 public:
  Worker(std::string id, std::shared_ptr<EventLog> log, bool trap = true, bool fail_init = false)
      : id_(std::move(id)), log_(std::move(log)), trap_(trap), fail_init_(fail_init) {}

  otp::Action init() override {
    if (fail_init_) return otp::stop(otp::Reason::error("init of " + id_ + " failed"));
    if (trap_) trap_exit(true);
    log_->add("start:" + id_);
    return otp::ok();
  }
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Ping&) { return otp::reply(std::string("pong:") + id_); });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const Crash&) -> otp::Action { throw std::runtime_error("crash " + id_); },
                   [&](const StopNormal&) { return otp::stop(otp::Reason::normal()); },
                   [&](const StopWith& s) { return otp::stop(s.reason); },
                   [&](const Hang&) {
                     return await_call(
                         "black_hole", Ping{},
                         [](otp::Result<otp::Message>) { return otp::noreply(); },
                         std::chrono::seconds(60));
                   });
  }
  void terminate(const otp::Reason& reason) override {
    log_->add("stop:" + id_ +
              (reason.kind() == otp::Reason::Kind::shutdown ? "" : ":" + reason.to_string()));
  }

 private:
  std::string id_;
  std::shared_ptr<EventLog> log_;
  bool trap_;
  bool fail_init_;
};

/// Holds every call made to a GateServer until the test opens it. A child whose init awaits the
/// gate (AwaitsGate) keeps its supervisor awaiting that start, and whatever else reaches the
/// supervisor meanwhile (a child's exit) waits in its mailbox: the test decides what the world
/// looks like when the supervisor handles it.
class Gate {
 public:
  /// Counted down when the first call arrives.
  Latch arrived{1};
  /// Replies to every call held, and to those that come later at once.
  void open() {
    std::vector<otp::From> held;
    {
      std::lock_guard<std::mutex> g(mx_);
      open_ = true;
      held.swap(held_);
    }
    for (auto& from : held) otp::gen_server::reply(from, otp::Message());
  }
  /// A call arrived: true when it is held (the gate is closed).
  bool hold(const otp::From& from) {
    std::lock_guard<std::mutex> g(mx_);
    if (open_) return false;
    held_.push_back(from);
    return true;
  }

 private:
  std::mutex mx_;
  bool open_ = false;
  std::vector<otp::From> held_;
};

class GateServer : public otp::GenServer {
 public:
  explicit GateServer(std::shared_ptr<Gate> gate) : gate_(std::move(gate)) {}
  otp::Action handle_call(const otp::Message&, const otp::From& from) override {
    bool held = gate_->hold(from);
    gate_->arrived.count_down();
    return held ? otp::noreply() : otp::reply(otp::Message());
  }

 private:
  std::shared_ptr<Gate> gate_;
};

/// A server whose init completes only once the gate at `gate` opens.
class AwaitsGate : public otp::GenServer {
 public:
  explicit AwaitsGate(otp::Pid gate) : gate_(std::move(gate)) {}
  otp::Action init() override {
    return await_call(
        gate_, Ping{}, [](otp::Result<otp::Message>) { return otp::ok(); },
        std::chrono::seconds(60));
  }

 private:
  otp::Pid gate_;
};

inline otp::ChildSpec worker_spec(const std::string& id, std::shared_ptr<EventLog> log,
                                  bool trap = true) {
  return otp::worker<Worker>(id, id, std::move(log), trap, false);
}

/// Keeps a supervisor busy (see Gate): from another thread, starts a child whose init awaits a
/// gate, so the supervisor awaits that start and what reaches it meanwhile (a child's exit) waits
/// in its mailbox until finish(). The destructor opens the gate too: a failed assertion never
/// leaves the start waiting.
class BusySupervisor {
 public:
  /// start_child: the supervisor's start_child, given the gated child's spec.
  BusySupervisor(otp::Node& node, std::function<otp::Result<otp::Pid>(otp::ChildSpec)> start_child)
      : gate_pid_(otp::gen_server::start<GateServer>(node, gate_).value()),
        starting_(std::async(std::launch::async, [this, start_child = std::move(start_child)] {
          return start_child(otp::worker<AwaitsGate>("gated", gate_pid_));
        })) {}
  ~BusySupervisor() { gate_->open(); }
  BusySupervisor(const BusySupervisor&) = delete;
  BusySupervisor& operator=(const BusySupervisor&) = delete;

  /// Waits until the supervisor is inside the gated start.
  bool busy() { return gate_->arrived.wait(); }
  /// Opens the gate: the gated start completes; its result.
  otp::Result<otp::Pid> finish() {
    gate_->open();
    return starting_.get();
  }

 private:
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  otp::Pid gate_pid_;
  std::future<otp::Result<otp::Pid>> starting_;  // destroyed first: after the gate opened
};

}  // namespace otp_test
