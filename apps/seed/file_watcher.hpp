// FileWatcher: the seed's "Implementing GenServer with State Cleanup". init opens the file for
// reading, or fails to start with a reason naming the error and the file ("enoent: <path>"); a
// Check every `interval` (1000 ms by default, send_after) prints the lines appended since the
// last one ("FileWatcher <path>: <line>", from the start of the file at first); terminate closes
// the file and prints "FileWatcher closed <path>".
//
//   seed::FileWatcher::start_link(node, "/var/log/app.log");
//
// Unlike the seed's, it traps exits: without that a supervisor's shutdown would kill it with no
// terminate (OTP runs terminate on a parent's shutdown only for processes trapping exits), and
// the file would not be closed there. Should it be killed anyway (`kill`, or a shutdown timeout),
// its destructor still closes the file, as a dying Erlang process's file port closes with it.
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "otp/otp.hpp"
#include "seed/puts.hpp"

namespace seed {

class FileWatcher : public otp::GenServer {
 public:
  static constexpr std::chrono::milliseconds kDefaultInterval{1000};
  struct Check {};

  // -- client API --
  static otp::Result<otp::Pid> start_link(otp::Node& node, std::string path,
                                          std::chrono::milliseconds interval = kDefaultInterval,
                                          const Puts& puts = stdout_puts()) {
    return otp::gen_server::start_link<FileWatcher>(node, std::move(path), interval, puts);
  }
  static otp::ChildSpec child_spec(std::string path,
                                   std::chrono::milliseconds interval = kDefaultInterval,
                                   const Puts& puts = stdout_puts()) {
    return otp::worker<FileWatcher>("file_watcher", std::move(path), interval, puts);
  }

  // -- server callbacks --
  FileWatcher(std::string path, std::chrono::milliseconds interval, Puts puts)
      : path_(std::move(path)), interval_(interval), puts_(std::move(puts)) {}
  ~FileWatcher() override {
    if (file_) std::fclose(file_);
  }

  otp::Action init() override {
    file_ = std::fopen(path_.c_str(), "r");  // File.open(file_path, [:read])
    int err = errno;
    struct stat st {};
    if (file_ && ::fstat(::fileno(file_), &st) == 0 && S_ISDIR(st.st_mode)) {
      std::fclose(file_);
      file_ = nullptr;
      err = EISDIR;
    }
    if (!file_) return otp::stop(otp::Reason::error(errno_name(err) + ": " + path_));
    trap_exit(true);
    puts_("FileWatcher opened " + path_);
    schedule_check(interval_);
    return otp::ok();
  }
  otp::Action handle_info(const otp::Message& info) override {
    return info.match([&](const Check&) {
      bool more = read_new_lines();
      schedule_check(more ? std::chrono::milliseconds(0) : interval_);
      return otp::noreply();
    });
  }
  void terminate(const otp::Reason&) override {
    if (!file_) return;
    int rc = std::fclose(file_);  // File.close(file)
    file_ = nullptr;
    puts_((rc == 0 ? "FileWatcher closed " : "FileWatcher failed to close ") + path_);
  }

 private:
  /// At most this much is read per Check, so a huge append does not hold a scheduler thread.
  static constexpr size_t kMaxReadPerCheck = 1 << 20;

  void schedule_check(std::chrono::milliseconds delay) {
    otp::send_after(node(), self(), Check{}, delay);
  }

  /// Prints every complete line appended since the last read; true if there may be more to read.
  bool read_new_lines() {
    struct stat st {};
    if (::fstat(::fileno(file_), &st) == 0 && st.st_size < position_) {  // truncated: start over
      std::fseek(file_, 0, SEEK_SET);
      position_ = 0;
      partial_.clear();
    }
    char buf[4096];
    size_t total = 0, n = 0;
    while (total < kMaxReadPerCheck && (n = std::fread(buf, 1, sizeof buf, file_)) > 0) {
      partial_.append(buf, n);
      total += n;
    }
    position_ += static_cast<off_t>(total);
    std::clearerr(file_);  // end of file for now: the file may grow
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = partial_.substr(start, nl - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      puts_("FileWatcher " + path_ + ": " + line);
    }
    partial_.erase(0, start);  // an unfinished last line waits for its newline
    return total >= kMaxReadPerCheck;
  }

  static std::string errno_name(int err) {
    switch (err) {
      case ENOENT:
        return "enoent";
      case EACCES:
        return "eacces";
      case EISDIR:
        return "eisdir";
      case ENOTDIR:
        return "enotdir";
      case EMFILE:
        return "emfile";
      case ENAMETOOLONG:
        return "enametoolong";
      default:
        return std::strerror(err);
    }
  }

  std::string path_;
  std::chrono::milliseconds interval_;
  Puts puts_;
  std::FILE* file_ = nullptr;
  off_t position_ = 0;   // bytes read so far (the seed's position)
  std::string partial_;  // the last line read, while it has no newline yet
};

}  // namespace seed
