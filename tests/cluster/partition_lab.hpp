// Test and bench support: a cluster of membership agents on the hosts of a NetnsLab (one agent
// per host: an otp-node with gossip on, or a Serf agent to compare with), whose stdout lines are
// read from all hosts at once and timestamped as they arrive, then parsed into observations
// ("host 2 saw host 4 failed at t"). Faults are iptables rules in the hosts' namespaces and
// signals to the agents. Used by tests/cluster/partition_test.cpp (asserting the bounds of issue
// 14) and bench/partition_bench.cpp (measuring them); the scenarios themselves are in
// partition_scenarios.hpp.
//
// clang-format off
//   otp_test::LabCluster c({.agent = otp_test::Agent::otp, .otp_node = OTP_NODE_BIN});
//   if (auto why = c.start()) FAIL() << *why;           // every host sees every other alive
//   const auto cut_at = c.cut({1, 2}, {3, 4, 5}, otp_test::Drop::input);
//   c.pump_until([&] { return c.state(1, 3) == "failed"; }, cut_at + 10s);
//   c.heal();
// clang-format on
//
// Every agent runs in a session of its own, bounded in time (otp-node --max-seconds, Serf under
// `timeout -s KILL`), and is killed by PID (its whole group) when the cluster is destroyed; the
// NetnsLab deletes its namespaces then too.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "otp/testkit/child_process.hpp"
#include "otp/testkit/netns_lab.hpp"

