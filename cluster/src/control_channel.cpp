#include "otp/cluster/control_channel.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "otp/distributed.hpp"

namespace otp::cluster {

namespace {

std::vector<std::string> words_of(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

/// "key=value" -> value as a number; throws std::invalid_argument naming the item.
double number_after(const std::string& item, const std::string& key) {
  size_t used = 0;
  const std::string text = item.substr(key.size() + 1);
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size()) throw std::invalid_argument("bad number in " + item);
  return v;
}

}  // namespace

ControlCommands::ControlCommands(otp::Node& node, Cluster& cluster,
                                 std::shared_ptr<FaultInjector> faults)
    : node_(node), cluster_(cluster), faults_(std::move(faults)) {}

std::vector<std::string> ControlCommands::answer(const std::string& line) {
  const auto words = words_of(line);
  std::string command;
  for (const auto& w : words) command += (command.empty() ? "" : " ") + w;
  if (words.empty()) return {"control error : empty command"};
  const std::string& verb = words[0];
  if (verb == "fault") {
    const std::string why = fault(words);
    if (!why.empty()) return {"control error " + command + ": " + why};
    return {"control ok " + command};
  }
  if (words.size() != 1) return {"control error " + command + ": " + verb + " takes no argument"};
  if (verb == "members") return {members_line(cluster_.members()), "control ok members"};
  if (verb == "globals") return {globals_line(node_), "control ok globals"};
  if (verb == "faults") {
    const auto set = faults_ ? faults_->all() : std::map<std::string, LinkFault>{};
    std::ostringstream text;
    text << "faults " << set.size();
    for (const auto& [peer, f] : set) {
      text << " " << peer << "=drop:" << f.drop << ",delay_ms:" << f.delay.count();
    }
    return {text.str(), "control ok faults"};
  }
  if (verb == "nodes") {
    auto nodes = otp::distribution::nodes(node_);
    std::sort(nodes.begin(), nodes.end());
    std::string text = "nodes " + std::to_string(nodes.size());
    for (const auto& n : nodes) text += " " + n;
    return {text, "control ok nodes"};
  }
  return {"control error " + command +
          ": unknown command (fault, faults, members, nodes, globals)"};
}

/// Applies a fault command; "" when done, else why not.
std::string ControlCommands::fault(const std::vector<std::string>& words) {
  if (!faults_) return "this node runs without a fault injector";
  if (words.size() == 2 && words[1] == "clear-all") {
    faults_->clear_all();
    return "";
  }
  if (words.size() == 3 && words[1] == "clear") {
    faults_->clear(words[2]);
    return "";
  }
  if (words.size() >= 3 && words[1] == "set") {
    LinkFault f;
    try {
      for (size_t i = 3; i < words.size(); ++i) {
        const auto& item = words[i];
        if (item.rfind("drop=", 0) == 0) {
          f.drop = number_after(item, "drop");
          if (f.drop < 0 || f.drop > 1) return "drop must be within 0..1, got " + item;
        } else if (item.rfind("delay_ms=", 0) == 0) {
          const double ms = number_after(item, "delay_ms");
          if (ms < 0) return "delay_ms must be >= 0, got " + item;
          f.delay = std::chrono::milliseconds(static_cast<long>(ms));
        } else {
          return "unknown fault setting " + item + " (drop=, delay_ms=)";
        }
      }
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    faults_->set(words[2], f);
    return "";
  }
  return "usage: fault set <name@host> [drop=<0..1>] [delay_ms=<n>] | fault clear <name@host> | "
         "fault clear-all";
}

ControlChannel::ControlChannel(ControlCommands& commands,
                               std::function<void(const std::string&)> print,
                               std::function<void()> on_end)
    : commands_(commands), print_(std::move(print)), on_end_(std::move(on_end)) {
  thread_ = std::thread([this] { run(); });
}

ControlChannel::~ControlChannel() {
  stop_ = true;
  thread_.join();
}

void ControlChannel::run() {
  std::string partial;
  while (!stop_) {
    // Wakes every 100 ms to notice stop_: a blocking read could not be interrupted.
    pollfd p{0, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[1024];
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n <= 0) {
      if (on_end_) on_end_();
      return;
    }
    partial.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
      const std::string line = partial.substr(0, nl);
      partial.erase(0, nl + 1);
      for (const auto& answer : commands_.answer(line)) print_(answer);
    }
  }
}

std::string members_line(const std::vector<otp::membership::Member>& members) {
  std::vector<std::string> items;
  for (const auto& m : members) {
    items.push_back(m.id.full_name() + "=" + otp::membership::to_string(m.state));
  }
  std::sort(items.begin(), items.end());
  std::string line = "members " + std::to_string(items.size());
  for (const auto& i : items) line += " " + i;
  return line;
}

std::string member_event_line(const otp::membership::Event& e) {
  const auto& m = e.member;
  return std::string("member ") + otp::membership::to_string(e.kind) + " " + m.id.full_name() +
         " inc=" + std::to_string(m.incarnation) + " gossip=" + m.gossip.to_string() +
         " data=" + m.meta.data.to_string();
}

std::string pid_text(otp::Node& node, const otp::Pid& p) {
  if (p.remote()) return p.to_string();
  return "<" + otp::distribution::node_of(node, p) + "." + std::to_string(p.id()) + ".0>";
}

std::string globals_line(otp::Node& node) {
  std::string line;
  size_t count = 0;
  for (const auto& name : otp::global::registered_names(node)) {
    auto owner = otp::global::whereis_name(node, name);
    if (!owner) continue;  // unregistered since the list was taken
    line += " " + name + "=" + pid_text(node, *owner);
    ++count;
  }
  return "globals " + std::to_string(count) + line;
}

}  // namespace otp::cluster
