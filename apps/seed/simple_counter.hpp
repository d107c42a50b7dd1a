// SimpleCounter: the seed's "Agent for Simple State". An otp::agent registered as
// "simple_counter" holding an int: no callbacks to write, the client functions say what to do
// with the value and run inside the agent, one at a time. They go through an otp::Agent<int>
// handle, so a function for another type than int does not compile.
//
//   seed::SimpleCounter::start_link(node, 0);
//   seed::SimpleCounter::increment(node);
//   seed::SimpleCounter::value(node);  // => 1
#pragma once

#include "otp/otp.hpp"

namespace seed {

struct SimpleCounter {
  static constexpr const char* kName = "simple_counter";

  /// The agent by its name, as an Agent<int>: the functions below are checked against int.
  static otp::Agent<int> agent(otp::Node& node) { return {node, kName}; }

  static otp::Result<otp::Pid> start_link(otp::Node& node, int initial_value = 0) {
    auto counter = otp::agent::start_link(
        node, [initial_value] { return initial_value; }, otp::name(kName));
    if (!counter) return counter.error();
    return counter->pid();
  }
  /// {SimpleCounter, initial_value} in a supervisor's children.
  static otp::ChildSpec child_spec(int initial_value = 0) {
    return otp::agent::spec("simple_counter", [initial_value] { return initial_value; })
        .named(kName);
  }

  // Each throws otp::CallFailed when no SimpleCounter runs (the caller exits, as in Elixir).
  static void increment(otp::Node& node) {
    agent(node).update([](int n) { return n + 1; }).value();
  }
  static void decrement(otp::Node& node) {
    agent(node).update([](int n) { return n - 1; }).value();
  }
  static int value(otp::Node& node) { return agent(node).get().value(); }
  static void reset(otp::Node& node) {
    agent(node).update([](int) { return 0; }).value();
  }
};

}  // namespace seed