namespace otp_test {

using otp::testkit::NetnsLab;
using LabClock = std::chrono::steady_clock;

/// Set (e.g. by a SIGINT handler) to make every LabCluster wait throw, so that destructors stop
/// the agents and delete the namespaces.
inline std::atomic<bool> lab_interrupted{false};

enum class Agent { otp, serf };
/// How a partition drops packets: INPUT rules lose them silently (as a real network does);
/// OUTPUT rules make the sender's sendto fail with EPERM.
enum class Drop { input, output };

inline const char* to_string(Agent a) {
  return a == Agent::otp ? "otp" : "serf";
}
inline const char* to_string(Drop d) {
  return d == Drop::input ? "input" : "output";
}
/// For gtest's names of parameterized tests.
inline void PrintTo(Drop d, std::ostream* os) {
  *os << to_string(d);
}

inline double ms_between(LabClock::time_point a, LabClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

/// One membership event as a host's agent reported it.
struct Observation {
  LabClock::time_point at;  // when its line arrived on the pipe
  int observer = 0;         // the host whose agent printed it
  /// joined, alive, suspect, failed, left (membership); nodedown, nodeup (otp links only).
  std::string kind;
  int subject = 0;        // the host it is about
  long incarnation = -1;  // otp: the member's incarnation (-1: not printed)
  std::string line;
};

/// One agent process on a host: stdout read through a pipe, stderr kept in a file.
class LabProcess {
 public:
  LabProcess(std::vector<std::string> argv, const std::string& stderr_path, bool merge_stderr)
      : stderr_path_(stderr_path) {
    pid_ = otp::testkit::spawn_in_session(argv, merge_stderr ? std::string() : stderr_path, &out_);
  }
  ~LabProcess() {
    kill_now();
    if (out_ >= 0) ::close(out_);
    if (!stderr_path_.empty()) std::remove(stderr_path_.c_str());
  }
  LabProcess(const LabProcess&) = delete;
  LabProcess& operator=(const LabProcess&) = delete;

  /// SIGKILL to the whole group (the agent and anything it started), then reaps it. Idempotent.
  void kill_now() { otp::testkit::kill_session(pid_); }

  pid_t pid() const { return pid_; }
  int out() const { return out_; }
  void close_out() {
    if (out_ >= 0) ::close(out_);
    out_ = -1;
  }
  std::string stderr_text() const {
    std::ifstream f(stderr_path_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  std::string partial;  // an incomplete last line
  std::vector<std::pair<LabClock::time_point, std::string>> lines;

 private:
  std::string stderr_path_;
  pid_t pid_ = -1;
  int out_ = -1;
};

struct LabOptions {
  Agent agent = Agent::otp;
  int hosts = 5;
  std::string otp_node = {};  // the otp-node binary
  /// Extra otp-node flags for every node (none: the default membership timings are measured).
  std::vector<std::string> otp_args = {};
  std::string serf = "/usr/bin/serf";
  /// Hard bound on every agent's life.
  int max_seconds = 300;
};

class LabCluster {
 public:
  explicit LabCluster(LabOptions options)
      : options_(std::move(options)), lab_(options_.hosts), agents_(options_.hosts + 1) {}
  ~LabCluster() {
    for (auto& a : agents_) a.reset();  // before the lab deletes the namespaces
  }
  LabCluster(const LabCluster&) = delete;
  LabCluster& operator=(const LabCluster&) = delete;

  int hosts() const { return options_.hosts; }
  Agent agent() const { return options_.agent; }
  const NetnsLab& lab() const { return lab_; }
  static std::string name(int host) { return "n" + std::to_string(host); }
  static std::string full_name(int host) { return name(host) + "@" + NetnsLab::ip(host); }

  /// Starts host 1's agent, then the others with host 1 as their seed, and waits until every host
  /// sees every other alive. An error (with the agents' output) when that does not happen within
  /// `within`.
  std::optional<std::string> start(std::chrono::milliseconds within = std::chrono::seconds(30)) {
    const auto deadline = LabClock::now() + within;
    spawn(1);
    if (!pump_until([&] { return ready(1); }, deadline)) return "host 1 never ready\n" + logs();
    for (int h = 2; h <= hosts(); ++h) spawn(h);
    if (!pump_until([&] { return one_view(all()); }, deadline)) {
      return "the hosts did not all see each other alive\n" + logs();
    }
    return std::nullopt;
  }

  std::vector<int> all() const {
    std::vector<int> v;
    for (int h = 1; h <= hosts(); ++h) v.push_back(h);
    return v;
  }

  /// Reads every agent's stdout until pred() holds or the deadline passes (pred()'s last value).
  bool pump_until(const std::function<bool()>& pred, LabClock::time_point deadline) {
    while (!pred()) {
      if (lab_interrupted) throw std::runtime_error("interrupted");
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - LabClock::now());
      if (left.count() <= 0) return false;
      read_some(std::min<long>(left.count(), 50));
    }
    return true;
  }
  /// Reads every agent's stdout until `t` (no condition).
  void pump_until(LabClock::time_point t) {
    pump_until([] { return false; }, t);
  }

  const std::vector<Observation>& observations() const { return observations_; }

  /// What `observer` holds `subject` to be, from its events so far: alive, suspect, failed,
  /// left, or "" (never heard of).
  std::string state(int observer, int subject) const {
    auto it = state_.find({observer, subject});
    return it == state_.end() ? "" : it->second;
  }
  /// Every host of `hosts` sees every other host of `hosts` alive.
  bool one_view(const std::vector<int>& hosts) const {
    for (int a : hosts) {
      for (int b : hosts) {
        if (a != b && state(a, b) != "alive") return false;
      }
    }
    return true;
  }

  // -- faults ------------------------------------------------------------------------------------

  /// Drops every packet between a host of `a` and a host of `b`, both ways; the time the first
  /// rule went in.
  LabClock::time_point cut(const std::vector<int>& a, const std::vector<int>& b, Drop drop) {
    const auto at = LabClock::now();
    const auto rule = [&](int host, const std::vector<int>& others) {
      std::string list;
      for (int o : others) list += (list.empty() ? "" : ",") + NetnsLab::ip(o);
      if (drop == Drop::input) {
        lab_.iptables(host, {"-A", "INPUT", "-s", list, "-j", "DROP"});
      } else {
        lab_.iptables(host, {"-A", "OUTPUT", "-d", list, "-j", "DROP"});
      }
    };
    for (int h : a) rule(h, b);
    for (int h : b) rule(h, a);
    return at;
  }
  /// Each host drops each incoming packet with probability p (iptables statistic match).
  LabClock::time_point random_loss(double p) {
    const auto at = LabClock::now();
    char prob[32];
    std::snprintf(prob, sizeof prob, "%.4f", p);
    for (int h = 1; h <= hosts(); ++h) {
      lab_.iptables(h, {"-A", "INPUT", "-m", "statistic", "--mode", "random", "--probability", prob,
                        "-j", "DROP"});
    }
    return at;
  }
  /// Removes every rule of every host (one call per host: the heal takes a few ms); the time the
  /// last one was gone.
  LabClock::time_point heal() {
    for (int h = 1; h <= hosts(); ++h) lab_.iptables(h, {"-F"});
    return LabClock::now();
  }

  /// Sends sig to the agent process itself (Serf: the serf process, not its timeout wrapper).
  void signal(int host, int sig) {
    if (agent_pid_[host] > 0) ::kill(agent_pid_[host], sig);
  }
  /// kill -9 of the host's agent; the time it was sent.
  LabClock::time_point kill(int host) {
    const auto at = LabClock::now();
    signal(host, SIGKILL);
    return at;
  }

  /// otp only: asks every running agent for its member list and counters (SIGUSR1) and waits for
  /// them; host -> its latest "membership-stats" line's counters (name -> value).
  std::map<int, std::map<std::string, long>> otp_stats(LabClock::time_point deadline) {
    std::vector<size_t> mark(hosts() + 1);
    for (int h = 1; h <= hosts(); ++h) {
      mark[h] = agents_[h] ? agents_[h]->lines.size() : 0;
      signal(h, SIGUSR1);
    }
    const auto line_of = [&](int h) -> std::optional<std::string> {
      if (!agents_[h]) return std::nullopt;
      const auto& lines = agents_[h]->lines;
      for (size_t i = mark[h]; i < lines.size(); ++i) {
        if (lines[i].second.rfind("membership-stats ", 0) == 0) return lines[i].second;
      }
      return std::nullopt;
    };
    pump_until(
        [&] {
          for (int h = 1; h <= hosts(); ++h) {
            if (agents_[h] && agents_[h]->out() >= 0 && !line_of(h)) return false;
          }
          return true;
        },
        deadline);
    std::map<int, std::map<std::string, long>> stats;
    for (int h = 1; h <= hosts(); ++h) {
      auto l = line_of(h);
      if (!l) continue;
      std::istringstream in(l->substr(l->find(' ') + 1));
      for (std::string item; in >> item;) {
        const auto eq = item.find('=');
        if (eq != std::string::npos) stats[h][item.substr(0, eq)] = std::stol(item.substr(eq + 1));
      }
    }
    return stats;
  }

  /// Every host's lines so far (and otp-node's stderr): for a failed assertion or a bench log.
  std::string logs() const {
    std::string text;
    for (int h = 1; h <= hosts(); ++h) {
      if (!agents_[h]) continue;
      text += "-- host " + std::to_string(h) + " (" + full_name(h) + "):\n";
      const auto t0 = started_at_;
      for (const auto& [at, l] : agents_[h]->lines) {
        char stamp[32];
        std::snprintf(stamp, sizeof stamp, "%9.1f ", ms_between(t0, at));
        text += std::string("  ") + stamp + l + "\n";
      }
      const std::string err = agents_[h]->stderr_text();
      if (!err.empty()) text += "  stderr:\n" + err;
    }
    return text;
  }
  /// Lines of logs() are stamped in ms since this instant (the start of host 1's agent).
  LabClock::time_point started_at() const { return started_at_; }

 private:
  bool ready(int host) const {
    auto it = ready_.find(host);
    return it != ready_.end() && it->second;
  }

  void spawn(int h) {
    if (h == 1) started_at_ = LabClock::now();
    static std::atomic<int> counter{0};
    const std::string err_path = "/tmp/otp-lab-" + std::to_string(::getpid()) + "-" +
                                 std::to_string(counter.fetch_add(1)) + ".stderr";
    std::vector<std::string> argv;
    if (options_.agent == Agent::otp) {
      argv = {options_.otp_node,
              "--name",
              name(h),
              "--host",
              NetnsLab::ip(h),
              "--listen",
              NetnsLab::ip(h) + ":7001",
              "--gossip",
              NetnsLab::ip(h) + ":7101",
              "--cookie",
              "partition-lab",
              "--threads",
              "1",
              "--max-seconds",
              std::to_string(options_.max_seconds)};
      if (h != 1) argv.insert(argv.end(), {"--seeds", NetnsLab::ip(1) + ":7101"});
      argv.insert(argv.end(), options_.otp_args.begin(), options_.otp_args.end());
    } else {
      // timeout(1) bounds the agent's life; its child is the serf process (agent_pid_).
      argv = {"/usr/bin/timeout",
              "-s",
              "KILL",
              std::to_string(options_.max_seconds),
              options_.serf,
              "agent",
              "-node=" + name(h),
              "-bind=" + NetnsLab::ip(h) + ":7946",
              "-rpc-addr=127.0.0.1:7373",
              "-log-level=info"};
      if (h != 1) argv.push_back("-join=" + NetnsLab::ip(1) + ":7946");
    }
    agents_[h] =
        std::make_unique<LabProcess>(lab_.exec(h, argv), err_path, options_.agent == Agent::serf);
    agent_pid_[h] = options_.agent == Agent::otp ? agents_[h]->pid() : child_of(agents_[h]->pid());
  }

  /// The first child of pid (the serf process under timeout(1)), waited for up to 2 s.
  static pid_t child_of(pid_t pid) {
    for (int i = 0; i < 100; ++i) {
      std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) +
                      "/children");
      pid_t c = -1;
      if (f >> c && c > 0) return c;
      ::usleep(20000);
    }
    throw std::runtime_error("no serf process under timeout(1) pid " + std::to_string(pid));
  }

  void read_some(long timeout_ms) {
    std::vector<pollfd> fds;
    std::vector<int> owners;
    for (int h = 1; h <= hosts(); ++h) {
      if (!agents_[h] || agents_[h]->out() < 0) continue;
      fds.push_back({agents_[h]->out(), POLLIN, 0});
      owners.push_back(h);
    }
    if (fds.empty()) {
      ::usleep(static_cast<useconds_t>(timeout_ms) * 1000);
      return;
    }
    if (::poll(fds.data(), fds.size(), static_cast<int>(timeout_ms)) <= 0) return;
    const auto at = LabClock::now();
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      LabProcess& p = *agents_[owners[i]];
      char buf[8192];
      const ssize_t got = ::read(p.out(), buf, sizeof buf);
      if (got <= 0) {
        p.close_out();
        continue;
      }
      p.partial.append(buf, static_cast<size_t>(got));
      for (size_t nl; (nl = p.partial.find('\n')) != std::string::npos;) {
        p.lines.emplace_back(at, p.partial.substr(0, nl));
        p.partial.erase(0, nl + 1);
        parse(owners[i], at, p.lines.back().second);
      }
    }
  }

