// Test support: a small private network of "hosts" made of Linux network namespaces, for tests
// that need real addresses and real partitions. A namespace of its own holds a bridge; each host
// is a namespace with one veth (eth0, 10.231.0.<i>/24) plugged into that bridge. Nothing is
// created in the machine's own namespace, and the destructor deletes every namespace it created
// (their veths go with them), also when the test fails.
//
// Faults are made with iptables inside a host's namespace, not with `tc netem` (not available in
// the kernels this runs on). An INPUT drop loses packets silently, as a real network does; an
// OUTPUT drop makes the sender's sendto fail with EPERM. Both kinds are worth testing: a node must
// survive send errors and must not mistake either kind for a healthy peer.
//
//   if (auto why = otp_test::NetnsLab::unavailable()) GTEST_SKIP() << *why;
//   otp_test::NetnsLab lab(3);                         // hosts 1..3
//   ChildProcess a(lab.exec(1, {OTP_NODE_BIN, "--host", lab.ip(1), ...}));
//   lab.iptables(3, {"-A", "INPUT", "-s", lab.ip(1), "-j", "DROP"});   // 1 -> 3 silently lost
//   lab.iptables(3, {"-F", "INPUT"});                                 // healed
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace otp_test {

class NetnsLab {
 public:
  static constexpr const char* kIp = "/usr/sbin/ip";
  static constexpr const char* kIptables = "/usr/sbin/iptables";

  /// Why such a lab can not be built here (not root, no ip / iptables, no netns support), or
  /// nullopt when it can.
  static std::optional<std::string> unavailable() {
    if (::geteuid() != 0) return "needs root (network namespaces and iptables)";
    if (::access(kIp, X_OK) != 0) return std::string(kIp) + " not found (iproute2)";
    if (::access(kIptables, X_OK) != 0) return std::string(kIptables) + " not found";
    if (run({kIp, "netns", "list"}) != 0) return "`ip netns list` fails: no netns support";
    return std::nullopt;
  }

  /// Builds the bridge and `hosts` hosts; throws (after removing what it made) on failure.
  explicit NetnsLab(int hosts) : prefix_("otpm" + std::to_string(::getpid()) + "-") {
    try {
      const std::string br = prefix_ + "br";
      must({kIp, "netns", "add", br});
      made_.push_back(br);
      must({kIp, "-n", br, "link", "set", "lo", "up"});
      must({kIp, "-n", br, "link", "add", "br0", "type", "bridge"});
      must({kIp, "-n", br, "link", "set", "br0", "up"});
      for (int i = 1; i <= hosts; ++i) {
        const std::string h = ns(i);
        const std::string v = "v" + std::to_string(i);
        must({kIp, "netns", "add", h});
        made_.push_back(h);
        must({kIp, "-n", br, "link", "add", v, "type", "veth", "peer", "name", "eth0", "netns", h});
        must({kIp, "-n", br, "link", "set", v, "master", "br0"});
        must({kIp, "-n", br, "link", "set", v, "up"});
        must({kIp, "-n", h, "addr", "add", ip(i) + "/24", "dev", "eth0"});
        must({kIp, "-n", h, "link", "set", "eth0", "up"});
        must({kIp, "-n", h, "link", "set", "lo", "up"});
      }
    } catch (...) {
      remove_all();
      throw;
    }
  }
  ~NetnsLab() { remove_all(); }
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  std::string ns(int host) const { return prefix_ + "h" + std::to_string(host); }
  static std::string ip(int host) { return "10.231.0." + std::to_string(host); }

  /// argv to run `command` inside host's namespace (ip netns exec execs it: same pid).
  std::vector<std::string> exec(int host, std::vector<std::string> command) const {
    std::vector<std::string> argv = {kIp, "netns", "exec", ns(host)};
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
  }

  /// iptables with these arguments inside host's namespace; throws on failure.
  void iptables(int host, std::vector<std::string> args) const {
    std::vector<std::string> argv = {kIptables};
    argv.insert(argv.end(), args.begin(), args.end());
    must(exec(host, argv));
  }

  /// Gives host another address, as a container disconnected and reconnected with a new IP: its
  /// eth0 loses every address and gets `new_ip`/24; its processes keep running.
  void change_address(int host, const std::string& new_ip) const {
    must({kIp, "-n", ns(host), "addr", "flush", "dev", "eth0"});
    must({kIp, "-n", ns(host), "addr", "add", new_ip + "/24", "dev", "eth0"});
  }

  /// The /etc/hosts that programs started in host's namespace (through exec()) see: `ip netns
  /// exec` mounts /etc/netns/<ns>/hosts over /etc/hosts. Call before starting them; later calls
  /// rewrite the same file in place, which they see at once. Removed with the lab.
  void set_hosts(int host, const std::string& content) {
    const std::string dir = "/etc/netns/" + ns(host);
    std::filesystem::create_directories(dir);
    if (std::find(etc_dirs_.begin(), etc_dirs_.end(), dir) == etc_dirs_.end()) {
      etc_dirs_.push_back(dir);
    }
    std::ofstream(dir + "/hosts", std::ios::trunc) << content;
  }

  /// Runs argv to completion (stdout and stderr discarded); its exit status, or -1.
  static int run(const std::vector<std::string>& argv) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    std::vector<std::string> copy = argv;
    for (auto& a : copy) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return -1;
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
  }

 private:
  static void must(const std::vector<std::string>& argv) {
    if (run(argv) == 0) return;
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("netns lab: command failed: " + cmd);
  }

  void remove_all() {
    std::error_code ignored;
    for (const auto& dir : etc_dirs_) std::filesystem::remove_all(dir, ignored);
    if (!etc_dirs_.empty()) std::filesystem::remove("/etc/netns", ignored);  // only if empty
    etc_dirs_.clear();
    // Hosts first, then the bridge; deleting a namespace removes the veths inside it.
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) run({kIp, "netns", "del", *it});
    made_.clear();
  }

  std::string prefix_;
  std::vector<std::string> made_;
  std::vector<std::string> etc_dirs_;  // /etc/netns/<ns> made by set_hosts
};

}  // namespace otp_test
