// A small private network of "hosts" made of Linux network namespaces, for tests that need real
// addresses and real partitions (root only). A namespace of its own holds a bridge; each host is a
// namespace with one veth (eth0, 10.231.0.<i>/24) plugged into that bridge. Nothing is created in
// the machine's own namespace, and the destructor deletes every namespace it created (their veths
// go with them), also when the test fails.
//
// Faults are made with iptables inside a host's namespace, not with `tc netem` (not available in
// the kernels this runs on). An INPUT drop loses packets silently, as a real network does; an
// OUTPUT drop makes the sender's sendto fail with EPERM. Both kinds are worth testing: a node must
// survive send errors and must not mistake either kind for a healthy peer.
//
//   if (auto why = otp::testkit::NetnsLab::unavailable()) GTEST_SKIP() << *why;
//   otp::testkit::NetnsLab lab(3);                     // hosts 1..3
//   ChildProcess a(lab.exec(1, {OTP_NODE_BIN, "--host", lab.ip(1), ...}));
//   lab.iptables(3, {"-A", "INPUT", "-s", lab.ip(1), "-j", "DROP"});   // 1 -> 3 silently lost
//   lab.iptables(3, {"-F", "INPUT"});                                 // healed
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace otp::testkit {

class NetnsLab {
 public:
  static constexpr const char* kIp = "/usr/sbin/ip";
  static constexpr const char* kIptables = "/usr/sbin/iptables";

  /// Why such a lab can not be built here (not root, no ip / iptables, no netns support), or
  /// nullopt when it can.
  static std::optional<std::string> unavailable();

  /// Builds the bridge and `hosts` hosts; throws (after removing what it made) on failure.
  explicit NetnsLab(int hosts);
  ~NetnsLab();
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  std::string ns(int host) const { return prefix_ + "h" + std::to_string(host); }
  static std::string ip(int host) { return "10.231.0." + std::to_string(host); }

  /// argv to run `command` inside host's namespace (ip netns exec execs it: same pid).
  std::vector<std::string> exec(int host, std::vector<std::string> command) const;

  /// iptables with these arguments inside host's namespace; throws on failure.
  void iptables(int host, std::vector<std::string> args) const;

  /// Gives host another address, as a container disconnected and reconnected with a new IP: its
  /// eth0 loses every address and gets `new_ip`/24; its processes keep running.
  void change_address(int host, const std::string& new_ip) const;

  /// The /etc/hosts that programs started in host's namespace (through exec()) see: `ip netns
  /// exec` mounts /etc/netns/<ns>/hosts over /etc/hosts. Call before starting them; later calls
  /// rewrite the same file in place, which they see at once. Removed with the lab.
  void set_hosts(int host, const std::string& content);

  /// Runs argv to completion (stdout and stderr discarded); its exit status, or -1.
  static int run(const std::vector<std::string>& argv);

 private:
  static void must(const std::vector<std::string>& argv);
  void remove_all();

  std::string prefix_;
  std::vector<std::string> made_;
  std::vector<std::string> etc_dirs_;  // /etc/netns/<ns> made by set_hosts
};

}  // namespace otp::testkit
