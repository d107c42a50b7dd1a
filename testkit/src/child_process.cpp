#include "otp/testkit/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace otp::testkit {

pid_t spawn_in_session(std::vector<std::string>& argv, const std::string& stderr_path, int* out,
                       int* in) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  // stdin is one end of a socket pair, not a pipe: the test writes with MSG_NOSIGNAL, so a
  // process that died makes write_line return false instead of raising SIGPIPE in the test.
  int in_fds[2] = {-1, -1};
  if (in && ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_fds) != 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  if (stderr_path.empty()) {
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  } else {
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
  }
  if (in) {
    posix_spawn_file_actions_adddup2(&actions, in_fds[0], 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
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
  if (in) ::close(in_fds[0]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    if (in) ::close(in_fds[1]);
    throw std::runtime_error("posix_spawn " + argv[0] + " failed: error " + std::to_string(rc));
  }
  *out = pipe_fds[0];
  if (in) *in = in_fds[1];
  return pid;
}

void kill_session(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  pid = -1;
}

ChildProcess::ChildProcess(std::vector<std::string> argv, ChildOptions options)
    : argv_(std::move(argv)) {
  static std::atomic<int> counter{0};
  stderr_path_ = "/tmp/otp-test-" + std::to_string(::getpid()) + "-" +
                 std::to_string(counter.fetch_add(1)) + ".stderr";
  pid_ = spawn_in_session(argv_, stderr_path_, &out_, options.writable_stdin ? &in_ : nullptr);
}

ChildProcess::~ChildProcess() {
  kill_now();
  if (out_ >= 0) ::close(out_);
  if (in_ >= 0) ::close(in_);
  std::remove(stderr_path_.c_str());
}

void ChildProcess::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

void ChildProcess::kill_now() {
  kill_session(pid_);
}

bool ChildProcess::write_line(const std::string& line) {
  if (in_ < 0) return false;
  const std::string text = line + "\n";
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::send(in_, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(in_);
      in_ = -1;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

void ChildProcess::close_stdin() {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
}

bool ChildProcess::read_some(std::chrono::milliseconds timeout) {
  if (out_ < 0) return false;
  pollfd p{out_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return true;
  char buf[4096];
  const ssize_t n = ::read(out_, buf, sizeof buf);
  if (n <= 0) {
    ::close(out_);
    out_ = -1;
    return false;
  }
  partial_.append(buf, static_cast<size_t>(n));
  for (size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
    lines_.push_back(partial_.substr(0, nl));
    partial_.erase(0, nl + 1);
  }
  return true;
}

std::optional<std::string> ChildProcess::wait_line(const std::string& prefix,
                                                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    while (scanned_ < lines_.size()) {
      const auto& l = lines_[scanned_++];
      if (l.rfind(prefix, 0) == 0) return l;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || out_ < 0) return std::nullopt;
    read_some(left);
  }
}

std::string ChildProcess::stderr_text() const {
  std::ifstream f(stderr_path_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool has_line(const ChildProcess& p, const std::string& prefix, size_t from) {
  const auto& lines = p.lines();
  for (size_t i = from; i < lines.size(); ++i) {
    if (lines[i].rfind(prefix, 0) == 0) return true;
  }
  return false;
}

bool wait_for_line(ChildProcess& p, const std::string& prefix,
                   std::chrono::steady_clock::time_point deadline, size_t from) {
  for (;;) {
    if (has_line(p, prefix, from)) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    // Reads only what arrives, for at most 50 ms; a closed stdout ends the wait early only once
    // the deadline passes (the caller's answer is the same: no such line).
    if (!p.read_some(std::min<std::chrono::milliseconds>(left, std::chrono::milliseconds(50)))) {
      return has_line(p, prefix, from);
    }
  }
}

std::vector<std::string> lines_starting(const ChildProcess& p, const std::string& prefix,
                                        size_t from) {
  std::vector<std::string> found;
  const auto& lines = p.lines();
  for (size_t i = from; i < lines.size(); ++i) {
    if (lines[i].rfind(prefix, 0) == 0) found.push_back(lines[i]);
  }
  return found;
}

std::string all_lines(const ChildProcess& p) {
  std::string text;
  for (const auto& l : p.lines()) text += "  " + l + "\n";
  return text;
}

}  // namespace otp::testkit
