// otp-ctl against real otp-node processes with gossip membership on loopback: every command's
// output, the global counter called and cast by name through the node's control service, and the
// failures (exit 1 with one line saying why; exit 2 on usage). otp-ctl is a hidden node: it joins
// no membership (`members` does not list it), the node does not list it in `nodes` and prints no
// nodeup / nodedown for it. The nodes are an otp::testkit::ProcessCluster. Every process is bounded
// (--max-seconds, run_program's deadline) and killed by PID at the end; waits read lines or ask the
// nodes against deadlines, and no bound is asserted on how long anything took.
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "otp/testkit/process_cluster.hpp"
#include "support/eventually.hpp"
#include "support/run_program.hpp"
#include "support/time_scale.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using otp::testkit::ProcessCluster;
using otp_test::run_program;

constexpr const char* kCookie = "otp-ctl-test-cookie";
constexpr auto kConverge = 30s * otp_test::kTimeScale;
/// run_program's bound: far above otp-ctl's own 5 s default, so a hang shows as
/// status -1.
constexpr auto kRun = 30s * otp_test::kTimeScale;
/// How long an otp-node started by hand may take to print its ready line (busy machine, ASan).
constexpr auto kStart = 30s;

/// `count` otp-nodes with the test's cookie, each with `args`, for 2 minutes at most.
otp::testkit::ProcessClusterOptions nodes_of(size_t count, std::vector<std::string> args = {}) {
  return {.nodes = count,
          .program = OTP_NODE_BIN,
          .cookie = kCookie,
          .args = std::move(args),
          .max_seconds = 120};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

class OtpCtlTest : public ::testing::Test {
 protected:
  /// otp-ctl against node i of c with the test's cookie, then args.
  otp_test::ProgramResult ctl(ProcessCluster& c, size_t i, std::vector<std::string> args) {
    std::vector<std::string> argv = {OTP_CTL_BIN, "--node", c.data_address(i), "--cookie", kCookie};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, kRun);
  }
  /// Three nodes (n1 runs the global counter "gc") that each list all three alive, the counter's
  /// name in every replica.
  std::unique_ptr<ProcessCluster> start_three() {
    auto options = nodes_of(3);
    options.node_args = [](size_t i) {
      return i == 0 ? std::vector<std::string>{"--global-counter", "gc"}
                    : std::vector<std::string>{};
    };
    auto c = std::make_unique<ProcessCluster>(options);
    c->await_members(3, kConverge);
    c->await_global_name("gc", 0, kConverge);
    return c;
  }
};

