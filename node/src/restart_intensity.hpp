// Private: the supervisor's restart-intensity bookkeeping, a pure function of the restart times
// (no clock inside), so it is tested on its own. OTP's rule: a supervisor may restart at most
// max_restarts times within any window of max_time; one more restart than that and it gives up.
#pragma once

#include <chrono>
#include <deque>

namespace otp::detail {

class RestartIntensity {
 public:
  using Clock = std::chrono::steady_clock;
  RestartIntensity(int max_restarts, std::chrono::milliseconds max_time)
      : max_restarts_(max_restarts), max_time_(max_time) {}

  /// Records a restart at `now`. Returns false when it exceeds the intensity (the supervisor must
  /// then shut down instead of restarting).
  bool add_restart(Clock::time_point now) {
    restarts_.push_back(now);
    while (!restarts_.empty() && now - restarts_.front() > max_time_) restarts_.pop_front();
    return static_cast<int>(restarts_.size()) <= max_restarts_;
  }

  size_t recent() const { return restarts_.size(); }

 private:
  int max_restarts_;
  std::chrono::milliseconds max_time_;
  std::deque<Clock::time_point> restarts_;
};

}  // namespace otp::detail
