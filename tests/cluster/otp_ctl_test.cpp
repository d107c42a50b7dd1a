// otp-ctl against real otp-node processes with gossip membership on loopback: every command's
// output, the global counter called and cast by name through the node's control service, and the
// failures (exit 1 with one line saying why; exit 2 on usage). otp-ctl is a hidden node: it joins
// no membership (`members` does not list it), the node does not list it in `nodes` and prints no
// nodeup / nodedown for it. Every process is bounded (--max-seconds, run_program's deadline)
// and killed by PID at the end; waits read lines against deadlines, and no bound is asserted on
// how long anything took.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cluster/gossip_node.hpp"
#include "support/eventually.hpp"
#include "support/run_program.hpp"
#include "support/time_scale.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using otp_test::run_program;

constexpr const char* kCookie = "otp-ctl-test-cookie";
constexpr auto kConverge = 30s * otp_test::kTimeScale;
/// run_program's bound: far above otp-ctl's own 5 s default, so a hang shows as
/// status -1.
constexpr auto kRun = 30s * otp_test::kTimeScale;

const std::vector<std::string> kShared = {"--cookie", kCookie, "--max-seconds", "120"};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

class OtpCtlTest : public ::testing::Test {
 protected:
  /// otp-ctl against node n with the test's cookie, then args.
  otp_test::ProgramResult ctl(otp_test::GossipNode& n, std::vector<std::string> args) {
    std::vector<std::string> argv = {OTP_CTL_BIN, "--node", n.data_address(), "--cookie", kCookie};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, kRun);
  }
  /// Three nodes (n1 runs the global counter "gc") that each list all three
  /// alive.
  void start_three() {
    nodes.push_back(std::make_unique<otp_test::GossipNode>(
        kShared, otp_test::GossipNodeSpec{.name = "n1", .extra = {"--global-counter", "gc"}}));
    for (const char* name : {"n2", "n3"}) {
      nodes.push_back(std::make_unique<otp_test::GossipNode>(
          kShared, otp_test::GossipNodeSpec{.name = name, .seeds = {nodes[0]->gossip_address()}}));
    }
    const auto deadline = Clock::now() + kConverge;
    for (auto& n : nodes) {
      bool all = false;
      while (!all && Clock::now() < deadline) {
        auto m = n->members(deadline);
        all = m && m->size() == 3;
        for (const auto& [name, state] : m.value_or(std::map<std::string, std::string>{}))
          all = all && state == "alive";
      }
      ASSERT_TRUE(all) << n->output();
    }
    // The counter's name reached every replica.
    for (auto& n : nodes)
      ASSERT_TRUE(otp_test::wait_for_line(n->process(), "global registered gc ", deadline))
          << n->output();
  }

  std::vector<std::unique_ptr<otp_test::GossipNode>> nodes;
};

TEST_F(OtpCtlTest, PingMembersNodesNamesWhereisAndInfo) {
  start_three();
  auto& n2 = *nodes[1];
  auto ping = ctl(n2, {"ping"});
  ASSERT_EQ(ping.status, 0) << ping.err;
  EXPECT_EQ(ping.out, "pong n2@127.0.0.1\n");

  auto members = ctl(n2, {"members"});
  ASSERT_EQ(members.status, 0) << members.err;
  auto rows = lines_of(members.out);
  ASSERT_EQ(rows.size(), 4u) << members.out;
  EXPECT_EQ(rows[0].rfind("NAME", 0), 0u) << members.out;
  for (size_t i = 1; i <= 3; ++i) {
    std::istringstream row(rows[i]);
    std::string name, address, state, incarnation;
    row >> name >> address >> state >> incarnation;
    EXPECT_EQ(name, "n" + std::to_string(i) + "@127.0.0.1") << members.out;
    EXPECT_EQ(address, nodes[i - 1]->data_address()) << members.out;
    EXPECT_EQ(state, "alive") << members.out;
    EXPECT_FALSE(incarnation.empty()) << members.out;
  }
  auto members_json = ctl(n2, {"--json", "members"});
  ASSERT_EQ(members_json.status, 0) << members_json.err;
  EXPECT_EQ(nlohmann::json::parse(members_json.out).size(), 3u);

  auto listed = ctl(n2, {"nodes"});
  ASSERT_EQ(listed.status, 0) << listed.err;
  // n2's links to the members; otp-ctl's own link is hidden.
  EXPECT_EQ(listed.out, "n1@127.0.0.1\nn3@127.0.0.1\n");

  auto names = ctl(n2, {"names"});
  ASSERT_EQ(names.status, 0) << names.err;
  auto name_lines = lines_of(names.out);
  ASSERT_EQ(name_lines.size(), 1u) << names.out;
  std::istringstream name_line(name_lines[0]);
  std::string name, pid, node;
  name_line >> name >> pid >> node;
  EXPECT_EQ(name, "gc");
  EXPECT_EQ(pid.rfind("<n1@127.0.0.1.", 0), 0u) << names.out;
  EXPECT_EQ(node, "n1@127.0.0.1");

  auto where = ctl(n2, {"whereis", "gc"});
  ASSERT_EQ(where.status, 0) << where.err;
  EXPECT_EQ(where.out, pid + " n1@127.0.0.1\n");
  auto local = ctl(n2, {"--json", "whereis", "counter"});  // the node's own registered counter
  ASSERT_EQ(local.status, 0) << local.err;
  auto local_json = nlohmann::json::parse(local.out);
  EXPECT_EQ(local_json["node"], "n2@127.0.0.1");
  EXPECT_EQ(local_json["scope"], "local");

  auto info = ctl(n2, {"--json", "info"});
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
  auto info_text = ctl(n2, {"info"});
  ASSERT_EQ(info_text.status, 0) << info_text.err;
  EXPECT_NE(info_text.out.find("link n1@127.0.0.1 bytes_in="), std::string::npos) << info_text.out;
  EXPECT_NE(info_text.out.find("\nrun_queue "), std::string::npos) << info_text.out;
  EXPECT_NE(info_text.out.find(" hidden\n"), std::string::npos) << info_text.out;
  // Eight otp-ctl sessions later, the node printed a nodeup / nodedown for none of them (read
  // its output up to the lines SIGUSR1 prints now).
  n2.process().signal(SIGUSR1);
  ASSERT_TRUE(otp_test::wait_for_line(n2.process(), "globals ", Clock::now() + kConverge))
      << n2.output();
  for (const auto& l : n2.process().lines())
    EXPECT_EQ(l.find("otp-ctl"), std::string::npos) << n2.output();
}

