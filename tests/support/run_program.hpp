// Test support: runs a short-lived program (a command-line tool such as otp-ctl) to its end and
// returns its exit status, stdout and stderr. Bounded: a program still running at the deadline
// is killed (its whole session) and reported with exit status -1.
//
//   auto r = otp_test::run_program({OTP_CTL_BIN, "--node", addr, "ping"}, 20s);
//   EXPECT_EQ(r.status, 0) << r.err;
#pragma once

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "otp/testkit/child_process.hpp"

namespace otp_test {

struct ProgramResult {
  int status = -1;  // the exit status; -1 when killed (deadline) or ended by a signal
  std::string out;
  std::string err;
};

inline ProgramResult run_program(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
  static int counter = 0;
  const std::string err_path = "/tmp/otp-test-run-" + std::to_string(::getpid()) + "-" +
                               std::to_string(counter++) + ".stderr";
  int out = -1;
  pid_t pid = otp::testkit::spawn_in_session(argv, err_path, &out);
  ProgramResult r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{out, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(out, buf, sizeof buf);
    if (n <= 0) break;  // the program closed its stdout: it is ending
    r.out.append(buf, static_cast<size_t>(n));
  }
  ::close(out);
  int status = 0;
  // Past the deadline, or stdout closed: wait for the exit until the deadline, then kill.
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      otp::testkit::kill_session(pid);
      status = -1;
      break;
    }
    ::usleep(1000);
  }
  if (status != -1 && WIFEXITED(status)) r.status = WEXITSTATUS(status);
  std::ifstream f(err_path);
  std::stringstream ss;
  ss << f.rdbuf();
  r.err = ss.str();
  std::remove(err_path.c_str());
  return r;
}

}  // namespace otp_test
