#include "otp/testkit/check.hpp"

namespace otp::testkit {

namespace {

/// Builds a failing result from the offending lines (at most `kShown` listed).
constexpr size_t kShown = 20;

void add_line(CheckResult& r, size_t& bad, const std::string& line) {
  r.ok = false;
  if (++bad <= kShown) r.why += line + "\n";
}

void finish(CheckResult& r, size_t bad, const std::string& what) {
  if (r.ok) return;
  if (bad > kShown) r.why += "... and " + std::to_string(bad - kShown) + " more\n";
  r.why = std::to_string(bad) + " " + what + ":\n" + r.why;
}

}  // namespace

CheckResult check_acknowledged(const History& history, const AppliedCount& applied,
                               std::string_view op) {
  CheckResult r;
  size_t bad = 0;
  for (const Operation& o : history.operations()) {
    if (!op.empty() && o.op != op) continue;
    if (o.outcome == Outcome::ok && applied(o) == 0) {
      add_line(r, bad, "  " + o.to_string() + ": acknowledged, not in the final state");
    }
  }
  finish(r, bad, "acknowledged operation(s) lost");
  return r;
}

CheckResult check_no_duplicates(const History& history, const AppliedCount& applied,
                                std::string_view op) {
  CheckResult r;
  size_t bad = 0;
  for (const Operation& o : history.operations()) {
    if (!op.empty() && o.op != op) continue;
    const size_t n = applied(o);
    if (n > 1) {
      add_line(r, bad, "  " + o.to_string() + ": applied " + std::to_string(n) + " times");
    } else if (n == 1 && o.outcome == Outcome::fail) {
      add_line(r, bad, "  " + o.to_string() + ": failed, yet applied");
    }
  }
  finish(r, bad, "operation(s) applied more than promised");
  return r;
}

}  // namespace otp::testkit
