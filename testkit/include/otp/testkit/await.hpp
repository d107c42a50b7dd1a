// otp::testkit awaits: wait until a condition holds, with a deadline, re-checking it each time
// something that could change it happened (a Signal is notified), never in a sleep loop. On
// timeout an AwaitError says what was waited for and what was seen. LocalCluster's awaits
// (await_members, await_global_name, await_nodedown) are built on this; use it for conditions
// of your own the same way.
//
// clang-format off
//   otp::testkit::Signal changed;                       // notify() wherever the state changes
//   cluster.cluster(0).subscribe([&](const otp::membership::Event&) { changed.notify(); });
//   changed.await([&] { return my_state_is_ready(); }, 30s,
//                 "the service ready", [&] { return describe_my_state(); });   // or throws
// clang-format on
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>

namespace otp::testkit {

/// How long the kit's awaits wait by default: generous, for sanitizers and a loaded machine.
/// Tests assert behaviour, never how fast it came.
inline constexpr std::chrono::milliseconds kAwaitTimeout{60000};

/// An await that timed out: what() says what was awaited and what was seen at the deadline,
/// e.g. "await 3 alive members timed out after 60000 ms: n2 sees 2 alive, wanted 3: n1 alive,
/// n3 failed".
class AwaitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// "Something changed": whoever changes state a test waits on calls notify(); await() checks its
/// condition again after each one. Thread-safe; notify() never blocks for long (callable from
/// membership threads and from processes).
class Signal {
 public:
  /// Wakes every await to check its condition again.
  void notify();
  /// Waits until condition() holds: checked at once and after every notify(), never later than
  /// timeout. condition runs on the caller's thread, without the Signal's lock. On timeout throws
  /// AwaitError("await <what> timed out after <timeout>: <seen()>").
  void await(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             const std::string& what, const std::function<std::string()>& seen);
  /// The same, returning whether it held in time instead of throwing.
  bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

 private:
  std::mutex mx_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
};

}  // namespace otp::testkit
