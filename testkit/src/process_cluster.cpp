#include "otp/testkit/process_cluster.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace otp::testkit {

using Clock = std::chrono::steady_clock;

struct ProcessCluster::Node {
  std::string name;        // "n1"
  std::string host;        // what it advertises: an IP, or a host name (host_names)
  std::string ip;          // its host's address (changes with change_address)
  int lab_host = 0;        // with netns: the lab host it runs on (1-based)
  bool owns_host = false;  // with netns: the first node of its lab host (fixed ports, 0.0.0.0)
  std::vector<std::string> args;  // its own flags, after the cluster's
  uint16_t port = 0;              // transport; 0 until the first run printed it
  uint16_t gossip_port = 0;       // likewise
  std::unique_ptr<ChildProcess> process;
  std::string earlier_runs;  // output of the runs before a restart, for logs()
  bool running = false;
  bool paused = false;
  /// The faults the kit set on this node, by peer: sent again after a restart or a pause.
  std::map<size_t, otp::cluster::LinkFault> faults;
  bool faults_unsent = false;  // changed while paused
};

namespace {

std::chrono::milliseconds left_until(Clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
}

/// How long an await's question to a node may take: what is left of the await, but at least a
/// few seconds, so the last check before the deadline still gets its answer (a running node
/// answers in milliseconds) and the AwaitError says what the node saw, not that it was silent.
std::chrono::milliseconds ask_timeout(Clock::time_point deadline) {
  return std::max(left_until(deadline), std::chrono::milliseconds(5000));
}

/// "words  like  this" -> "words like this": how the node echoes a command in its answer.
std::string normalized(const std::string& command) {
  std::istringstream in(command);
  std::string text;
  for (std::string w; in >> w;) text += (text.empty() ? "" : " ") + w;
  return text;
}

/// "<prefix><count> key=value ..." -> key -> value.
std::map<std::string, std::string> listed(const std::string& line) {
  std::istringstream in(line);
  std::string word, count;
  in >> word >> count;
  std::map<std::string, std::string> items;
  for (std::string item; in >> item;) {
    const auto eq = item.find('=');
    items[item.substr(0, eq)] = eq == std::string::npos ? "" : item.substr(eq + 1);
  }
  return items;
}

/// The value after " key=" in a ready line; 0 when absent.
uint16_t port_in(const std::string& ready, const std::string& key) {
  const auto at = ready.find(" " + key + "=");
  if (at == std::string::npos) return 0;
  return static_cast<uint16_t>(std::stoi(ready.substr(at + key.size() + 2)));
}

}  // namespace

ProcessCluster::ProcessCluster(ProcessClusterOptions options) : options_(std::move(options)) {
  if (options_.program.empty()) throw std::invalid_argument("ProcessCluster: no program given");
  if (options_.nodes == 0) throw std::invalid_argument("ProcessCluster: no nodes");
  if (options_.host_names && !options_.netns) {
    throw std::invalid_argument("ProcessCluster: host_names needs netns (a lab's /etc/hosts)");
  }
  if (options_.netns) {
    if (auto why = NetnsLab::unavailable()) {
      throw std::runtime_error("ProcessCluster: no netns lab here: " + *why);
    }
    lab_ = std::make_unique<NetnsLab>(static_cast<int>(options_.nodes));
  }
  for (size_t i = 0; i < options_.nodes; ++i) {
    auto n = std::make_unique<Node>();
    n->name = options_.prefix + std::to_string(i + 1);
    n->ip = "127.0.0.1";
    if (lab_) {
      // Every node on a host of its own, listening on every interface with fixed ports, as in a
      // real deployment (and so its sockets outlive an address change).
      n->lab_host = static_cast<int>(i + 1);
      n->ip = NetnsLab::ip(n->lab_host);
      n->owns_host = true;
      n->port = 7001;
      n->gossip_port = 7101;
    }
    n->host = options_.host_names ? "otp-h" + std::to_string(n->lab_host) : n->ip;
    if (options_.node_args) n->args = options_.node_args(i);
    nodes_.push_back(std::move(n));
  }
  if (options_.host_names) write_hosts_files();
  start(0, {});
  for (size_t i = 1; i < nodes_.size(); ++i) {
    start(i,
          options_.join ? std::vector<std::string>{gossip_address(0)} : std::vector<std::string>{});
  }
}

ProcessCluster::~ProcessCluster() {
  nodes_.clear();  // every process group killed and reaped, before the lab goes
}

