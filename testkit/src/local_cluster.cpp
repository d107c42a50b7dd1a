#include "otp/testkit/local_cluster.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "otp/distribution.hpp"
#include "otp/gen_server.hpp"
#include "otp/global.hpp"

namespace otp::testkit {

namespace {

/// A process on each node that wakes the kit's awaits on node up / down and global name changes
/// (it only notifies: never blocks its scheduler thread).
class Watcher : public otp::GenServer {
 public:
  explicit Watcher(std::shared_ptr<Signal> changes) : changes_(std::move(changes)) {}
  otp::Action handle_info(const otp::Message&) override {
    changes_->notify();
    return otp::noreply();
  }

 private:
  std::shared_ptr<Signal> changes_;
};

std::string fault_text(const otp::cluster::LinkFault& f) {
  if (f.cut()) return "cut";
  std::string s;
  if (f.drop > 0) s += "drop " + std::to_string(static_cast<int>(f.drop * 100 + 0.5)) + "%";
  if (f.delay.count() > 0) {
    if (!s.empty()) s += " ";
    s += "delay " + std::to_string(f.delay.count()) + " ms";
  }
  return s;
}

}  // namespace

struct LocalCluster::Slot {
  std::unique_ptr<otp::Node> node;
  std::unique_ptr<otp::cluster::Cluster> cluster;
  std::shared_ptr<otp::cluster::FaultInjector> faults =
      std::make_shared<otp::cluster::FaultInjector>();
  std::string name;      // "n1@127.0.0.1"
  bool stopped = false;  // stop(): the Node runs on, its Cluster is stopped
};

LocalCluster::LocalCluster(LocalClusterOptions options)
    : options_(std::move(options)), changes_(std::make_shared<Signal>()) {
  if (options_.nodes == 0) throw std::invalid_argument("LocalCluster: nodes must be at least 1");
  faults_.assign(options_.nodes, std::vector<otp::cluster::LinkFault>(options_.nodes));
  for (size_t i = 0; i < options_.nodes; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->name = options_.prefix + std::to_string(i + 1) + "@127.0.0.1";
    slots_.push_back(std::move(slot));
  }
  try {
    for (size_t i = 0; i < options_.nodes; ++i) start_node(i);
    if (options_.await_start) await_members(options_.nodes, options_.start_timeout);
  } catch (...) {
    for (auto& s : slots_) {
      if (s->cluster) s->cluster->stop();
    }
    throw;
  }
}

LocalCluster::~LocalCluster() {
  // Leave first (every node at once would be faster, but stop() blocks on its own leave).
  for (auto& s : slots_) {
    if (s->cluster) s->cluster->stop();
  }
  for (auto& s : slots_) discard(*s);
}

void LocalCluster::discard(Slot& slot) {
  // The Node goes first: a service of it may hold the (stopped) Cluster, as the counter standby
  // does, until its processes are gone. A stopped Cluster outlives its Node safely.
  slot.node.reset();
  slot.cluster.reset();
  slot.stopped = false;
}

void LocalCluster::start_node(size_t i) {
  Slot& slot = *slots_[i];
  const std::string short_name = options_.prefix + std::to_string(i + 1);
  otp::NodeOptions node_options;
  node_options.name = short_name;
  node_options.scheduler_threads = options_.scheduler_threads;
  node_options.log_crashes = options_.verbose;
  slot.node = std::make_unique<otp::Node>(node_options);

  otp::cluster::ClusterOptions config{.name = short_name, .cookie = options_.cookie};
  std::vector<std::string> seeds;
  for (size_t j = 0; j < slots_.size(); ++j) {
    if (j != i && alive(j)) {
      seeds.push_back("127.0.0.1:" + std::to_string(*slots_[j]->cluster->gossip_port()));
    }
  }
  config.gossip = otp::cluster::GossipOptions{.seeds = seeds};
  // A healed partition's failed members are probed again this often (the default, 5 s, is for
  // real networks); the leave of a stopped node gets this long.
  config.gossip->membership.reconnect_interval = std::chrono::milliseconds(1000);
  config.gossip->leave_timeout = std::chrono::milliseconds(1000);
  config.faults = slot.faults;
  if (!options_.verbose) config.transport.log = [](std::string_view, std::string_view) {};
  config.on_member_event = [changes = changes_](const otp::membership::Event&) {
    changes->notify();
  };
  if (options_.configure) options_.configure(config, i);
  apply_faults(i);

  auto started = otp::cluster::Cluster::start(*slot.node, config);
  if (!started) {
    slot.node.reset();
    throw std::runtime_error("LocalCluster: node " + slot.name +
                             " did not start: " + started.error().to_string());
  }
  slot.cluster = std::move(started).value();
  auto watcher = otp::gen_server::start<Watcher>(*slot.node, changes_);
  if (watcher) {
    otp::distribution::monitor_nodes(*slot.node, *watcher);
    otp::global::monitor_names(*slot.node, *watcher);
  }
  changes_->notify();
  if (options_.setup) options_.setup(*slot.node, i);
}

size_t LocalCluster::size() const {
  return slots_.size();
}

LocalCluster::Slot& LocalCluster::live(size_t i) {
  if (i >= slots_.size()) throw std::out_of_range("LocalCluster: no node " + std::to_string(i));
  if (!slots_[i]->node) {
    throw std::logic_error("LocalCluster: node " + slots_[i]->name + " is killed");
  }
  return *slots_[i];
}

const LocalCluster::Slot& LocalCluster::live(size_t i) const {
  return const_cast<LocalCluster*>(this)->live(i);
}

otp::Node& LocalCluster::node(size_t i) {
  return *live(i).node;
}

otp::cluster::Cluster& LocalCluster::cluster(size_t i) {
  return *live(i).cluster;
}

std::string LocalCluster::name(size_t i) const {
  if (i >= slots_.size()) throw std::out_of_range("LocalCluster: no node " + std::to_string(i));
  return slots_[i]->name;
}

bool LocalCluster::alive(size_t i) const {
  return i < slots_.size() && slots_[i]->cluster != nullptr && !slots_[i]->stopped;
}

otp::cluster::FaultInjector& LocalCluster::faults(size_t i) {
  if (i >= slots_.size()) throw std::out_of_range("LocalCluster: no node " + std::to_string(i));
  return *slots_[i]->faults;
}

Signal& LocalCluster::changes() {
  return *changes_;
}

// -- faults -------------------------------------------------------------------------------------

void LocalCluster::apply_faults(size_t i) {
  auto& injector = *slots_[i]->faults;
  injector.clear_all();
  for (size_t j = 0; j < slots_.size(); ++j) {
    if (j != i) injector.set(slots_[j]->name, faults_[i][j]);
  }
}

void LocalCluster::set_pair(size_t a, size_t b,
                            const std::function<void(otp::cluster::LinkFault&)>& change) {
  if (a >= slots_.size() || b >= slots_.size() || a == b) {
    throw std::out_of_range("LocalCluster: no pair of nodes " + std::to_string(a) + ", " +
                            std::to_string(b));
  }
  change(faults_[a][b]);
  change(faults_[b][a]);
  slots_[a]->faults->set(slots_[b]->name, faults_[a][b]);
  slots_[b]->faults->set(slots_[a]->name, faults_[b][a]);
  changes_->notify();
}

void LocalCluster::partition(std::vector<std::vector<size_t>> sides) {
  for (size_t s = 0; s < sides.size(); ++s) {
    for (size_t t = s + 1; t < sides.size(); ++t) {
      for (size_t a : sides[s]) {
        for (size_t b : sides[t]) {
          set_pair(a, b, [](otp::cluster::LinkFault& f) { f.drop = 1.0; });
        }
      }
    }
  }
}

void LocalCluster::heal() {
  for (auto& row : faults_) std::fill(row.begin(), row.end(), otp::cluster::LinkFault{});
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i]->node) apply_faults(i);
  }
  changes_->notify();
}

