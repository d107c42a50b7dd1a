// Counter: the seed's "GenServer Basics". A GenServer registered as "counter" that holds an
// integer: increment is a cast, get_value a call.
//
//   seed::Counter::start_link(node, 0);
//   seed::Counter::increment(node);
//   seed::Counter::get_value(node);  // => 1
#pragma once

#include "otp/otp.hpp"

namespace seed {

class Counter : public otp::GenServer {
 public:
  static constexpr const char* kName = "counter";
  struct Increment {};
  struct GetValue {};

  // -- client API --
  static otp::Result<otp::Pid> start_link(otp::Node& node, int initial_value = 0) {
    return otp::gen_server::start_link<Counter>(node, otp::name(kName), initial_value);
  }
  /// {Counter, initial_value} in a supervisor's children.
  static otp::ChildSpec child_spec(int initial_value = 0) {
    return otp::worker<Counter>("counter", initial_value).named(kName);
  }
  static void increment(otp::Node& node) { otp::gen_server::cast(node, kName, Increment{}); }
  /// Throws otp::CallFailed when no Counter runs (the caller exits, as in Elixir).
  static int get_value(otp::Node& node) {
    return otp::gen_server::call<int>(node, kName, GetValue{}).value();
  }

  // -- server callbacks --
  explicit Counter(int initial_value) : value_(initial_value) {}  // init: {:ok, initial_value}

  otp::Action handle_call(const otp::Message& request, const otp::From&) override {
    return request.match([&](const GetValue&) { return otp::reply(value_); });
  }
  otp::Action handle_cast(const otp::Message& request) override {
    return request.match([&](const Increment&) {
      ++value_;
      return otp::noreply();
    });
  }

 private:
  int value_;
};

}  // namespace seed