std::string ProcessCluster::name(size_t i) const {
  return nodes_.at(i)->name + "@" + nodes_.at(i)->host;
}

std::string ProcessCluster::host(size_t i) const {
  return nodes_.at(i)->host;
}

// Addresses by host name when the nodes advertise names (resolved through the lab's hosts files,
// so they follow change_address), by the host's current IP otherwise.
std::string ProcessCluster::gossip_address(size_t i) const {
  const Node& n = *nodes_.at(i);
  return (options_.host_names ? n.host : n.ip) + ":" + std::to_string(n.gossip_port);
}

std::string ProcessCluster::data_address(size_t i) const {
  const Node& n = *nodes_.at(i);
  return (options_.host_names ? n.host : n.ip) + ":" + std::to_string(n.port);
}

uint16_t ProcessCluster::port(size_t i) const {
  return nodes_.at(i)->port;
}

ChildProcess& ProcessCluster::process(size_t i) {
  return *nodes_.at(i)->process;
}

pid_t ProcessCluster::pid(size_t i) const {
  return nodes_.at(i)->process->pid();
}

bool ProcessCluster::running(size_t i) const {
  return nodes_.at(i)->running;
}

void ProcessCluster::start(size_t i, const std::vector<std::string>& seeds) {
  Node& n = *nodes_.at(i);
  const std::string listen = n.owns_host ? "0.0.0.0" : n.ip;
  std::vector<std::string> argv = {options_.program,
                                   "--name",
                                   n.name,
                                   "--host",
                                   n.host,
                                   "--listen",
                                   listen + ":" + std::to_string(n.port),
                                   "--cookie",
                                   options_.cookie,
                                   "--threads",
                                   "1",
                                   "--max-seconds",
                                   std::to_string(options_.max_seconds),
                                   "--control-stdin"};
  if (options_.gossip) {
    argv.insert(argv.end(), {"--gossip", listen + ":" + std::to_string(n.gossip_port)});
    std::string seed_list;
    for (const auto& s : seeds) seed_list += (seed_list.empty() ? "" : ",") + s;
    if (!seed_list.empty()) argv.insert(argv.end(), {"--seeds", seed_list});
  }
  argv.insert(argv.end(), options_.args.begin(), options_.args.end());
  argv.insert(argv.end(), n.args.begin(), n.args.end());
  if (lab_) argv = lab_->exec(n.lab_host, argv);
  if (n.process) {
    n.earlier_runs +=
        all_lines(*n.process) + "  stderr:\n" + n.process->stderr_text() + "  -- restarted --\n";
  }
  n.process.reset();  // the old run's group is killed before the new one binds its ports
  n.process = std::make_unique<ChildProcess>(argv, ChildOptions{.writable_stdin = true});
  n.running = true;
  n.paused = false;
  auto ready = n.process->wait_line("ready ", options_.start_timeout);
  if (!ready) {
    throw std::runtime_error("ProcessCluster: " + name(i) + " did not start:\n" +
                             all_lines(*n.process) + "stderr:\n" + n.process->stderr_text());
  }
  n.port = port_in(*ready, "port");
  n.gossip_port = port_in(*ready, "gossip");
  if (options_.gossip && n.gossip_port == 0) {
    throw std::runtime_error("ProcessCluster: " + name(i) + " runs no gossip: " + *ready);
  }
}

std::vector<std::string> ProcessCluster::running_seeds(size_t except) const {
  std::vector<std::string> seeds;
  for (size_t j = 0; j < nodes_.size(); ++j) {
    if (j != except && nodes_[j]->running) seeds.push_back(gossip_address(j));
  }
  return seeds;
}

// -- faults
// ----------------------------------------------------------------------------------------

void ProcessCluster::kill(size_t i) {
  Node& n = *nodes_.at(i);
  if (n.process) n.process->kill_now();
  n.running = false;
  n.paused = false;
}

void ProcessCluster::pause(size_t i) {
  Node& n = *nodes_.at(i);
  if (!n.running) return;
  ::kill(-n.process->pid(), SIGSTOP);
  // The signal is asynchronous: wait until the process is stopped, so that it answers nothing
  // after pause() returned. WNOWAIT: the child stays to be reaped by its ChildProcess.
  siginfo_t info{};
  ::waitid(P_PID, static_cast<id_t>(n.process->pid()), &info, WSTOPPED | WNOWAIT);
  n.paused = true;
}

