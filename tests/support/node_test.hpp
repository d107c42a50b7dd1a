// Test support: what the node tests share before their first test: the NodeOptions a test node
// gets, and a fixture parameterised by the number of scheduler threads (the runtime behaves
// differently with one worker and with several). gtest prints error codes by name ("noproc")
// through otp/error.hpp's operator<<, in every test file.
//
// clang-format off
//   otp::Node node(otp_test::node_options("registry_test", 2));
//
//   class MySuite : public otp_test::NodeTest {};   // GetParam(), threads(): scheduler threads
//   INSTANTIATE_TEST_SUITE_P(Threads, MySuite, otp_test::kThreadCounts, otp_test::threads_name);
//   TEST_P(MySuite, Something) { otp::Node node(otp_test::node_options("my_suite", threads())); }
// clang-format on
#pragma once

#include <cstddef>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "otp/otp.hpp"

namespace otp_test {

/// A node for one test: `threads` scheduler threads, and crashes the test provokes on purpose
/// not logged.
inline otp::NodeOptions node_options(std::string name, size_t threads) {
  otp::NodeOptions c;
  c.name = std::move(name);
  c.scheduler_threads = threads;
  c.log_crashes = false;
  return c;
}

/// A fresh node per test; GetParam() is the number of scheduler threads.
class NodeTest : public ::testing::TestWithParam<size_t> {
 protected:
  size_t threads() const { return GetParam(); }
};

/// The thread counts NodeTest suites run with: one worker, and more than one.
inline const auto kThreadCounts = ::testing::Values(size_t{1}, size_t{2});

/// Test names per thread count: Suite/Something/threads1, .../threads2.
inline std::string threads_name(const ::testing::TestParamInfo<size_t>& info) {
  return "threads" + std::to_string(info.param);
}

}  // namespace otp_test
