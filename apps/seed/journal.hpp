// seed::Journal: a Puts that records the lines the services print (and forwards them, if asked),
// so the demo and tests can wait for "Running task 1" with a deadline instead of sleeping.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "seed/puts.hpp"

namespace seed {

class Journal {
 public:
  explicit Journal(Puts forward = nullptr) : state_(std::make_shared<State>()) {
    state_->forward = std::move(forward);
  }

  /// The Puts to hand to services. It keeps the journal's state alive, so a process that
  /// outlives the Journal object can still print.
  Puts puts() const {
    return [s = state_](const std::string& line) {
      if (s->forward) s->forward(line);  // first, so it is out before a waiter hears of it
      {
        std::lock_guard<std::mutex> g(s->mx);
        s->lines.push_back(line);
      }
      s->cv.notify_all();
    };
  }

  /// How many times `line` was printed.
  size_t count(const std::string& line) const {
    std::lock_guard<std::mutex> g(state_->mx);
    return count_locked(line);
  }

  /// Waits until `line` was printed at least `times` times; false when the deadline passes.
  bool wait_for(const std::string& line, size_t times = 1,
                std::chrono::milliseconds deadline = std::chrono::seconds(10)) const {
    std::unique_lock<std::mutex> lk(state_->mx);
    return state_->cv.wait_for(lk, deadline, [&] { return count_locked(line) >= times; });
  }

  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> g(state_->mx);
    return state_->lines;
  }

 private:
  struct State {
    std::mutex mx;
    std::condition_variable cv;
    std::vector<std::string> lines;
    Puts forward;
  };
  size_t count_locked(const std::string& line) const {
    return static_cast<size_t>(std::count(state_->lines.begin(), state_->lines.end(), line));
  }
  std::shared_ptr<State> state_;
};

}  // namespace seed