void ProcessCluster::resume(size_t i) {
  Node& n = *nodes_.at(i);
  if (!n.running) return;
  ::kill(-n.process->pid(), SIGCONT);
  n.paused = false;
  if (n.faults_unsent) send_faults(i);
}

void ProcessCluster::restart(size_t i) {
  kill(i);
  start(i, running_seeds(i));
  if (!nodes_[i]->faults.empty()) send_faults(i);
}

bool ProcessCluster::stop(size_t i, std::chrono::milliseconds timeout) {
  Node& n = *nodes_.at(i);
  if (!n.running) return true;
  if (n.paused) resume(i);
  n.process->signal(SIGTERM);
  const auto deadline = Clock::now() + timeout;
  bool exited = false;
  while (!exited && left_until(deadline).count() > 0) {
    exited = !n.process->read_some(std::min(left_until(deadline), std::chrono::milliseconds(200)));
  }
  n.process->kill_now();  // reaps it; kills it if it did not exit in time
  n.running = false;
  return exited;
}

size_t ProcessCluster::add_node(AddedNode added) {
  const size_t i = nodes_.size();
  auto n = std::make_unique<Node>();
  n->name = added.name.empty() ? options_.prefix + std::to_string(i + 1) : added.name;
  n->ip = "127.0.0.1";
  if (lab_) {
    if (!added.beside || *added.beside >= nodes_.size()) {
      throw std::invalid_argument(
          "ProcessCluster::add_node: with netns, say which node's host "
          "the new node runs on (beside)");
    }
    n->lab_host = nodes_[*added.beside]->lab_host;
    n->ip = nodes_[*added.beside]->ip;
  }
  n->host = options_.host_names ? "otp-h" + std::to_string(n->lab_host) : n->ip;
  n->args = std::move(added.args);
  std::vector<std::string> seeds;
  for (size_t s : added.seeds) seeds.push_back(gossip_address(s));
  nodes_.push_back(std::move(n));
  start(i, seeds);
  return i;
}

void ProcessCluster::change_address(size_t i, const std::string& new_ip) {
  if (!lab_) throw std::logic_error("ProcessCluster::change_address needs netns");
  const int lab_host = nodes_.at(i)->lab_host;
  lab_->change_address(lab_host, new_ip);
  for (auto& n : nodes_) {
    if (n->lab_host == lab_host) n->ip = new_ip;
  }
  if (options_.host_names) write_hosts_files();
}

void ProcessCluster::write_hosts_files() {
  std::map<int, std::string> ips;  // lab host -> its address now
  for (const auto& n : nodes_) ips[n->lab_host] = n->ip;
  std::string text = "127.0.0.1 localhost\n";
  for (const auto& [h, ip] : ips) text += ip + " otp-h" + std::to_string(h) + "\n";
  for (const auto& [h, ip] : ips) lab_->set_hosts(h, text);
}

std::string ProcessCluster::fault_command(size_t peer, const otp::cluster::LinkFault& f) const {
  return "fault set " + name(peer) + " drop=" + std::to_string(f.drop) +
         " delay_ms=" + std::to_string(f.delay.count());
}

void ProcessCluster::set_fault(size_t on, size_t peer,
                               const std::function<void(otp::cluster::LinkFault&)>& change) {
  Node& n = *nodes_.at(on);
  change(n.faults[peer]);
  if (!n.running) return;  // set when it restarts
  if (n.paused) {
    n.faults_unsent = true;  // set, and acknowledged, when it resumes
    return;
  }
  ask(on, fault_command(peer, n.faults[peer]));
}

void ProcessCluster::send_faults(size_t i) {
  Node& n = *nodes_.at(i);
  ask(i, "fault clear-all");
  for (const auto& [peer, f] : n.faults) ask(i, fault_command(peer, f));
  n.faults_unsent = false;
}

void ProcessCluster::iptables_cut(size_t on, const std::vector<size_t>& others) {
  std::string list;
  for (size_t o : others) {
    if (nodes_[o]->lab_host != nodes_[on]->lab_host)
      list += (list.empty() ? "" : ",") + nodes_[o]->ip;
  }
  if (list.empty()) return;
  lab_->iptables(nodes_[on]->lab_host, {"-A", "INPUT", "-s", list, "-j", "DROP"});
}

