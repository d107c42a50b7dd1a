// Test support: a program started by a test as a real OS process, in a session (and process
// group) of its own, with its stdout read line by line against deadlines and its stderr kept in a
// file. The destructor kills the whole group with SIGKILL and reaps it, so nothing a test starts
// outlives it.
//
// clang-format off
//   otp_test::ChildProcess b({OTP_NODE_BIN, "--name", "b", "--cookie", "c", "--max-seconds", "120"});
//   auto ready = b.wait_line("ready ", 10s);   // the first stdout line starting with "ready "
//   b.signal(SIGSTOP);  ...  b.signal(SIGCONT);
//   EXPECT_NE(b.stderr_text().find("bad_mac"), std::string::npos);
//   ASSERT_TRUE(otp_test::wait_for_line(b, "member joined a@", deadline)) << otp_test::all_lines(b);
// clang-format on
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace otp_test {

/// Starts argv[0] as the leader of a session of its own (so its whole group can be killed), with
/// stdin from /dev/null, stdout into a new pipe whose read end goes to *out, and stderr into
/// stderr_path (truncated) or, with an empty path, into the same pipe. Throws on failure.
inline pid_t spawn_in_session(std::vector<std::string>& argv, const std::string& stderr_path,
                              int* out) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  if (stderr_path.empty()) {
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  } else {
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
  }
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    throw std::runtime_error("posix_spawn " + argv[0] + " failed: error " + std::to_string(rc));
  }
  *out = pipe_fds[0];
  return pid;
}

/// SIGKILL to the session spawn_in_session started (the program and anything it started), then
/// reaps the program; sets pid to -1. Does nothing for a pid <= 0, so it may be called twice.
inline void kill_session(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  pid = -1;
}

class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> argv) : argv_(std::move(argv)) {
    static std::atomic<int> counter{0};
    stderr_path_ = "/tmp/otp-test-" + std::to_string(::getpid()) + "-" +
                   std::to_string(counter.fetch_add(1)) + ".stderr";
    pid_ = spawn_in_session(argv_, stderr_path_, &out_);
  }

  ~ChildProcess() {
    kill_now();
    if (out_ >= 0) ::close(out_);
    std::remove(stderr_path_.c_str());
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  /// Sends sig to the process itself (not its group).
  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  /// SIGKILL to the whole group, then reaps the process. Idempotent.
  void kill_now() { kill_session(pid_); }

  /// The next stdout line that starts with prefix (earlier lines are kept in lines()), or
  /// nullopt when the deadline passes or the process closes its stdout first.
  std::optional<std::string> wait_line(const std::string& prefix,
                                       std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      while (scanned_ < lines_.size()) {
        const auto& l = lines_[scanned_++];
        if (l.rfind(prefix, 0) == 0) return l;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || out_ < 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) {
        ::close(out_);
        out_ = -1;
        continue;
      }
      partial_.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
        lines_.push_back(partial_.substr(0, nl));
        partial_.erase(0, nl + 1);
      }
    }
  }

  const std::vector<std::string>& lines() const { return lines_; }

  std::string stderr_text() const {
    std::ifstream f(stderr_path_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

 private:
  std::vector<std::string> argv_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  int out_ = -1;
  std::string partial_;
  std::vector<std::string> lines_;
  size_t scanned_ = 0;
};

// -- reading a child's stdout lines ---------------------------------------------------------------

/// Whether p printed a line starting with prefix, at index `from` or later (lines read so far).
inline bool has_line(const ChildProcess& p, const std::string& prefix, size_t from = 0) {
  const auto& lines = p.lines();
  for (size_t i = from; i < lines.size(); ++i) {
    if (lines[i].rfind(prefix, 0) == 0) return true;
  }
  return false;
}

/// Reads p's stdout until a line starting with prefix (index >= from) is there, or the
/// deadline passes. Unlike ChildProcess::wait_line this looks at every line read so far, so
/// several waits may find the same line.
inline bool wait_for_line(ChildProcess& p, const std::string& prefix,
                          std::chrono::steady_clock::time_point deadline, size_t from = 0) {
  for (;;) {
    if (has_line(p, prefix, from)) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    // A prefix no line has: this only reads what arrives, for at most 50 ms.
    p.wait_line("\x01", std::min<std::chrono::milliseconds>(left, std::chrono::milliseconds(50)));
  }
}

/// The lines p printed (index >= from, of those read so far) that start with prefix.
inline std::vector<std::string> lines_starting(const ChildProcess& p, const std::string& prefix,
                                               size_t from = 0) {
  std::vector<std::string> found;
  const auto& lines = p.lines();
  for (size_t i = from; i < lines.size(); ++i) {
    if (lines[i].rfind(prefix, 0) == 0) found.push_back(lines[i]);
  }
  return found;
}

/// Every line p printed so far, indented, one a line: for a failed assertion's message.
inline std::string all_lines(const ChildProcess& p) {
  std::string text;
  for (const auto& l : p.lines()) text += "  " + l + "\n";
  return text;
}

}  // namespace otp_test
