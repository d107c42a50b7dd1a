// otp::testkit checks of a History against the service's final state, for the common promises:
// every acknowledged operation is reflected in the final state (no lost writes), and nothing
// was applied twice (no duplicates, where the service promises exactly-once). Each returns a
// CheckResult whose `why` lists the operations that break the promise, for the test's message.
//
// clang-format off
//   std::vector<int> final = otp::gen_server::call<std::vector<int>>(...);   // the set's items
//   auto in_final = [&](const otp::testkit::Operation& o) {
//     return std::count(final.begin(), final.end(), o.arg.get<int>());      // times applied
//   };
//   auto lost = otp::testkit::check_acknowledged(history, in_final, "add");
//   EXPECT_TRUE(lost.ok) << lost.why;
//   auto twice = otp::testkit::check_no_duplicates(history, in_final, "add");
//   EXPECT_TRUE(twice.ok) << twice.why;
// clang-format on
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "otp/testkit/history.hpp"

namespace otp::testkit {

/// A check's verdict: ok, or why not (the offending operations, one per line).
struct CheckResult {
  bool ok = true;
  std::string why;
  explicit operator bool() const { return ok; }
};

/// How many times the final state shows the effect of an operation (0: not at all).
using AppliedCount = std::function<size_t(const Operation&)>;

/// Every acknowledged (ok) operation named `op` (every operation when op is empty) shows in the
/// final state at least once.
CheckResult check_acknowledged(const History& history, const AppliedCount& applied,
                               std::string_view op = {});

/// No operation named `op` (every operation when empty) shows in the final state more than
/// once, and none that failed (certainly not applied) shows at all. Pending and unknown
/// operations may show once.
CheckResult check_no_duplicates(const History& history, const AppliedCount& applied,
                                std::string_view op = {});

}  // namespace otp::testkit
