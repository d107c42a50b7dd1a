// Test support: one otp-node process with gossip membership, started by a cluster test (on
// loopback, or inside a network namespace through `wrap`) and waited for until it printed its
// ready line. Its stdout is read with the line helpers of otp/testkit/child_process.hpp; SIGUSR1
// makes it print its member list and its replica of the global names, which members() and globals()
// parse. A test file passes the options all its nodes share (cookie, --max-seconds, ...) and
// usually wraps the constructor in a class of its own that fills them in.
//
// clang-format off
//   otp_test::GossipNode n1({"--cookie", "c", "--max-seconds", "120"}, {.name = "n1"});
//   otp_test::GossipNode n2({"--cookie", "c", "--max-seconds", "120"},
//                           {.name = "n2", .seeds = {n1.gossip_address()}});
//   auto states = n2.members(deadline);   // name@host -> alive | suspect | failed | left
// clang-format on
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "otp/testkit/child_process.hpp"

namespace otp_test {

// The kit's process helpers under the names the tests that include this header use.
using otp::testkit::ChildProcess;
using otp::testkit::wait_for_line;

/// How long an otp-node process may take to print its ready line (busy machine, ASan).
inline constexpr std::chrono::seconds kGossipNodeStart{15};

/// One node: its name and addresses (port 0: any free one), its seeds (host:gossip-port) and
/// options of its own (after the shared ones).
struct GossipNodeSpec {
  std::string name = {};
  std::string host = "127.0.0.1";
  uint16_t port = 0;         // transport
  uint16_t gossip_port = 0;  // 0: any free port
  std::vector<std::string> seeds = {};
  std::vector<std::string> extra = {};
};

class GossipNode {
 public:
  /// Starts the node (inside `wrap`, e.g. `ip netns exec h1`) with the options every node of the
  /// test shares (`shared`: --cookie, --max-seconds, ...) and waits for its ready line.
  GossipNode(const std::vector<std::string>& shared, const GossipNodeSpec& spec,
             std::vector<std::string> wrap = {})
      : name_(spec.name), host_(spec.host), process_(args(shared, spec, std::move(wrap))) {
    auto ready = process_.wait_line("ready ", kGossipNodeStart);
    if (!ready) {
      throw std::runtime_error("otp-node " + spec.name + " did not start:\n" +
                               process_.stderr_text());
    }
    const auto g = ready->find(" gossip=");
    if (g == std::string::npos) throw std::runtime_error("no gossip port in: " + *ready);
    gossip_port_ = static_cast<uint16_t>(std::stoi(ready->substr(g + 8)));
    port_ = static_cast<uint16_t>(std::stoi(ready->substr(ready->find(" port=") + 6)));
  }

  std::string full_name() const { return name_ + "@" + host_; }
  std::string gossip_address() const { return host_ + ":" + std::to_string(gossip_port_); }
  uint16_t gossip_port() const { return gossip_port_; }
  /// The transport (data) address: what --connect and otp-ctl --node take.
  std::string data_address() const { return host_ + ":" + std::to_string(port_); }
  otp::testkit::ChildProcess& process() { return process_; }

  /// The node's own member list (SIGUSR1 -> "members <n> name=state ..."): name -> state.
  std::optional<std::map<std::string, std::string>> members(
      std::chrono::steady_clock::time_point deadline) {
    return listed_on_usr1("members ", deadline);
  }

  /// The node's replica of the global names (SIGUSR1 -> "globals <n> name=pid ..."): name ->
  /// owner pid.
  std::optional<std::map<std::string, std::string>> globals(
      std::chrono::steady_clock::time_point deadline) {
    return listed_on_usr1("globals ", deadline);
  }

  /// Everything the node printed so far, stdout and stderr: for a failed assertion's message.
  std::string output() const {
    return otp::testkit::all_lines(process_) + "stderr:\n" + process_.stderr_text();
  }

 private:
  static std::vector<std::string> args(const std::vector<std::string>& shared,
                                       const GossipNodeSpec& s, std::vector<std::string> wrap) {
    std::vector<std::string> a = std::move(wrap);
    std::string seeds;
    for (const auto& seed : s.seeds) seeds += (seeds.empty() ? "" : ",") + seed;
    const std::vector<std::string> own = {OTP_NODE_BIN,
                                          "--name",
                                          s.name,
                                          "--host",
                                          s.host,
                                          "--listen",
                                          s.host + ":" + std::to_string(s.port),
                                          "--gossip",
                                          s.host + ":" + std::to_string(s.gossip_port),
                                          "--threads",
                                          "1"};
    a.insert(a.end(), own.begin(), own.end());
    a.insert(a.end(), shared.begin(), shared.end());
    if (!seeds.empty()) a.insert(a.end(), {"--seeds", seeds});
    a.insert(a.end(), s.extra.begin(), s.extra.end());
    return a;
  }

  /// Sends SIGUSR1 and parses the "<prefix><count> key=value ..." line it prints: key -> value.
  std::optional<std::map<std::string, std::string>> listed_on_usr1(
      const std::string& prefix, std::chrono::steady_clock::time_point deadline) {
    const size_t from = process_.lines().size();
    process_.signal(SIGUSR1);
    if (!otp::testkit::wait_for_line(process_, prefix, deadline, from)) return std::nullopt;
    std::istringstream in(
        otp::testkit::lines_starting(process_, prefix, from).front().substr(prefix.size()));
    std::string count;
    in >> count;
    std::map<std::string, std::string> listed;
    for (std::string item; in >> item;) {
      const auto eq = item.find('=');
      listed[item.substr(0, eq)] = item.substr(eq + 1);
    }
    return listed;
  }

  std::string name_;
  std::string host_;
  otp::testkit::ChildProcess process_;
  uint16_t gossip_port_ = 0;
  uint16_t port_ = 0;
};

}  // namespace otp_test