TEST_F(OtpCtlTest, EveryStderrLineOfAJsonLogNodeIsJsonCrashReportsIncluded) {
  otp_test::GossipNode n(
      kShared, {.name = "n1", .extra = {"--log-format", "json", "--global-counter", "gc"}});
  ASSERT_TRUE(
      otp_test::wait_for_line(n.process(), "global registered gc ", Clock::now() + kConverge))
      << n.output();
  // The echo service crashes (the supervisor restarts it): a crash report and a supervisor
  // report, both the runtime's own lines.
  auto crash = ctl(n, {"call", "echo", R"({"type":"svc.crash"})"});
  EXPECT_EQ(crash.status, 1) << crash.out;
  ASSERT_TRUE(otp_test::eventually(
      [&] { return n.process().stderr_text().find("exited") != std::string::npos; }, kConverge))
      << n.output();
  const std::string err = n.process().stderr_text();
  for (const auto& line : lines_of(err)) {
    auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
    EXPECT_EQ(parsed["node"], "n1@127.0.0.1") << line;
  }
}

TEST_F(OtpCtlTest, CallAndCastTheGlobalCounterByNameFromEveryNode) {
  start_three();
  auto first = ctl(*nodes[2], {"call", "gc", R"({"type":"svc.add","value":{"by":5}})"});
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_EQ(first.out, "5\n");
  auto cast = ctl(*nodes[1], {"cast", "gc", R"({"type":"svc.increment","value":{"by":2}})"});
  ASSERT_EQ(cast.status, 0) << cast.err;
  EXPECT_EQ(cast.out, "ok\n");
  // The cast and the next call come from one process (the control service of
  // n2) to the counter, so they arrive in that order.
  auto after = ctl(*nodes[1], {"call", "gc", R"({"type":"svc.get"})"});
  ASSERT_EQ(after.status, 0) << after.err;
  EXPECT_EQ(after.out, "7\n");
  auto as_json = ctl(*nodes[0], {"--json", "call", "gc", R"({"type":"svc.get","value":{}})"});
  ASSERT_EQ(as_json.status, 0) << as_json.err;
  EXPECT_EQ(nlohmann::json::parse(as_json.out), (nlohmann::json{{"type", "int"}, {"value", 7}}));
}

TEST_F(OtpCtlTest, FailuresSayWhyInOneLineAndExitWithOne) {
  otp_test::GossipNode n(kShared, {.name = "n1"});
  auto expect_failure = [](const otp_test::ProgramResult& r, const std::string& why) {
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  };
  expect_failure(
      run_program({OTP_CTL_BIN, "--node", n.data_address(), "--cookie", "wrong", "ping"}, kRun),
      "cookie");
  // A port nothing listens on: the gossip port is UDP+TCP, so take a closed one
  // next to it.
  expect_failure(
      run_program({OTP_CTL_BIN, "--node", "127.0.0.1:1", "--cookie", kCookie, "ping"}, kRun),
      "unreachable");
  expect_failure(ctl(n, {"whereis", "nobody"}), "unknown name 'nobody'");
  expect_failure(ctl(n, {"call", "nobody", R"({"type":"svc.get"})"}), "unknown name 'nobody'");
  expect_failure(ctl(n, {"call", "counter", "{not json"}), "bad JSON");
  expect_failure(ctl(n, {"call", "counter", R"({"type":"svc.nope","value":{}})"}),
                 "unknown message type");
  expect_failure(ctl(n, {"cast", "counter", R"({"type":"svc.nope"})"}), "unknown message type");
  expect_failure(ctl(n, {"call", "counter", R"({"type":"svc.add","value":{"by":"x"}})"}),
                 "svc.add");
  // A server that never answers: the request's timeout, not a hang.
  expect_failure(ctl(n, {"--timeout-ms", "1000", "call", "echo", R"({"type":"svc.never"})"}),
                 "timeout");
  // The node still serves.
  EXPECT_EQ(ctl(n, {"ping"}).status, 0);
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
  otp_test::ChildProcess n({OTP_NODE_BIN, "--listen", "127.0.0.1:0", "--gossip", "127.0.0.1:0",
                            "--seeds", "unresolvable-seed.invalid:7100", "--cookie-file",
                            cookie_file, "--threads", "1", "--max-seconds", "60"});
  auto ready = n.wait_line("ready ", otp_test::kGossipNodeStart);
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
