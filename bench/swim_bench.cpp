// otp-swim-bench: SWIM membership between real otp-node processes on loopback, measured the way
// the Serf anchor (serf_membership.sh, an optional external input: see docs/performance.md)
// measures Serf, and printed as anchor RESULT lines:
//
//   per size N (5, 10) and repetition: start node 1 and wait until it is ready; T0; launch nodes
//   2..N with --seeds node1 (their process start-up counts, as the Serf agents' does); converge_ms
//   = until every node printed `member joined` for all N-1 others (checked with each node's member
//   list: N alive). Then 1 s to settle, kill -9 node N; failed_all_survivors_ms = until every
//   survivor printed `member failed nN@...`. Lines are timestamped as they arrive on the pipes.
//
//   otp-swim-bench                                 # sizes 5 and 10, 5 repetitions each
//   OTP_SWIM_SIZES="5" OTP_SWIM_REPS=3 otp-swim-bench
//
// Env: OTP_NODE_BIN (default: the otp-node of the same build), OTP_SWIM_SIZES ("5 10"),
// OTP_SWIM_REPS (5), OTP_SWIM_NODE_ARGS (extra otp-node flags, space-separated; none by default:
// the default membership timings are what is measured). Diagnostics ("# ...") on stderr. Every node
// runs under
// --max-seconds and in a session of its own, killed by PID (the whole group) when done. Every
// port is picked by the OS (node 1 says its gossip port in its ready line).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "otp/testkit/child_process.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

/// One otp-node process: its stdout lines, timestamped on arrival.
struct Node {
  std::string name;
  pid_t pid = -1;
  int out = -1;
  std::string partial;
  std::vector<std::pair<Clock::time_point, std::string>> lines;

  ~Node() { kill_now(); }

  void kill_now() {
    otp::testkit::kill_session(pid);
    if (out >= 0) ::close(out);
    out = -1;
  }

  std::string full_name() const { return name + "@127.0.0.1"; }

  /// The first line starting with prefix, from index `from` on.
  std::optional<Clock::time_point> find(const std::string& prefix, size_t from = 0) const {
    for (size_t i = from; i < lines.size(); ++i) {
      if (lines[i].second.rfind(prefix, 0) == 0) return lines[i].first;
    }
    return std::nullopt;
  }
};

std::unique_ptr<Node> spawn(const std::string& bin, const std::string& name,
                            const std::vector<std::string>& extra) {
  auto n = std::make_unique<Node>();
  n->name = name;
  std::vector<std::string> argv = {bin,           "--name",        name,          "--listen",
                                   "127.0.0.1:0", "--gossip",      "127.0.0.1:0", "--cookie",
                                   "swim-bench",  "--max-seconds", "120"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  n->pid = otp::testkit::spawn_in_session(argv, "/dev/null", &n->out);
  return n;
}

/// Reads every node's stdout until pred() holds or the deadline passes.
template <class Pred>
bool pump_until(std::vector<std::unique_ptr<Node>>& nodes, Pred pred, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!pred()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    std::vector<pollfd> fds;
    std::vector<Node*> owners;
    for (auto& n : nodes) {
      if (n->out < 0) continue;
      fds.push_back({n->out, POLLIN, 0});
      owners.push_back(n.get());
    }
    if (fds.empty()) return pred();
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::min<long>(left.count(), 100))) <= 0)
      continue;
    const auto at = Clock::now();
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Node& n = *owners[i];
      char buf[8192];
      const ssize_t got = ::read(n.out, buf, sizeof buf);
      if (got <= 0) {
        ::close(n.out);
        n.out = -1;
        continue;
      }
      n.partial.append(buf, static_cast<size_t>(got));
      for (size_t nl; (nl = n.partial.find('\n')) != std::string::npos;) {
        n.lines.emplace_back(at, n.partial.substr(0, nl));
        n.partial.erase(0, nl + 1);
      }
    }
  }
  return true;
}

/// When node n had printed `member joined` for every name in others (nullopt: not yet).
std::optional<Clock::time_point> joined_all_at(const Node& n,
                                               const std::vector<std::string>& others) {
  Clock::time_point last{};
  for (const auto& o : others) {
    auto t = n.find("member joined " + o + " ");
    if (!t) return std::nullopt;
    last = std::max(last, *t);
  }
  return last;
}

