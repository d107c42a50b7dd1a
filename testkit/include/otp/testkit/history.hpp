// otp::testkit::History: a thread-safe record of what a test's clients did to the service under
// test, Jepsen style: each operation is invoked, then completes ok (acknowledged, with the value
// the service returned), fail (it certainly did not happen) or unknown (it may or may not have:
// a timeout, a nodedown in flight). Times are steady_clock. Checked afterwards against the
// service's final state (check.hpp).
//
// clang-format off
//   otp::testkit::History history;
//   auto id = history.invoke("add", token, "client-2");      // before the call
//   auto r = otp::gen_server::call<int>(node, otp::global_name("set"), Add{token}, 2s);
//   if (r) history.ok(id, *r);
//   else if (r.error().code() == otp::ErrorCode::noproc) history.fail(id, r.error().to_string());
//   else history.unknown(id, r.error().to_string());        // timeout, nodedown: maybe applied
//   ...
//   EXPECT_TRUE(otp::testkit::check_acknowledged(history, in_final_state)) ;
// clang-format on
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace otp::testkit {

/// How an operation ended, as far as its client knows.
enum class Outcome : uint8_t {
  pending,  // invoked, not completed (yet)
  ok,       // acknowledged: it happened
  fail,     // refused: it did not happen
  unknown,  // indeterminate: it may have happened
};

/// "pending", "ok", "fail", "unknown".
const char* to_string(Outcome outcome);

/// One client operation of a History.
struct Operation {
  uint64_t id = 0;     // 1, 2, ... in invoke order
  std::string client;  // who invoked it ("" when not given)
  std::string op;      // what: "add", "get", ...
  nlohmann::json arg;  // its argument (null when none)
  Outcome outcome = Outcome::pending;
  nlohmann::json value;  // ok: what the service answered (null when nothing)
  std::string error;     // fail / unknown: why
  std::chrono::steady_clock::time_point invoked{};
  std::chrono::steady_clock::time_point completed{};  // when ok / fail / unknown came

  /// "#3 client-2 add 17 -> ok 4" (for failure messages).
  std::string to_string() const;
};

/// The record (see above). Every method is thread-safe.
class History {
 public:
  using Id = uint64_t;

  /// Records an operation about to be tried; its id for ok / fail / unknown.
  Id invoke(std::string op, nlohmann::json arg = nullptr, std::string client = {});
  /// It was acknowledged, with value.
  void ok(Id id, nlohmann::json value = nullptr);
  /// It certainly did not happen.
  void fail(Id id, std::string why = {});
  /// It may or may not have happened.
  void unknown(Id id, std::string why = {});

  /// Every operation in invoke order (a copy).
  std::vector<Operation> operations() const;
  /// Operations recorded.
  size_t size() const;
  /// How many ended with outcome.
  size_t count(Outcome outcome) const;
  /// One line per operation.
  std::string to_string() const;

 private:
  void complete(Id id, Outcome outcome, nlohmann::json value, std::string error);

  mutable std::mutex mx_;
  std::vector<Operation> operations_;
};

}  // namespace otp::testkit