TEST_F(OtpCtlTest, PingMembersNodesNamesWhereisAndInfo) {
  auto c = start_three();
  const auto ctl = [&](std::vector<std::string> args) { return this->ctl(*c, 1, args); };  // n2
  auto ping = ctl({"ping"});
  ASSERT_EQ(ping.status, 0) << ping.err;
  EXPECT_EQ(ping.out, "pong n2@127.0.0.1\n");

  auto members = ctl({"members"});
  ASSERT_EQ(members.status, 0) << members.err;
  auto rows = lines_of(members.out);
  ASSERT_EQ(rows.size(), 4u) << members.out;
  EXPECT_EQ(rows[0].rfind("NAME", 0), 0u) << members.out;
  for (size_t i = 1; i <= 3; ++i) {
    std::istringstream row(rows[i]);
    std::string name, address, state, incarnation;
    row >> name >> address >> state >> incarnation;
    EXPECT_EQ(name, "n" + std::to_string(i) + "@127.0.0.1") << members.out;
    EXPECT_EQ(address, c->data_address(i - 1)) << members.out;
    EXPECT_EQ(state, "alive") << members.out;
    EXPECT_FALSE(incarnation.empty()) << members.out;
  }
  auto members_json = ctl({"--json", "members"});
  ASSERT_EQ(members_json.status, 0) << members_json.err;
  EXPECT_EQ(nlohmann::json::parse(members_json.out).size(), 3u);

  auto listed = ctl({"nodes"});
  ASSERT_EQ(listed.status, 0) << listed.err;
  // n2's links to the members; otp-ctl's own link is hidden.
  EXPECT_EQ(listed.out, "n1@127.0.0.1\nn3@127.0.0.1\n");

  auto names = ctl({"names"});
  ASSERT_EQ(names.status, 0) << names.err;
  auto name_lines = lines_of(names.out);
  ASSERT_EQ(name_lines.size(), 1u) << names.out;
  std::istringstream name_line(name_lines[0]);
  std::string name, pid, node;
  name_line >> name >> pid >> node;
  EXPECT_EQ(name, "gc");
  EXPECT_EQ(pid.rfind("<n1@127.0.0.1.", 0), 0u) << names.out;
  EXPECT_EQ(node, "n1@127.0.0.1");

  auto where = ctl({"whereis", "gc"});
  ASSERT_EQ(where.status, 0) << where.err;
  EXPECT_EQ(where.out, pid + " n1@127.0.0.1\n");
  auto local = ctl({"--json", "whereis", "counter"});  // the node's own registered counter
  ASSERT_EQ(local.status, 0) << local.err;
  auto local_json = nlohmann::json::parse(local.out);
  EXPECT_EQ(local_json["node"], "n2@127.0.0.1");
  EXPECT_EQ(local_json["scope"], "local");

  auto info = ctl({"--json", "info"});
  ASSERT_EQ(info.status, 0) << info.err;
  auto info_json = nlohmann::json::parse(info.out);
  EXPECT_EQ(info_json["node"], "n2@127.0.0.1");
  EXPECT_GT(info_json["processes"].get<int>(), 0);
  EXPECT_GT(info_json["memory_bytes"].get<uint64_t>(), 0u);
  // Each link with its bytes and queue: n2 has talked to n1 (gossip joined them, names synced).
  bool saw_n1 = false;
  for (const auto& link : info_json["links"]) {
    if (link["peer"] != "n1@127.0.0.1") continue;
    saw_n1 = true;
    EXPECT_GT(link["bytes_out"].get<uint64_t>(), 0u);
    EXPECT_GT(link["bytes_in"].get<uint64_t>(), 0u);
  }
  EXPECT_TRUE(saw_n1) << info.out;
  // The run queue (processes waiting for a scheduler thread), and otp-ctl as the hidden node.
  ASSERT_TRUE(info_json["run_queue"].is_number_unsigned()) << info.out;
  ASSERT_EQ(info_json["hidden_nodes"].size(), 1u) << info.out;
  EXPECT_EQ(info_json["hidden_nodes"][0].get<std::string>().rfind("otp-ctl-", 0), 0u) << info.out;
  auto info_text = ctl({"info"});
  ASSERT_EQ(info_text.status, 0) << info_text.err;
  EXPECT_NE(info_text.out.find("link n1@127.0.0.1 bytes_in="), std::string::npos) << info_text.out;
  EXPECT_NE(info_text.out.find("\nrun_queue "), std::string::npos) << info_text.out;
  EXPECT_NE(info_text.out.find(" hidden\n"), std::string::npos) << info_text.out;
  // Eight otp-ctl sessions later, the node printed a nodeup / nodedown for none of them (read
  // its output up to the answer to a question asked now).
  c->members(1);
  for (const auto& l : c->process(1).lines())
    EXPECT_EQ(l.find("otp-ctl"), std::string::npos) << c->log(1);
}

TEST_F(OtpCtlTest, EveryStderrLineOfAJsonLogNodeIsJsonCrashReportsIncluded) {
  ProcessCluster c(nodes_of(1, {"--log-format", "json", "--global-counter", "gc"}));
  c.await_global_name("gc", 0, kConverge);
  // The echo service crashes (the supervisor restarts it): a crash report and a supervisor
  // report, both the runtime's own lines.
  auto crash = ctl(c, 0, {"call", "echo", R"({"type":"svc.crash"})"});
  EXPECT_EQ(crash.status, 1) << crash.out;
  ASSERT_TRUE(otp_test::eventually(
      [&] { return c.process(0).stderr_text().find("exited") != std::string::npos; }, kConverge))
      << c.log(0);
  const std::string err = c.process(0).stderr_text();
  for (const auto& line : lines_of(err)) {
    auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
    EXPECT_EQ(parsed["node"], "n1@127.0.0.1") << line;
  }
}

TEST_F(OtpCtlTest, CallAndCastTheGlobalCounterByNameFromEveryNode) {
  auto c = start_three();
  auto first = ctl(*c, 2, {"call", "gc", R"({"type":"svc.add","value":{"by":5}})"});
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_EQ(first.out, "5\n");
  auto cast = ctl(*c, 1, {"cast", "gc", R"({"type":"svc.increment","value":{"by":2}})"});
  ASSERT_EQ(cast.status, 0) << cast.err;
  EXPECT_EQ(cast.out, "ok\n");
  // The cast and the next call come from one process (the control service of
  // n2) to the counter, so they arrive in that order.
  auto after = ctl(*c, 1, {"call", "gc", R"({"type":"svc.get"})"});
  ASSERT_EQ(after.status, 0) << after.err;
  EXPECT_EQ(after.out, "7\n");
  auto as_json = ctl(*c, 0, {"--json", "call", "gc", R"({"type":"svc.get","value":{}})"});
  ASSERT_EQ(as_json.status, 0) << as_json.err;
  EXPECT_EQ(nlohmann::json::parse(as_json.out), (nlohmann::json{{"type", "int"}, {"value", 7}}));
}