/// Says which node lacked which `member joined` lines, what that node's own member list says
/// (a member it knows but never printed as joined is a lost line, not a lost member) and its
/// last lines.
void explain_no_convergence(std::vector<std::unique_ptr<Node>>& nodes,
                            const std::vector<std::vector<std::string>>& others) {
  std::vector<size_t> lacking;
  std::vector<size_t> mark(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    mark[i] = nodes[i]->lines.size();
    if (joined_all_at(*nodes[i], others[i])) continue;
    lacking.push_back(i);
    ::kill(nodes[i]->pid, SIGUSR1);
  }
  pump_until(
      nodes,
      [&] {
        for (size_t i : lacking) {
          if (!nodes[i]->find("members ", mark[i])) return false;
        }
        return true;
      },
      5s);
  for (size_t i : lacking) {
    const Node& node = *nodes[i];
    std::cerr << "#   " << node.name << " printed no `member joined` for:";
    for (const auto& o : others[i]) {
      if (!node.find("member joined " + o + " ")) std::cerr << " " << o;
    }
    std::cerr << "\n";
    const size_t from = node.lines.size() > 12 ? node.lines.size() - 12 : 0;
    std::cerr << "#   its last lines (the `members` one is its own list, on SIGUSR1):\n";
    for (size_t k = from; k < node.lines.size(); ++k) {
      std::cerr << "#     " << node.lines[k].second << "\n";
    }
  }
}

struct Figures {
  std::vector<double> converge, failed_all, failed_each, first_suspect;
};

void emit(const std::string& figure, const std::string& note, std::vector<double> v) {
  if (v.empty()) return;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  std::printf("RESULT %s median=%.6g min=%.6g max=%.6g n=%zu unit=ms note=%s\n", figure.c_str(),
              median, v.front(), v.back(), n, note.c_str());
  std::fflush(stdout);
}

/// One repetition at size n; false (with the reason on stderr) when it did not complete.
bool run_once(const std::string& bin, size_t n, const std::vector<std::string>& extra, Figures& f,
              int rep) {
  std::vector<std::unique_ptr<Node>> nodes;
  const auto name = [](size_t i) { return "n" + std::to_string(i); };
  nodes.push_back(spawn(bin, name(1), extra));
  if (!pump_until(
          nodes, [&] { return nodes[0]->find("ready ").has_value(); }, 30s)) {
    std::cerr << "# node 1 did not become ready\n";
    return false;
  }
  std::string ready;
  for (const auto& [at, l] : nodes[0]->lines) {
    if (l.rfind("ready ", 0) == 0) ready = l;
  }
  const auto g = ready.find(" gossip=");
  if (g == std::string::npos) {
    std::cerr << "# node 1 does not gossip: " << ready << "\n";
    return false;
  }
  const std::string seed = "127.0.0.1:" + ready.substr(g + 8);
  std::vector<std::string> seeded = extra;
  seeded.insert(seeded.end(), {"--seeds", seed});
  const auto t0 = Clock::now();
  for (size_t i = 2; i <= n; ++i) {
    nodes.push_back(spawn(bin, name(i), seeded));
  }
  std::vector<std::vector<std::string>> others(n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (j != i) others[i].push_back(nodes[j]->full_name());
    }
  }
  const auto converged = [&] {
    for (size_t i = 0; i < n; ++i) {
      if (!joined_all_at(*nodes[i], others[i])) return false;
    }
    return true;
  };
  if (!pump_until(nodes, converged, 60s)) {
    std::cerr << "# N=" << n << " rep " << rep << ": no convergence within 60 s\n";
    explain_no_convergence(nodes, others);
    return false;
  }
  Clock::time_point last{};
  for (size_t i = 0; i < n; ++i) last = std::max(last, *joined_all_at(*nodes[i], others[i]));
  f.converge.push_back(ms_between(t0, last));

  // Cross-check each node's own member list, as the Serf script does with `serf members`.
  std::vector<size_t> mark(n);
  for (size_t i = 0; i < n; ++i) {
    mark[i] = nodes[i]->lines.size();
    ::kill(nodes[i]->pid, SIGUSR1);
  }
  const auto listed = [&] {
    for (size_t i = 0; i < n; ++i) {
      if (!nodes[i]->find("members ", mark[i])) return false;
    }
    return true;
  };
  if (!pump_until(nodes, listed, 10s)) {
    std::cerr << "# N=" << n << " rep " << rep << ": a node did not list its members\n";
    return false;
  }
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = mark[i]; k < nodes[i]->lines.size(); ++k) {
      const std::string& l = nodes[i]->lines[k].second;
      if (l.rfind("members ", 0) != 0) continue;
      size_t alive = 0;
      for (size_t p = 0; (p = l.find("=alive", p)) != std::string::npos; ++p) ++alive;
      if (alive != n) {
        std::cerr << "# N=" << n << " rep " << rep << ": " << nodes[i]->name << " lists " << alive
                  << " alive: " << l << "\n";
        return false;
      }
      break;
    }
  }

  // Settle 1 s (as the Serf script does), reading output meanwhile.
  pump_until(
      nodes, [] { return false; }, 1s);
  Node& victim = *nodes[n - 1];
  const std::string failed = "member failed " + victim.full_name() + " ";
  const std::string suspect = "member suspect " + victim.full_name() + " ";
  std::vector<size_t> from(n);
  for (size_t i = 0; i + 1 < n; ++i) from[i] = nodes[i]->lines.size();
  const auto tk = Clock::now();
  victim.kill_now();
  const auto detected = [&] {
    for (size_t i = 0; i + 1 < n; ++i) {
      if (!nodes[i]->find(failed, from[i])) return false;
    }
    return true;
  };
  if (!pump_until(nodes, detected, 60s)) {
    std::cerr << "# N=" << n << " rep " << rep << ": failure not detected by all within 60 s\n";
    return false;
  }
  double worst = 0;
  std::optional<double> first_suspect;
  for (size_t i = 0; i + 1 < n; ++i) {
    const double d = ms_between(tk, *nodes[i]->find(failed, from[i]));
    f.failed_each.push_back(d);
    worst = std::max(worst, d);
    if (auto s = nodes[i]->find(suspect, from[i])) {
      const double sd = ms_between(tk, *s);
      if (!first_suspect || sd < *first_suspect) first_suspect = sd;
    }
    // A failed event about anyone else would be a false positive.
    for (size_t k = 0; k < nodes[i]->lines.size(); ++k) {
      const std::string& l = nodes[i]->lines[k].second;
      if (l.rfind("member failed ", 0) == 0 && l.rfind(failed, 0) != 0) {
        std::cerr << "# warning: false positive on " << nodes[i]->name << ": " << l << "\n";
      }
    }
  }
  f.failed_all.push_back(worst);
  if (first_suspect) f.first_suspect.push_back(*first_suspect);
  std::cerr << "# otp N=" << n << " rep " << rep << ": converge " << f.converge.back()
            << " ms, all survivors marked failed after " << worst << " ms (first suspicion "
            << (first_suspect ? std::to_string(static_cast<int>(*first_suspect)) : "-") << " ms)\n";
  return true;  // the nodes are killed by PID (whole group) as `nodes` goes out of scope
}

