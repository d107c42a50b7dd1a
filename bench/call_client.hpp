// Shared by the call benchmarks (otp-bench, otp-bench-dist, otp-bench-global): the call client,
// one process doing sequential calls to a target (a pid or any ServerRef) for a while and
// reporting each call's latency, measured as anchor_local.erl / anchor_dist.erl's call_rep
// measure gen_server:call from the benchmark process.
//
// clang-format off
//   auto caller = otp::gen_server::start<otp_bench::Caller>(node).value();
//   otp::gen_server::cast(node, caller, otp_bench::RunCalls{target, 2000ms, inbox.pid()});
//   otp::gen_server::cast(node, caller, otp_bench::RunCalls{echo, 2000ms, inbox.pid(), Ping{}});
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

/// Makes a Caller call `target` with `request` in a loop for `dur`, then send a CallRep to
/// `report`. The default request is a small term, as anchor_dist sends (it crosses nodes).
struct RunCalls {
  otp::ServerRef target;
  std::chrono::milliseconds dur;
  otp::Pid report;
  otp::Message request = nlohmann::json(1);
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
      request_ = r.request;
      rep_ = CallRep{};
      // Room for 2 million calls a second: no reallocation lands in a measured latency.
      rep_.lat_ns.reserve(static_cast<size_t>(r.dur.count()) * 2000);
      start_ = prev_ = Clock::now();
      deadline_ = start_ + r.dur;
      return next();
    });
  }

 private:
  otp::Action next() {
    return await_call(target_, request_, [this](otp::Result<otp::Message> r) {
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
  otp::Message request_;
  otp::Pid report_;
  CallRep rep_;
  Clock::time_point start_, prev_, deadline_;
};

}  // namespace otp_bench
