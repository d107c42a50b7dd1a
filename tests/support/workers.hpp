// Test servers for supervision tests: a Worker that records its starts and stops in a shared
// event log and crashes, stops or hangs on request.
#pragma once

#include <algorithm>
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

inline otp::ChildSpec worker_spec(const std::string& id, std::shared_ptr<EventLog> log,
                                  bool trap = true) {
  return otp::worker<Worker>(id, id, std::move(log), trap, false);
}

}  // namespace otp_test
