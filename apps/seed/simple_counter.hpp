// SimpleCounter: the seed's "Agent for Simple State". An otp::agent registered as
// "simple_counter" holding an int: no callbacks to write, the client functions say what to do
// with the value and run inside the agent, one at a time.
//
//   seed::SimpleCounter::start_link(node, 0);
//   seed::SimpleCounter::increment(node);
//   seed::SimpleCounter::value(node);  // => 1
#pragma once

#include "otp/otp.hpp"

namespace seed {

struct SimpleCounter {
  static constexpr const char* kName = "simple_counter";

  static otp::Result<otp::Pid> start_link(otp::Node& node, int initial_value = 0) {
    return otp::agent::start_link<int>(
        node, [initial_value] { return initial_value; }, otp::name(kName));
  }
  /// {SimpleCounter, initial_value} in a supervisor's children.
  static otp::ChildSpec child_spec(int initial_value = 0) {
    return otp::agent::spec<int>("simple_counter", [initial_value] { return initial_value; })
        .named(kName);
  }

  // Each throws otp::CallFailed when no SimpleCounter runs (the caller exits, as in Elixir).
  static void increment(otp::Node& node) {
    otp::agent::update<int>(node, kName, [](int n) { return n + 1; }).value();
  }
  static void decrement(otp::Node& node) {
    otp::agent::update<int>(node, kName, [](int n) { return n - 1; }).value();
  }
  static int value(otp::Node& node) {
    return otp::agent::get<int>(node, kName, [](const int& n) { return n; }).value();
  }
  static void reset(otp::Node& node) {
    otp::agent::update<int>(node, kName, [](int) { return 0; }).value();
  }
};

}  // namespace seed
