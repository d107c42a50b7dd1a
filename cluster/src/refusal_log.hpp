// Which of a peer's repeated handshake failures deserve a log line (private to otp_cluster). A
// wrong cookie, another cluster's name or a peer that is down does not fix itself between two
// tries, so a line per try would fill the log (a dialer retries every few seconds, forever):
//
//   RefusalStreak  one peer's streak of failures: its first failure is logged, then the next only
//                  when the reason changes, or once per repeat interval as a "still failing" line
//                  with the count. Pure (the time comes in), so the policy is tested alone. A
//                  Dialer keeps one for its address.
//   RefusalLog     the accepting side's streaks, one per remote host (a dialing peer comes from a
//                  new port each try), thread-safe and bounded.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace otp::cluster::detail {

/// Why a link this node dialed did not get through its handshake (or its connection): `key`
/// groups the tries of a streak (RefusalStreak's reason: "rejected by peer: bad_mac", "Connection
/// refused"), `text` is what the log line says. An empty key: nothing failed.
struct HandshakeFailure {
  std::string key;
  std::string text;
};

/// How often a streak that keeps failing for one reason is logged again (with its count).
inline constexpr std::chrono::seconds kRefusalRepeatInterval{60};

class RefusalStreak {
 public:
  using Clock = std::chrono::steady_clock;

  /// What to do with one failure.
  struct Verdict {
    bool log = false;       // log this failure
    bool repeated = false;  // as a "still failing" line: the reason is the one logged last
    uint64_t count = 0;     // failures in a row for this reason, this one included
  };

  explicit RefusalStreak(Clock::duration repeat_every = kRefusalRepeatInterval)
      : repeat_every_(repeat_every) {}

  /// One more failure, for reason (a short stable key, e.g. "bad_mac"), at now.
  Verdict failed(std::string_view reason, Clock::time_point now);
  /// The handshake succeeded: the streak ends. Returns how many failures it had (0: none).
  uint64_t reset();

 private:
  Clock::duration repeat_every_;
  std::string reason_;  // of the current streak; empty: none
  uint64_t count_ = 0;  // failures for reason_ in a row
  uint64_t total_ = 0;  // failures since the last reset, whatever the reason
  Clock::time_point logged_at_{};
};

class RefusalLog {
 public:
  /// Hosts tracked at once; beyond, the table starts afresh (a host then logs its next refusal
  /// again): bounded memory whoever connects.
  static constexpr size_t kMaxHosts = 256;

  explicit RefusalLog(RefusalStreak::Clock::duration repeat_every = kRefusalRepeatInterval)
      : repeat_every_(repeat_every) {}

  /// One refused handshake from host for reason, at now.
  RefusalStreak::Verdict refused(const std::string& host, std::string_view reason,
                                 RefusalStreak::Clock::time_point now);

 private:
  RefusalStreak::Clock::duration repeat_every_;
  std::mutex mx_;
  std::unordered_map<std::string, RefusalStreak> hosts_;
};

/// The text a log line about a repeated failure ends with: "" for the first of its reason;
/// " (still failing: N times in a row)" for a repeat.
std::string repeat_suffix(const RefusalStreak::Verdict& verdict);

}  // namespace otp::cluster::detail
