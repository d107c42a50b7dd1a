// Test helpers around otp::Inbox: wait for one particular Down or exit signal with a deadline,
// plus small timing and string helpers shared by the node tests.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "otp/otp.hpp"
#include "support/eventually.hpp"

namespace otp_test {

/// Anything that should happen happens well within this (sanitizers, loaded CI machines).
inline constexpr std::chrono::milliseconds kLong{5000};

inline std::chrono::milliseconds since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0);
}

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

/// The Down of monitor `ref` (other messages stay queued).
inline std::optional<otp::Down> receive_down(otp::Inbox& inbox, otp::Ref ref,
                                             std::chrono::milliseconds timeout = kLong) {
  auto m = inbox.receive_if(
      [&](const otp::Message& x) {
        const auto* d = x.get_if<otp::Down>();
        return d != nullptr && d->ref == ref;
      },
      timeout);
  if (!m) return std::nullopt;
  return m->get<otp::Down>();
}

/// The exit signal from `from` (other messages stay queued).
inline std::optional<otp::ExitSignal> receive_exit_from(otp::Inbox& inbox, const otp::Pid& from,
                                                        std::chrono::milliseconds timeout = kLong) {
  auto m = inbox.receive_if(
      [&](const otp::Message& x) {
        const auto* e = x.get_if<otp::ExitSignal>();
        return e != nullptr && e->from == from;
      },
      timeout);
  if (!m) return std::nullopt;
  return m->get<otp::ExitSignal>();
}

/// Counts a latch down when the test leaves scope, so that a handler blocked on it is released
/// even when an assertion fails first (node shutdown would otherwise wait for that handler).
class ReleaseOnExit {
 public:
  explicit ReleaseOnExit(Latch& l) : l_(l) {}
  ~ReleaseOnExit() { l_.count_down(); }
  ReleaseOnExit(const ReleaseOnExit&) = delete;
  ReleaseOnExit& operator=(const ReleaseOnExit&) = delete;

 private:
  Latch& l_;
};

}  // namespace otp_test