void LocalCluster::drop(size_t a, size_t b, double fraction) {
  set_pair(a, b, [fraction](otp::cluster::LinkFault& f) { f.drop = fraction; });
}

void LocalCluster::slow(size_t a, size_t b, std::chrono::milliseconds delay) {
  set_pair(a, b, [delay](otp::cluster::LinkFault& f) { f.delay = delay; });
}

void LocalCluster::kill(size_t i) {
  name(i);  // throws for a node that does not exist
  Slot& slot = *slots_[i];
  if (!slot.node) return;
  // Cut off from everyone on its own side: its leave announcement never gets out, and stopping
  // closes its links (the others see their connections close, as after kill -9).
  for (size_t j = 0; j < slots_.size(); ++j) {
    if (j != i) slot.faults->set(slots_[j]->name, {.drop = 1.0});
  }
  slot.cluster->stop();
  discard(slot);
  changes_->notify();
}

void LocalCluster::stop(size_t i) {
  if (!alive(i)) {
    name(i);  // throws for a node that does not exist
    return;
  }
  Slot& slot = *slots_[i];
  slot.stopped = true;
  slot.cluster->stop();
  changes_->notify();
}

void LocalCluster::restart(size_t i) {
  if (alive(i)) {
    throw std::logic_error("LocalCluster: node " + slots_[i]->name +
                           " runs: kill or stop it first");
  }
  name(i);  // throws for a node that does not exist
  discard(*slots_[i]);
  start_node(i);
}

