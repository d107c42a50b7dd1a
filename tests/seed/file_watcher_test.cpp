// The seed's FileWatcher: init opens the file (or fails to start, naming the error and the file);
// a Check every interval prints the lines appended since the last one; terminate closes the file.
// That the file is open or closed is read from /proc/self/fd, not only from what it prints.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "seed/file_watcher.hpp"
#include "seed/journal.hpp"
#include "support/eventually.hpp"

using namespace std::chrono_literals;
using seed::FileWatcher;
namespace fs = std::filesystem;

namespace {

/// How many of this process's file descriptors are open on `path`.
int open_fds_on(const fs::path& path) {
  int n = 0;
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/self/fd", ec)) {
    auto target = fs::read_symlink(fd.path(), ec);
    if (!ec && target == path) ++n;
  }
  return n;
}

class SeedFileWatcher : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "file_watcher_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir = fs::canonical(tmpl);
    path = dir / "watched.log";
  }
  void TearDown() override {
    node.shutdown();
    fs::remove_all(dir);
  }
  void append(const std::string& text) {
    std::ofstream out(path, std::ios::app);
    out << text;
  }
  std::string line(const std::string& text) const {
    return "FileWatcher " + path.string() + ": " + text;
  }

  fs::path dir, path;
  seed::Journal journal;
  otp::Node node{{.name = "watch", .scheduler_threads = 2, .log_crashes = false}};
};

}  // namespace

TEST_F(SeedFileWatcher, PrintsTheLinesAppendedSinceTheLastCheck) {
  append("line 1\n");
  otp::Pid pid = FileWatcher::start_link(node, path.string(), 20ms, journal.puts()).value();
  EXPECT_EQ(journal.lines().front(), "FileWatcher opened " + path.string());
  ASSERT_TRUE(journal.wait_for(line("line 1")));  // from position 0

  append("line 2\nline 3\n");
  ASSERT_TRUE(journal.wait_for(line("line 3")));
  append("a half");  // no newline yet: not a line
  append(" and the rest\n");
  ASSERT_TRUE(journal.wait_for(line("a half and the rest")));
  EXPECT_EQ(journal.lines(), (std::vector<std::string>{
                                 "FileWatcher opened " + path.string(), line("line 1"),
                                 line("line 2"), line("line 3"), line("a half and the rest")}));
  EXPECT_TRUE(otp::alive(pid));
}

TEST_F(SeedFileWatcher, ATruncatedFileIsReadFromTheStartAgain) {
  append("old old old\n");
  ASSERT_TRUE(FileWatcher::start_link(node, path.string(), 20ms, journal.puts()));
  ASSERT_TRUE(journal.wait_for(line("old old old")));
  { std::ofstream truncate(path, std::ios::trunc); }
  append("new\n");
  EXPECT_TRUE(journal.wait_for(line("new")));
}

TEST_F(SeedFileWatcher, ChecksEverySecondByDefault) {
  EXPECT_EQ(FileWatcher::kDefaultInterval, 1000ms);
  append("hello\n");
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      FileWatcher::start_link(node, path.string(), FileWatcher::kDefaultInterval, journal.puts()));
  ASSERT_TRUE(journal.wait_for(line("hello"), 1, 10s));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1000ms);  // schedule_check: 1000 ms
}

TEST_F(SeedFileWatcher, TerminateClosesTheFile) {
  append("x\n");
  ASSERT_EQ(open_fds_on(path), 0);
  otp::Pid pid = FileWatcher::start_link(node, path.string(), 20ms, journal.puts()).value();
  EXPECT_EQ(open_fds_on(path), 1);
  ASSERT_TRUE(journal.wait_for(line("x")));

  ASSERT_TRUE(otp::gen_server::stop(node, pid));  // GenServer.stop: terminate runs
  EXPECT_EQ(journal.count("FileWatcher closed " + path.string()), 1u);
  EXPECT_EQ(open_fds_on(path), 0);
}

TEST_F(SeedFileWatcher, TerminateRunsOnASupervisorShutdownAndOnNodeShutdown) {
  // It traps exits, so a supervisor's shutdown runs terminate (the seed's would just be killed).
  append("x\n");
  otp::Pid sup = otp::supervisor::start_link(
                     node, {FileWatcher::child_spec(path.string(), 20ms, journal.puts())})
                     .value();
  ASSERT_EQ(open_fds_on(path), 1);
  ASSERT_TRUE(otp::supervisor::terminate_child(node, sup, "file_watcher"));
  EXPECT_EQ(journal.count("FileWatcher closed " + path.string()), 1u);
  EXPECT_EQ(open_fds_on(path), 0);

  ASSERT_TRUE(otp::supervisor::restart_child(node, sup, "file_watcher"));
  ASSERT_EQ(open_fds_on(path), 1);
  node.shutdown();
  EXPECT_EQ(journal.count("FileWatcher closed " + path.string()), 2u);
  EXPECT_EQ(open_fds_on(path), 0);
}

TEST_F(SeedFileWatcher, KilledItCanNotRunTerminateButTheFileIsClosedAnyway) {
  append("x\n");
  otp::Pid pid = FileWatcher::start_link(node, path.string(), 20ms, journal.puts()).value();
  ASSERT_EQ(open_fds_on(path), 1);
  otp::Inbox inbox(node);
  inbox.monitor(pid);
  otp::exit(pid, otp::Reason::kill());
  ASSERT_TRUE(inbox.receive_as<otp::Down>(10s));
  EXPECT_EQ(journal.count("FileWatcher closed " + path.string()), 0u);  // no terminate on kill
  EXPECT_EQ(open_fds_on(path), 0);  // but its destructor closed the file
}

TEST_F(SeedFileWatcher, InitFailsCleanlyWhenTheFileIsMissing) {
  auto r = FileWatcher::start_link(node, path.string(), 20ms, journal.puts());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::init_failed);
  EXPECT_EQ(r.error().reason(), otp::Reason::error("enoent: " + path.string()));  // {:stop, reason}
  EXPECT_NE(r.error().to_string().find(path.string()), std::string::npos) << r.error();
  // No process left behind. (start_link may return a moment before the failed process is gone:
  // the runtime acknowledges the failure before the process exits.)
  EXPECT_TRUE(otp_test::eventually([&] { return node.process_count() == 0; }));
  EXPECT_TRUE(journal.lines().empty());  // terminate does not run after a failed init (OTP)
  EXPECT_EQ(open_fds_on(path), 0);

  auto d = FileWatcher::start_link(node, dir.string(), 20ms, journal.puts());
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().reason(), otp::Reason::error("eisdir: " + dir.string()));
}

TEST_F(SeedFileWatcher, UnderASupervisorAMissingFileFailsTheStartWithTheSameReason) {
  auto sup = otp::supervisor::start_link(
      node, {FileWatcher::child_spec(path.string(), 20ms, journal.puts())});
  ASSERT_FALSE(sup);
  EXPECT_NE(sup.error().to_string().find("enoent: " + path.string()), std::string::npos)
      << sup.error();
  EXPECT_TRUE(otp_test::eventually([&] { return node.process_count() == 0; }));
}