TEST_F(OtpCtlTest, FailuresSayWhyInOneLineAndExitWithOne) {
  ProcessCluster c(nodes_of(1));
  const auto ctl = [&](std::vector<std::string> args) { return this->ctl(c, 0, args); };
  auto expect_failure = [](const otp_test::ProgramResult& r, const std::string& why) {
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  };
  expect_failure(
      run_program({OTP_CTL_BIN, "--node", c.data_address(0), "--cookie", "wrong", "ping"}, kRun),
      "cookie");
  // A port nothing listens on: the gossip port is UDP+TCP, so take a closed one
  // next to it.
  expect_failure(
      run_program({OTP_CTL_BIN, "--node", "127.0.0.1:1", "--cookie", kCookie, "ping"}, kRun),
      "unreachable");
  expect_failure(ctl({"whereis", "nobody"}), "unknown name 'nobody'");
  expect_failure(ctl({"call", "nobody", R"({"type":"svc.get"})"}), "unknown name 'nobody'");
  expect_failure(ctl({"call", "counter", "{not json"}), "bad JSON");
  expect_failure(ctl({"call", "counter", R"({"type":"svc.nope","value":{}})"}),
                 "unknown message type");
  expect_failure(ctl({"cast", "counter", R"({"type":"svc.nope"})"}), "unknown message type");
  expect_failure(ctl({"call", "counter", R"({"type":"svc.add","value":{"by":"x"}})"}), "svc.add");
  // A server that never answers: the request's timeout, not a hang.
  expect_failure(ctl({"--timeout-ms", "1000", "call", "echo", R"({"type":"svc.never"})"}),
                 "timeout");
  // The node still serves.
  EXPECT_EQ(ctl({"ping"}).status, 0);
}

TEST_F(OtpCtlTest, UsageErrorsExitWithTwo) {
  const std::string cookie_file = "/tmp/otp-ctl-test-empty-cookie-" + std::to_string(::getpid());
  std::ofstream(cookie_file) << "\n";
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--cookie", "c"},                               // no command
           {"--cookie", "c", "frobnicate"},                 // unknown command
           {"--cookie", "c", "whereis"},                    // a missing argument
           {"--cookie", "c", "--timeout-ms", "x", "ping"},  // not a number
           {"--cookie", "c", "--bogus", "ping"},            // unknown flag
           {"--cookie-file", cookie_file, "ping"},          // an empty cookie file
           {"--cookie-file", "/nonexistent/cookie", "ping"},
       }) {
    std::vector<std::string> argv = {OTP_CTL_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_program(argv, kRun);
    EXPECT_EQ(r.status, 2) << args.back() << ": " << r.err;
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
  }
  std::remove(cookie_file.c_str());
  auto help = run_program({OTP_CTL_BIN, "--help"}, kRun);
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("members"), std::string::npos) << help.out;
}

}  // namespace

namespace {

// otp-node's container defaults, seen from outside: no --name and no --host (the host name, and
// --listen's host), the cookie from a file, and the loopback warning for a non-loopback seed;
// otp-ctl reads the same cookie file.
TEST(OtpNodeDefaultsTest, NameFromTheHostNameCookieFromAFileAndALoopbackWarning) {
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  const std::string cookie_file = "/tmp/otp-node-test-cookie-" + std::to_string(::getpid());
  std::ofstream(cookie_file) << "  file-cookie  \nignored\n";
  otp::testkit::ChildProcess n({OTP_NODE_BIN, "--listen", "127.0.0.1:0", "--gossip", "127.0.0.1:0",
                                "--seeds", "unresolvable-seed.invalid:7100", "--cookie-file",
                                cookie_file, "--threads", "1", "--max-seconds", "60"});
  auto ready = n.wait_line("ready ", kStart);
  ASSERT_TRUE(ready) << n.stderr_text();
  const std::string self = std::string(host) + "@127.0.0.1";
  EXPECT_EQ(ready->rfind("ready " + self + "#", 0), 0u) << *ready;
  EXPECT_NE(n.stderr_text().find("warning: this node advertises the loopback address 127.0.0.1"),
            std::string::npos)
      << n.stderr_text();
  const auto port = ready->substr(ready->find(" port=") + 6);
  auto ping = run_program({OTP_CTL_BIN, "--node", "127.0.0.1:" + port.substr(0, port.find(' ')),
                           "--cookie-file", cookie_file, "ping"},
                          kRun);
  EXPECT_EQ(ping.status, 0) << ping.err;
  EXPECT_EQ(ping.out, "pong " + self + "\n");
  std::remove(cookie_file.c_str());
}

}  // namespace