/// $OTP_NODE_BIN, else the otp-node of this build (CMake passes its path).
std::string node_bin() {
  if (const char* b = std::getenv("OTP_NODE_BIN")) return b;
  return OTP_NODE_BIN;
}

}  // namespace

int main() {
  ::signal(SIGPIPE, SIG_IGN);
  const std::string bin = node_bin();
  std::vector<size_t> sizes;
  {
    std::istringstream in(std::getenv("OTP_SWIM_SIZES") ? std::getenv("OTP_SWIM_SIZES") : "5 10");
    for (size_t s; in >> s;) {
      if (s >= 3) sizes.push_back(s);
    }
  }
  const int reps = std::getenv("OTP_SWIM_REPS") ? std::atoi(std::getenv("OTP_SWIM_REPS")) : 5;
  std::vector<std::string> extra;
  if (const char* a = std::getenv("OTP_SWIM_NODE_ARGS")) {
    std::istringstream in(a);
    for (std::string w; in >> w;) extra.push_back(w);
  }
  std::cerr << "# otp-swim-bench: " << bin << ", sizes";
  for (auto s : sizes) std::cerr << " " << s;
  std::cerr << ", " << reps << " repetitions\n";
  int failures = 0;
  for (size_t n : sizes) {
    Figures f;
    for (int r = 1; r <= reps; ++r) {
      try {
        if (!run_once(bin, n, extra, f, r)) ++failures;
      } catch (const std::exception& e) {
        std::cerr << "# N=" << n << " rep " << r << ": " << e.what() << "\n";
        ++failures;
      }
    }
    const std::string p = "otp.swim.n" + std::to_string(n) + ".";
    emit(
        p + "converge_ms",
        "launch_of_joiners_until_all_" + std::to_string(n) + "_see_" + std::to_string(n) + "_alive",
        f.converge);
    emit(p + "first_suspect_ms", "kill9_until_first_suspect_event", f.first_suspect);
    emit(p + "failed_per_survivor_ms", "kill9_until_member_failed_pooled_survivors", f.failed_each);
    emit(p + "failed_all_survivors_ms", "kill9_until_last_survivor_member_failed", f.failed_all);
  }
  return failures == 0 ? 0 : 1;
}
