#include "otp/testkit/await.hpp"

namespace otp::testkit {

void Signal::notify() {
  {
    std::lock_guard<std::mutex> lock(mx_);
    ++generation_;
  }
  cv_.notify_all();
}

bool Signal::wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    uint64_t seen = 0;
    {
      std::lock_guard<std::mutex> lock(mx_);
      seen = generation_;
    }
    // Read before checking: a change during the check bumps the generation, so no wake-up is
    // lost between the check and the wait.
    if (condition()) return true;
    std::unique_lock<std::mutex> lock(mx_);
    if (!cv_.wait_until(lock, deadline, [&] { return generation_ != seen; })) {
      lock.unlock();
      return condition();  // one last look at the deadline
    }
  }
}

void Signal::await(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                   const std::string& what, const std::function<std::string()>& seen) {
  if (wait_for(condition, timeout)) return;
  throw AwaitError("await " + what + " timed out after " + std::to_string(timeout.count()) +
                   " ms: " + (seen ? seen() : std::string("(nothing to show)")));
}

}  // namespace otp::testkit