void ProcessCluster::partition(const std::vector<std::vector<size_t>>& sides) {
  for (size_t s = 0; s < sides.size(); ++s) {
    std::vector<size_t> others;
    for (size_t t = 0; t < sides.size(); ++t) {
      if (t != s) others.insert(others.end(), sides[t].begin(), sides[t].end());
    }
    if (others.empty()) continue;
    for (size_t x : sides[s]) {
      if (lab_) {
        iptables_cut(x, others);
      } else {
        for (size_t y : others) set_fault(x, y, [](otp::cluster::LinkFault& f) { f.drop = 1; });
      }
    }
  }
}

void ProcessCluster::heal() {
  if (lab_) {
    for (int h = 1; h <= static_cast<int>(options_.nodes); ++h) lab_->iptables(h, {"-F"});
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node& n = *nodes_[i];
    n.faults.clear();
    if (!n.running) continue;
    if (n.paused) {
      n.faults_unsent = true;
    } else {
      ask(i, "fault clear-all");
    }
  }
}

void ProcessCluster::drop(size_t a, size_t b, double fraction) {
  set_fault(a, b, [&](otp::cluster::LinkFault& f) { f.drop = fraction; });
  set_fault(b, a, [&](otp::cluster::LinkFault& f) { f.drop = fraction; });
}

void ProcessCluster::slow(size_t a, size_t b, std::chrono::milliseconds delay) {
  set_fault(a, b, [&](otp::cluster::LinkFault& f) { f.delay = delay; });
  set_fault(b, a, [&](otp::cluster::LinkFault& f) { f.delay = delay; });
}

// -- asking a node
// ---------------------------------------------------------------------------------

std::vector<std::string> ProcessCluster::ask(size_t i, const std::string& command,
                                             std::chrono::milliseconds timeout) {
  Node& n = *nodes_.at(i);
  const std::string echoed = normalized(command);
  if (!n.running) throw AwaitError(name(i) + " is not running: can not ask it " + echoed);
  const size_t from = n.process->lines().size();
  if (!n.process->write_line(command)) {
    throw AwaitError(name(i) + " does not read its control channel (ended?): " + echoed);
  }
  const auto deadline = Clock::now() + timeout;
  const std::string ok = "control ok " + echoed;
  const std::string error = "control error " + echoed + ":";
  for (;;) {
    const auto& lines = n.process->lines();
    for (size_t k = from; k < lines.size(); ++k) {
      if (lines[k].rfind(error, 0) == 0) throw AwaitError(name(i) + ": " + lines[k]);
      if (lines[k] != ok) continue;
      // The answer's own lines start with the command's first word ("members 3 ...").
      const std::string word = echoed.substr(0, echoed.find(' ')) + " ";
      std::vector<std::string> answer;
      for (size_t a = from; a < k; ++a) {
        if (lines[a].rfind(word, 0) == 0) answer.push_back(lines[a]);
      }
      answer.push_back(lines[k]);
      return answer;
    }
    const auto left = left_until(deadline);
    if (left.count() == 0) {
      throw AwaitError(name(i) + " did not answer '" + echoed + "' within " +
                       std::to_string(timeout.count()) + " ms" +
                       (n.paused ? " (it is paused)" : ""));
    }
    if (!n.process->read_some(std::min(left, std::chrono::milliseconds(100)))) {
      throw AwaitError(name(i) + " ended before it answered '" + echoed + "'");
    }
  }
}

std::map<std::string, std::string> ProcessCluster::members(size_t i,
                                                           std::chrono::milliseconds timeout) {
  return listed(ask(i, "members", timeout).front());
}

std::map<std::string, std::string> ProcessCluster::globals(size_t i,
                                                           std::chrono::milliseconds timeout) {
  return listed(ask(i, "globals", timeout).front());
}

std::vector<std::string> ProcessCluster::linked_nodes(size_t i, std::chrono::milliseconds timeout) {
  std::vector<std::string> names;
  for (const auto& [node, nothing] : listed(ask(i, "nodes", timeout).front())) {
    names.push_back(node);
  }
  return names;
}

std::map<std::string, otp::cluster::LinkFault> ProcessCluster::faults(
    size_t i, std::chrono::milliseconds timeout) {
  std::map<std::string, otp::cluster::LinkFault> set;
  for (const auto& [peer, settings] : listed(ask(i, "faults", timeout).front())) {
    // "drop:<fraction>,delay_ms:<n>"
    otp::cluster::LinkFault& f = set[peer];
    f.drop = std::stod(settings.substr(settings.find(':') + 1));  // stops at the comma
    f.delay = std::chrono::milliseconds(std::stol(settings.substr(settings.rfind(':') + 1)));
  }
  return set;
}