// -- awaits -------------------------------------------------------------------------------------

std::string LocalCluster::describe_members(size_t i) const {
  const Slot& slot = *slots_[i];
  const std::string me = options_.prefix + std::to_string(i + 1);
  if (!slot.node) return me + " killed";
  if (slot.stopped) return me + " stopped";
  std::string line = me + " sees";
  size_t alive = 0;
  std::string others;
  auto members = slot.cluster->members();
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return a.id.name < b.id.name; });
  for (const auto& m : members) {
    if (m.state == otp::membership::MemberState::alive) ++alive;
    if (m.id.full_name() == slot.name) continue;
    others += " " + m.id.name + " " + otp::membership::to_string(m.state) + ",";
  }
  line += " " + std::to_string(alive) + " alive:" + others;
  auto links = otp::distribution::nodes(*slot.node);
  std::sort(links.begin(), links.end());
  line += " linked to [";
  for (size_t k = 0; k < links.size(); ++k) line += (k ? " " : "") + links[k];
  line += "]";
  std::string faults;
  for (size_t j = 0; j < slots_.size(); ++j) {
    const auto f = slot.faults->get(slots_[j]->name);
    if (j != i && f != otp::cluster::LinkFault{}) {
      faults += " " + options_.prefix + std::to_string(j + 1) + " " + fault_text(f) + ",";
    }
  }
  if (!faults.empty()) {
    faults.pop_back();
    line += " faults:" + faults;
  }
  return line;
}

std::string LocalCluster::describe() const {
  std::string text;
  for (size_t i = 0; i < slots_.size(); ++i) text += (i ? "; " : "") + describe_members(i);
  return text;
}

void LocalCluster::await_members(size_t alive, std::chrono::milliseconds timeout) {
  std::vector<size_t> every(slots_.size());
  for (size_t i = 0; i < every.size(); ++i) every[i] = i;
  await_members_on(every, alive, timeout);
}

