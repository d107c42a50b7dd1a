// EventLog: formatting one line (text or JSON) and writing it with one fwrite.
#include "otp/cluster/event_log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace otp::cluster {

namespace {

/// UTC with milliseconds: 2026-12-02T11:59:50.123Z.
std::string now_text() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[96];  // what -Wformat-truncation assumes ints can print as
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
          out += esc;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_text_value(std::string& out, std::string_view v) {
  const bool quote = v.empty() || v.find_first_of(" \"\\=\n\t") != std::string_view::npos;
  if (!quote) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view name) {
  if (name == "text") return LogFormat::text;
  if (name == "json") return LogFormat::json;
  return std::nullopt;
}

EventLog::EventLog(LogFormat format, std::string node, std::FILE* out)
    : format_(format), node_(std::move(node)), out_(out) {}

std::string EventLog::line(std::string_view time, std::string_view level, std::string_view event,
                           std::initializer_list<LogField> fields) const {
  std::string out;
  if (format_ == LogFormat::json) {
    auto field = [&out](std::string_view key, std::string_view value, bool first = false) {
      if (!first) out += ',';
      append_json_string(out, key);
      out += ':';
      append_json_string(out, value);
    };
    out += '{';
    field("time", time, true);
    field("level", level);
    field("node", node_);
    field("event", event);
    for (const auto& [k, v] : fields) field(k, v);
    out += '}';
    return out;
  }
  out += time;
  out += ' ';
  out += level;
  out += " node=";
  append_text_value(out, node_);
  out += " event=";
  append_text_value(out, event);
  for (const auto& [k, v] : fields) {
    out += ' ';
    out += k;
    out += '=';
    append_text_value(out, v);
  }
  return out;
}

void EventLog::write(std::string_view level, std::string_view event,
                     std::initializer_list<LogField> fields) const {
  std::string l = line(now_text(), level, event, fields);
  l += '\n';
  // One call per line: stdio locks the stream, so lines of several threads do not interleave.
  std::fwrite(l.data(), 1, l.size(), out_);
  std::fflush(out_);
}

std::function<void(std::string_view, std::string_view)> EventLog::hook() const {
  return [this](std::string_view level, std::string_view text) {
    if (level == "debug") return;
    write(level, "log", {{"msg", text}});
  };
}

}  // namespace otp::cluster
