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
// clang-format on
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

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

class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> argv) : argv_(std::move(argv)) {
    static std::atomic<int> counter{0};
    stderr_path_ = "/tmp/otp-test-" + std::to_string(::getpid()) + "-" +
                   std::to_string(counter.fetch_add(1)) + ".stderr";
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
    std::vector<char*> args;
    for (auto& a : argv_) args.push_back(a.data());
    args.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      throw std::runtime_error("posix_spawn " + argv_[0] + " failed: " + std::to_string(rc));
    }
    out_ = out[0];
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
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

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

}  // namespace otp_test
