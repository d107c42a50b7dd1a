// Shared by the distribution benchmarks: the call client, one process doing sequential calls to
// a target (a pid or any ServerRef) for a while and reporting each call's latency, measured as
// anchor_dist.erl's call_rep measures gen_server:call from the benchmark process.
//
// clang-format off
//   auto caller = otp::gen_server::start<otp_bench::Caller>(node).value();
//   otp::gen_server::cast(node, caller, otp_bench::RunCalls{target, 2000ms, inbox.pid()});
//   auto rep = inbox.receive_as<otp_bench::CallRep>(60s);  // calls, seconds, per-call ns
// clang-format on
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_support.hpp"
#include "otp/gen_server.hpp"

namespace otp_bench {

/// Makes a Caller call `target` in a loop for `dur`, then send a CallRep to `report`.
struct RunCalls {
  otp::ServerRef target;
  std::chrono::milliseconds dur;
  otp::Pid report;
};
/// What a run of calls measured; `error` set if a call failed (the run stops there).
struct CallRep {
  uint64_t calls = 0;
  double seconds = 0;
  std::vector<uint32_t> lat_ns;
  std::string error;
};

/// The call client: one process doing sequential calls with await_call (the next call is made
/// from the previous reply's continuation), a 5 s timeout armed on each, as the Erlang client's
/// gen_server:call is.
class Caller : public otp::GenServer {
 public:
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const RunCalls& r) {
      target_ = r.target;
      report_ = r.report;
      rep_ = CallRep{};
      start_ = prev_ = Clock::now();
      deadline_ = start_ + r.dur;
      return next();
    });
  }

 private:
  otp::Action next() {
    return await_call(target_, ping_, [this](otp::Result<otp::Message> r) {
      auto now = Clock::now();
      if (!r) {
        rep_.error = r.error().to_string();
        return finish(now);
      }
      ++rep_.calls;
      rep_.lat_ns.push_back(ns_since(prev_, now));
      prev_ = now;
      return now >= deadline_ ? finish(now) : next();
    });
  }
  otp::Action finish(Clock::time_point now) {
    rep_.seconds = seconds_between(start_, now);
    otp::send(report_, std::move(rep_));
    return otp::noreply();
  }

  otp::ServerRef target_{otp::Pid()};
  const otp::Message ping_ = nlohmann::json(1);  // a small term, as anchor_dist sends
  otp::Pid report_;
  CallRep rep_;
  Clock::time_point start_, prev_, deadline_;
};

}  // namespace otp_bench
