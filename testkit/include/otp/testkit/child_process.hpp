// A program started by a test as a real OS process, in a session (and process group) of its own,
// with its stdout read line by line against deadlines, its stderr kept in a file and, when asked
// for, its stdin a stream the test writes lines to. The destructor kills the whole group with
// SIGKILL and reaps it, so nothing a test starts outlives it (also when the test fails or throws).
//
// clang-format off
//   otp::testkit::ChildProcess b({OTP_NODE_BIN, "--name", "b", "--cookie", "c", "--max-seconds", "120"});
//   auto ready = b.wait_line("ready ", 10s);   // the first stdout line starting with "ready "
//   b.signal(SIGSTOP);  ...  b.signal(SIGCONT);
//   EXPECT_NE(b.stderr_text().find("bad_mac"), std::string::npos);
//   ASSERT_TRUE(otp::testkit::wait_for_line(b, "member joined a@", deadline)) << otp::testkit::all_lines(b);
// clang-format on
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace otp::testkit {

/// Starts argv[0] as the leader of a session of its own (so its whole group can be killed), with
/// stdout into a new pipe whose read end goes to *out, and stderr into stderr_path (truncated) or,
/// with an empty path, into the same pipe. stdin is /dev/null, or (with `in` given) one end of a
/// new socket pair whose other end goes to *in. Throws std::runtime_error on failure.
pid_t spawn_in_session(std::vector<std::string>& argv, const std::string& stderr_path, int* out,
                       int* in = nullptr);

/// SIGKILL to the session spawn_in_session started (the program and anything it started), then
/// reaps the program; sets pid to -1. Does nothing for a pid <= 0, so it may be called twice.
void kill_session(pid_t& pid);

/// How a ChildProcess is started.
struct ChildOptions {
  /// stdin a stream the test writes to (write_line); otherwise /dev/null.
  bool writable_stdin = false;
};

class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> argv, ChildOptions options = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::vector<std::string>& argv() const { return argv_; }

  /// Sends sig to the process itself (not its group).
  void signal(int sig);

  /// SIGKILL to the whole group, then reaps the process. Idempotent.
  void kill_now();

  /// Writes line and a newline to the process's stdin (ChildOptions::writable_stdin); false when
  /// stdin is not writable or the process closed it.
  bool write_line(const std::string& line);
  /// Closes the process's writable stdin: it reads the end of its input.
  void close_stdin();

  /// The next stdout line that starts with prefix (earlier lines are kept in lines()), or
  /// nullopt when the deadline passes or the process closes its stdout first.
  std::optional<std::string> wait_line(const std::string& prefix,
                                       std::chrono::milliseconds timeout);

  /// Reads what stdout has for at most `timeout` (lines() grows); false once stdout is closed.
  bool read_some(std::chrono::milliseconds timeout);

  const std::vector<std::string>& lines() const { return lines_; }

  std::string stderr_text() const;

 private:
  std::vector<std::string> argv_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  int out_ = -1;
  int in_ = -1;
  std::string partial_;
  std::vector<std::string> lines_;
  size_t scanned_ = 0;
};

// -- reading a child's stdout lines ---------------------------------------------------------------

/// Whether p printed a line starting with prefix, at index `from` or later (lines read so far).
bool has_line(const ChildProcess& p, const std::string& prefix, size_t from = 0);

/// Reads p's stdout until a line starting with prefix (index >= from) is there, or the
/// deadline passes. Unlike ChildProcess::wait_line this looks at every line read so far, so
/// several waits may find the same line.
bool wait_for_line(ChildProcess& p, const std::string& prefix,
                   std::chrono::steady_clock::time_point deadline, size_t from = 0);

/// The lines p printed (index >= from, of those read so far) that start with prefix.
std::vector<std::string> lines_starting(const ChildProcess& p, const std::string& prefix,
                                        size_t from = 0);

/// Every line p printed so far, indented, one a line: for a failed assertion's message.
std::string all_lines(const ChildProcess& p);

}  // namespace otp::testkit
