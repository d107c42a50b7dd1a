#include "otp/testkit/netns_lab.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

extern char** environ;

namespace otp::testkit {

std::optional<std::string> NetnsLab::unavailable() {
  if (::geteuid() != 0) return "needs root (network namespaces and iptables)";
  if (::access(kIp, X_OK) != 0) return std::string(kIp) + " not found (iproute2)";
  if (::access(kIptables, X_OK) != 0) return std::string(kIptables) + " not found";
  if (run({kIp, "netns", "list"}) != 0) return "`ip netns list` fails: no netns support";
  return std::nullopt;
}

NetnsLab::NetnsLab(int hosts) : prefix_("otpm" + std::to_string(::getpid()) + "-") {
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

NetnsLab::~NetnsLab() {
  remove_all();
}

std::vector<std::string> NetnsLab::exec(int host, std::vector<std::string> command) const {
  std::vector<std::string> argv = {kIp, "netns", "exec", ns(host)};
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

void NetnsLab::iptables(int host, std::vector<std::string> args) const {
  std::vector<std::string> argv = {kIptables};
  argv.insert(argv.end(), args.begin(), args.end());
  must(exec(host, argv));
}

void NetnsLab::change_address(int host, const std::string& new_ip) const {
  must({kIp, "-n", ns(host), "addr", "flush", "dev", "eth0"});
  must({kIp, "-n", ns(host), "addr", "add", new_ip + "/24", "dev", "eth0"});
}

void NetnsLab::set_hosts(int host, const std::string& content) {
  const std::string dir = "/etc/netns/" + ns(host);
  std::filesystem::create_directories(dir);
  if (std::find(etc_dirs_.begin(), etc_dirs_.end(), dir) == etc_dirs_.end()) {
    etc_dirs_.push_back(dir);
  }
  std::ofstream(dir + "/hosts", std::ios::trunc) << content;
}

int NetnsLab::run(const std::vector<std::string>& argv) {
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

void NetnsLab::must(const std::vector<std::string>& argv) {
  if (run(argv) == 0) return;
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  throw std::runtime_error("netns lab: command failed: " + cmd);
}

void NetnsLab::remove_all() {
  std::error_code ignored;
  for (const auto& dir : etc_dirs_) std::filesystem::remove_all(dir, ignored);
  if (!etc_dirs_.empty()) std::filesystem::remove("/etc/netns", ignored);  // only if empty
  etc_dirs_.clear();
  // Hosts first, then the bridge; deleting a namespace removes the veths inside it.
  for (auto it = made_.rbegin(); it != made_.rend(); ++it) run({kIp, "netns", "del", *it});
  made_.clear();
}

}  // namespace otp::testkit
