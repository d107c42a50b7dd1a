// otp::cluster::EventLog: one line per event, as text or as JSON, with the fields an operator
// filters on (node, peer, reason, ...). otp-node writes its events and the transport's and
// membership's warnings through one (--log-format text|json, to stderr); a program of its own
// can do the same.
//
// clang-format off
//   otp::cluster::EventLog log(otp::cluster::LogFormat::json, "a@10.0.0.2");
//   config.transport.log = log.hook();      // the transport's and membership's lines
//   log.write("info", "nodedown", {{"peer", "b@10.0.0.3"}, {"reason", "heartbeat timeout"}});
//   // {"time":"2026-12-02T11:59:50.123Z","level":"info","node":"a@10.0.0.2","event":"nodedown",
//   //  "peer":"b@10.0.0.3","reason":"heartbeat timeout"}
//   // text: 2026-12-02T11:59:50.123Z info node=a@10.0.0.2 event=nodedown peer=b@10.0.0.3
//   //       reason="heartbeat timeout"
// clang-format on
//
// A line is written whole with one call (lines from several threads do not interleave). In
// text, a value with a space, a quote, a backslash or '=' is quoted with backslash escapes.
#pragma once

#include <cstdio>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace otp::cluster {

/// How an EventLog writes its lines.
enum class LogFormat { text, json };

/// "text" / "json"; nullopt for anything else.
std::optional<LogFormat> parse_log_format(std::string_view name);

/// One key and its value in a log line.
using LogField = std::pair<std::string_view, std::string_view>;

class EventLog {
 public:
  /// Lines go to `out` (stderr by default), each naming `node`.
  EventLog(LogFormat format, std::string node, std::FILE* out = stderr);

  /// Writes one line: time, level ("info", "warning", "error"), node, event, then fields.
  void write(std::string_view level, std::string_view event,
             std::initializer_list<LogField> fields = {}) const;
  /// The line write() would write (without its newline), at the given time text.
  std::string line(std::string_view time, std::string_view level, std::string_view event,
                   std::initializer_list<LogField> fields) const;

  /// A log hook for TransportOptions::log and MembershipDriverOptions::log: each line becomes
  /// event "log" with its text as field msg; "debug" lines are dropped. The EventLog must
  /// outlive the hook's users.
  std::function<void(std::string_view level, std::string_view text)> hook() const;

 private:
  LogFormat format_;
  std::string node_;
  std::FILE* out_;
};

}  // namespace otp::cluster