void LocalCluster::await_members_on(const std::vector<size_t>& nodes, size_t alive,
                                    std::chrono::milliseconds timeout) {
  for (size_t i : nodes) name(i);  // throws for a node that does not exist
  auto holds = [&](size_t i) {
    const Slot& slot = *slots_[i];
    auto links = otp::distribution::nodes(*slot.node);
    size_t count = 0;
    for (const auto& m : slot.cluster->members()) {
      if (m.state != otp::membership::MemberState::alive) continue;
      ++count;
      const std::string peer = m.id.full_name();
      if (peer != slot.name && std::find(links.begin(), links.end(), peer) == links.end()) {
        return false;  // alive but not (yet) linked
      }
    }
    return count == alive;
  };
  const bool every = nodes.size() == slots_.size();
  std::string where = "on every live node";
  if (!every) {
    where = "on";
    for (size_t i : nodes) where += " " + options_.prefix + std::to_string(i + 1);
  }
  changes_->await(
      [&] {
        for (size_t i : nodes) {
          if (this->alive(i) && !holds(i)) return false;
        }
        return true;
      },
      timeout, std::to_string(alive) + " alive members, all linked, " + where,
      [&] {
        std::string seen;
        for (size_t i : nodes) {
          if (!this->alive(i) || holds(i)) continue;
          seen += (seen.empty() ? "" : "; ") + describe_members(i);
        }
        return seen + " (wanted " + std::to_string(alive) + ")";
      });
}

std::string LocalCluster::owner_at(size_t i, const std::string& global_name) const {
  otp::Node& n = *slots_[i]->node;
  auto pid = otp::global::whereis_name(n, global_name);
  return pid ? otp::distribution::node_of(n, *pid) : std::string();
}

std::string LocalCluster::describe_owners(const std::string& global_name) const {
  std::string seen;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!alive(i)) continue;
    const std::string at = owner_at(i, global_name);
    seen += (seen.empty() ? "" : ", ") + options_.prefix + std::to_string(i + 1) + " sees " +
            (at.empty() ? "no owner" : "it on " + at);
  }
  return seen;
}

size_t LocalCluster::await_global_name(const std::string& global_name, std::optional<size_t> owner,
                                       std::chrono::milliseconds timeout) {
  std::string owner_name = owner ? name(*owner) : std::string();
  // Without an owner given: the one every live node agrees on (a node of the kit).
  auto agreed = [&] {
    std::string first;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (!alive(i)) continue;
      const std::string at = owner_at(i, global_name);
      if (at.empty() || (!first.empty() && at != first)) return std::string();
      first = at;
    }
    return first;
  };
  changes_->await(
      [&] {
        if (!owner) {
          owner_name = agreed();
          return !owner_name.empty();
        }
        for (size_t i = 0; i < slots_.size(); ++i) {
          if (alive(i) && owner_at(i, global_name) != owner_name) return false;
        }
        return true;
      },
      timeout,
      "global name '" + global_name + "' owned on " + (owner ? owner_name : "one node") +
          " at every live node",
      [&] { return describe_owners(global_name); });
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i]->name == owner_name) return i;
  }
  throw AwaitError("await global name '" + global_name + "': owned on " + owner_name +
                   ", no node of this cluster");
}

void LocalCluster::await_global_name_free(const std::string& global_name,
                                          std::chrono::milliseconds timeout) {
  changes_->await(
      [&] {
        for (size_t i = 0; i < slots_.size(); ++i) {
          if (alive(i) && !owner_at(i, global_name).empty()) return false;
        }
        return true;
      },
      timeout, "global name '" + global_name + "' free at every live node",
      [&] { return describe_owners(global_name); });
}

void LocalCluster::await_nodedown(size_t observer, size_t target,
                                  std::chrono::milliseconds timeout) {
  const std::string target_name = name(target);
  live(observer);
  auto linked = [&] {
    auto links = otp::distribution::nodes(*slots_[observer]->node);
    return std::find(links.begin(), links.end(), target_name) != links.end();
  };
  changes_->await([&] { return !linked(); }, timeout,
                  "nodedown of " + target_name + " at " + name(observer),
                  [&] { return "still linked; " + describe_members(observer); });
}

}  // namespace otp::testkit
