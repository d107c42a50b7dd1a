// Private: the node's timer thread (send_after, idle timeouts, call deadlines). One thread and an
// ordered queue; cancel removes the entry under the lock, so a cancelled timer never delivers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "envelope.hpp"

namespace otp::detail {

class TimerService {
 public:
  using Clock = std::chrono::steady_clock;
  TimerService();
  ~TimerService();

  Ref schedule(Clock::time_point when, std::shared_ptr<Endpoint> to, Envelope e);
  /// Time left, or nullopt if the timer fired already or never existed.
  std::optional<std::chrono::milliseconds> cancel(Ref ref);
  /// Stops the thread; pending timers are dropped.
  void stop();

 private:
  struct Entry {
    Ref ref;
    std::shared_ptr<Endpoint> to;
    Envelope envelope;
  };
  using Queue = std::multimap<Clock::time_point, Entry>;
  void run();

  std::mutex mx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  Queue queue_;
  std::unordered_map<uint64_t, Queue::iterator> by_ref_;
  std::thread thread_;
};

}  // namespace otp::detail