  /// The host a "nX@10.231.0.X" (otp) or "nX" (Serf) name stands for; 0 if none.
  static int host_of(const std::string& word) {
    if (word.size() < 2 || word[0] != 'n') return 0;
    size_t used = 0;
    try {
      const int h = std::stoi(word.substr(1), &used);
      return used > 0 ? h : 0;
    } catch (const std::exception&) {
      return 0;
    }
  }

  void parse(int observer, LabClock::time_point at, const std::string& line) {
    Observation o;
    o.at = at;
    o.observer = observer;
    o.line = line;
    std::istringstream in(line);
    if (options_.agent == Agent::otp) {
      std::string first, second, third, fourth;
      in >> first >> second >> third >> fourth;
      if (first == "ready") ready_[observer] = true;
      if (first == "member") {
        if (second == "updated") return;  // metadata only
        o.kind = second;
        o.subject = host_of(third);
        if (fourth.rfind("inc=", 0) == 0) o.incarnation = std::stol(fourth.substr(4));
      } else if (first == "nodedown" || first == "nodeup") {
        o.kind = first;
        o.subject = host_of(second);
      } else {
        return;
      }
    } else {
      // "... [INFO] serf: EventMemberJoin: n2 10.231.0.2", "... memberlist: Suspect n3 has
      // failed, no acks received"
      static const std::vector<std::pair<std::string, std::string>> kinds = {
          {"EventMemberJoin: ", "joined"},
          {"EventMemberFailed: ", "failed"},
          {"EventMemberLeave: ", "left"},
          {"EventMemberReap: ", ""},
          {"memberlist: Suspect ", "suspect"}};
      for (const auto& [marker, kind] : kinds) {
        const auto p = line.find(marker);
        if (p == std::string::npos || kind.empty()) continue;
        std::istringstream rest(line.substr(p + marker.size()));
        std::string who;
        rest >> who;
        o.kind = kind;
        o.subject = host_of(who);
        break;
      }
      if (o.kind.empty()) return;
      if (o.kind == "joined" && o.subject == observer) ready_[observer] = true;
    }
    if (o.subject <= 0 || o.subject > hosts()) return;
    if (o.kind == "joined" || o.kind == "alive") {
      state_[{observer, o.subject}] = "alive";
    } else if (o.kind == "suspect" && options_.agent == Agent::otp) {
      state_[{observer, o.subject}] = "suspect";  // Serf's log line is the prober's only
    } else if (o.kind == "failed" || o.kind == "left") {
      state_[{observer, o.subject}] = o.kind;
    }
    observations_.push_back(std::move(o));
  }

  LabOptions options_;
  NetnsLab lab_;
  std::vector<std::unique_ptr<LabProcess>> agents_;  // by host (index 0 unused)
  std::map<int, pid_t> agent_pid_;
  std::map<int, bool> ready_;
  std::map<std::pair<int, int>, std::string> state_;  // (observer, subject) -> state
  std::vector<Observation> observations_;
  LabClock::time_point started_at_ = LabClock::now();
};

}  // namespace otp_test
