// Private: the node's pool of threads for work that may block (task functions). It grows a thread
// whenever no idle one is free, so tasks never wait for each other, and an idle thread exits
// after a while. Threads share the pool's state, so one still running user code at shutdown can
// be left behind safely.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace otp::detail {

class BlockingPool {
 public:
  BlockingPool();
  ~BlockingPool();
  void submit(std::function<void()> job);
  /// Stops accepting work and waits up to `limit` for running jobs; returns how many threads
  /// were still busy (left to finish on their own).
  size_t shutdown(std::chrono::milliseconds limit);

 private:
  struct Shared {
    std::mutex mx;
    std::condition_variable work;
    std::condition_variable done;
    std::deque<std::function<void()>> jobs;
    size_t threads = 0;
    size_t idle = 0;
    bool stopping = false;
  };
  static void run(std::shared_ptr<Shared> s);
  std::shared_ptr<Shared> shared_;
};

}  // namespace otp::detail