// -- awaits
// ----------------------------------------------------------------------------------------

void ProcessCluster::await_members(size_t alive, std::chrono::milliseconds timeout) {
  std::vector<size_t> all;
  for (size_t i = 0; i < nodes_.size(); ++i) all.push_back(i);
  await_members(alive, all, timeout);
}

namespace {

/// Polls `check` (which returns "" when satisfied, else what it saw) until it is satisfied or
/// the deadline passes; between tries it waits on the nodes' output, not a sleep of its own.
void poll_until(const std::function<std::string(Clock::time_point)>& check,
                const std::function<void(std::chrono::milliseconds)>& wait,
                std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    std::string seen;
    try {
      seen = check(deadline);
    } catch (const AwaitError& e) {
      seen = e.what();
    }
    if (seen.empty()) return;
    const auto left = left_until(deadline);
    if (left.count() == 0) throw AwaitError(seen);
    wait(std::min(left, std::chrono::milliseconds(100)));
  }
}

}  // namespace

void ProcessCluster::await_members(size_t alive, const std::vector<size_t>& on,
                                   std::chrono::milliseconds timeout) {
  poll_until(
      [&](Clock::time_point deadline) -> std::string {
        for (size_t i : on) {
          if (!nodes_.at(i)->running || nodes_[i]->paused) continue;
          const auto seen = members(i, ask_timeout(deadline));
          size_t count = 0;
          std::string states;
          for (const auto& [member, state] : seen) {
            if (state == "alive") ++count;
            states += (states.empty() ? "" : ", ") + member + " " + state;
          }
          if (count != alive) {
            return nodes_[i]->name + " sees " + std::to_string(count) + " alive members, wanted " +
                   std::to_string(alive) + ": " + states;
          }
        }
        return "";
      },
      [&](std::chrono::milliseconds d) { process(on.front()).read_some(d); }, timeout);
}

void ProcessCluster::await_global_name(const std::string& global, size_t owner,
                                       std::chrono::milliseconds timeout) {
  // Pids are written <name@host.N.0>: the owner's node is what precedes ".N.0>".
  const std::string owner_prefix = "<" + name(owner) + ".";
  poll_until(
      [&](Clock::time_point deadline) -> std::string {
        for (size_t i = 0; i < nodes_.size(); ++i) {
          if (!nodes_[i]->running || nodes_[i]->paused) continue;
          const auto names = globals(i, ask_timeout(deadline));
          auto it = names.find(global);
          if (it == names.end()) {
            return nodes_[i]->name + " holds no global name " + global + " (it holds " +
                   std::to_string(names.size()) + " names)";
          }
          if (it->second.rfind(owner_prefix, 0) != 0) {
            return nodes_[i]->name + " holds " + global + " as " + it->second +
                   ", wanted a pid of " + name(owner);
          }
        }
        return "";
      },
      [&](std::chrono::milliseconds d) { process(owner).read_some(d); }, timeout);
}

void ProcessCluster::await_nodedown(size_t observer, size_t target,
                                    std::chrono::milliseconds timeout) {
  poll_until(
      [&](Clock::time_point deadline) -> std::string {
        const auto linked = linked_nodes(observer, ask_timeout(deadline));
        if (std::find(linked.begin(), linked.end(), name(target)) == linked.end()) return "";
        return nodes_[observer]->name + " is still linked to " + name(target);
      },
      [&](std::chrono::milliseconds d) { process(observer).read_some(d); }, timeout);
}

void ProcessCluster::await_line(size_t i, const std::string& prefix,
                                std::chrono::milliseconds timeout, size_t from) {
  if (!wait_for_line(process(i), prefix, Clock::now() + timeout, from)) {
    throw AwaitError(nodes_[i]->name + " printed no line starting with '" + prefix + "'");
  }
}

std::string ProcessCluster::log(size_t i) const {
  const Node& n = *nodes_.at(i);
  std::string text =
      "-- " + name(i) + (n.running ? (n.paused ? " (paused)" : "") : " (not running)") + ":\n";
  text += n.earlier_runs;
  if (n.process) text += all_lines(*n.process) + "  stderr:\n" + n.process->stderr_text();
  return text;
}

std::string ProcessCluster::logs() const {
  std::string text;
  for (size_t i = 0; i < nodes_.size(); ++i) text += log(i);
  return text;
}

}  // namespace otp::testkit
