#include "global_scale/combined_simulator.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <utility>

namespace otp::global_scale {

namespace {

/// The name tables' wall clock: virtual time after a fixed, realistic epoch (stamps are ms since
/// the Unix epoch in production).
constexpr int64_t kEpochMs = 1'700'000'000'000;

uint64_t mix(uint64_t x) {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint8_t view_of(membership::MemberState state) {
  switch (state) {
    case membership::MemberState::alive:
      return 0;
    case membership::MemberState::suspect:
      return 1;
    case membership::MemberState::failed:
    case membership::MemberState::left:
      break;
  }
  return 2;
}

std::string node_name(size_t i) {
  return "n" + std::to_string(i);
}

}  // namespace

uint64_t CombinedSimulator::fingerprint_of(std::string_view name, const protocol::Pid& owner) {
  return mix(std::hash<std::string_view>{}(name) ^ mix(std::hash<protocol::Pid>{}(owner)));
}

CombinedSimulator::CombinedSimulator(CombinedOptions options)
    : options_(std::move(options)), rng_(mix(options_.seed) + 1) {
  const size_t n = options_.nodes;
  membership_ = std::make_unique<membership::Simulator>(
      membership::SimOptions{.seed = options_.seed, .record_events = false});
  const std::vector<membership::NodeIndex> nodes = membership_->add_nodes(n);
  // Membership's events become items at their own time: the name tables act on them in time
  // order with their messages (membership runs ahead, it never depends on the tables).
  membership_->on_event = [this](const membership::SimEvent& e) {
    const NodeIndex member = index_of(e.event.member.id);
    if (member >= size() || member == e.node) return;  // self, or an earlier run
    Item item;
    item.at = e.at;
    item.kind = ItemKind::member_event;
    item.a = e.node;
    item.b = member;
    item.state = view_of(e.event.member.state);
    push(std::move(item));
  };
  membership_->start_converged(nodes);

  tables_.reserve(n);
  for (NodeIndex i = 0; i < n; ++i) tables_.emplace_back(membership_->id(i));
  next_pid_.assign(n, 1);
  state_.assign(n * n, kAlive);
  links_.assign(n * n, 0);
  attempt_.assign(n * n, 0);
  link_epoch_.assign(n * n, 0);
  last_arrival_.assign(n * n, Time{});
  owned_by_.assign(n * n, 0);
  groups_.assign(n, 0);
  fingerprint_.assign(n, 0);
  visible_.assign(n, 0);
  alive_pairs_ = n * (n - 1);
  // A converged cluster: every pair linked (their empty Syncs are sent, as the node sends them).
  for (NodeIndex a = 0; a < n; ++a) {
    for (NodeIndex b = a + 1; b < n; ++b) link_up(a, b);
  }
}

CombinedSimulator::~CombinedSimulator() = default;

global::Time CombinedSimulator::clock() const {
  return global::Time(kEpochMs + now_.time_since_epoch().count());
}

NodeIndex CombinedSimulator::index_of(const protocol::NodeId& node) const {
  // Nodes are "n<i>@sim"; a run that is not the current one has no index.
  NodeIndex i = size();
  if (node.name.size() < 2 || node.name[0] != 'n') return size();
  const char* first = node.name.data() + 1;
  const char* last = node.name.data() + node.name.size();
  if (std::from_chars(first, last, i).ptr != last || i >= size()) return size();
  return tables_[i].self() == node ? i : size();
}

// -- processes and names --------------------------------------------------------------------------

global::RegisterOutcome CombinedSimulator::register_name(NodeIndex i, std::string name) {
  const protocol::Pid pid{tables_[i].self(), next_pid_[i]++};
  global::RegisterOutcome outcome = tables_[i].register_name(name, pid, {}, clock());
  global::Output out = std::move(outcome.output);
  outcome.output = {};
  if (outcome.status == global::RegisterStatus::ok) {
    named_fingerprint_ ^= fingerprint_of(name, pid);
    named_.emplace(pid, std::move(name));
  }
  handle(i, std::move(out));
  return outcome;
}

void CombinedSimulator::kill(const protocol::Pid& pid) {
  const NodeIndex i = index_of(pid.node);
  if (i >= size()) return;
  if (const auto it = named_.find(pid); it != named_.end()) {
    named_fingerprint_ ^= fingerprint_of(it->second, pid);
    named_.erase(it);
  }
  handle(i, tables_[i].process_exit(pid, clock()));
}

// -- network --------------------------------------------------------------------------------------

void CombinedSimulator::partition(const std::vector<std::vector<NodeIndex>>& groups) {
  std::vector<int> assignment(size(), 0);
  for (size_t g = 0; g < groups.size(); ++g) {
    for (NodeIndex i : groups[g]) assignment[i] = static_cast<int>(g) + 1;
  }
  membership_->partition(groups);
  regroup(std::move(assignment));
}

void CombinedSimulator::heal() {
  membership_->heal();
  regroup(std::vector<int>(size(), 0));
}

void CombinedSimulator::regroup(std::vector<int> groups) {
  groups_ = std::move(groups);
  cut_at_ = now_;
  ++cut_epoch_;
  pairs_across_cut_ = failures_across_cut_ = names_across_cut_ = 0;
  for (NodeIndex a = 0; a < size(); ++a) {
    for (NodeIndex b = 0; b < size(); ++b) {
      if (a == b || !cut(a, b)) continue;
      ++pairs_across_cut_;
      if (!holds(a, b)) ++failures_across_cut_;
      names_across_cut_ += owned_by_[pair(a, b)];
    }
  }
  // What waited at a cut that healed arrives now, in order (TCP's retransmission delay is not
  // modelled); its link survived, or it would have been dropped with it.
  for (auto it = held_.begin(); it != held_.end();) {
    if (cut(it->first / size(), it->first % size())) {
      ++it;
      continue;
    }
    std::vector<Item> items = std::move(it->second);
    it = held_.erase(it);
    held_count_ -= items.size();
    for (Item& item : items) deliver(item);
  }
  for (NodeIndex a = 0; a < size(); ++a) {
    for (NodeIndex b = a + 1; b < size(); ++b) update_link(a, b);
  }
  if (options_.dead_link_timeout.count() > 0 && pairs_across_cut_ > 0) {
    Item check;
    check.at = now_ + options_.dead_link_timeout;
    check.kind = ItemKind::transport_check;
    check.epoch = cut_epoch_;
    push(std::move(check));
  }
}

// -- links ----------------------------------------------------------------------------------------

bool CombinedSimulator::can_link(NodeIndex a, NodeIndex b) const {
  return holds(a, b) && holds(b, a) && !cut(a, b);  // no connection is made across a cut
}

bool CombinedSimulator::keeps_link(NodeIndex a, NodeIndex b) const {
  if (!holds(a, b) || !holds(b, a)) return false;
  // Across a cut the transport keeps a link until its dead-link timeout.
  return options_.dead_link_timeout.count() == 0 || !cut(a, b) ||
         now_ < cut_at_ + options_.dead_link_timeout;
}

void CombinedSimulator::update_link(NodeIndex a, NodeIndex b) {
  if (linked(a, b)) {
    if (!keeps_link(a, b)) link_down(a, b);
    return;
  }
  if (!can_link(a, b) || attempt_[link_key(a, b)]) return;
  if (options_.link_setup.count() == 0) return link_up(a, b);
  attempt_[link_key(a, b)] = 1;
  Item attempt;
  attempt.at = now_ + options_.link_setup;
  attempt.kind = ItemKind::link_attempt;
  attempt.a = a;
  attempt.b = b;
  push(std::move(attempt));
}

void CombinedSimulator::link_up(NodeIndex a, NodeIndex b) {
  links_[pair(a, b)] = links_[pair(b, a)] = 1;
  ++links_made_;
  handle(a, tables_[a].on_link_up(tables_[b].self()));
  handle(b, tables_[b].on_link_up(tables_[a].self()));
}

void CombinedSimulator::link_down(NodeIndex a, NodeIndex b) {
  links_[pair(a, b)] = links_[pair(b, a)] = 0;
  ++links_closed_;
  if (on_link_down) on_link_down(std::min(a, b), std::max(a, b));
  ++link_epoch_[link_key(a, b)];  // what is still on its way is lost with the connection
  for (const size_t key : {pair(a, b), pair(b, a)}) {
    const auto it = held_.find(key);
    if (it == held_.end()) continue;
    traffic_.dropped += it->second.size();
    held_count_ -= it->second.size();
    held_.erase(it);
  }
  handle(a, tables_[a].on_nodedown(tables_[b].self()));
  handle(b, tables_[b].on_nodedown(tables_[a].self()));
}

// -- running --------------------------------------------------------------------------------------

void CombinedSimulator::push(Item item) {
  item.seq = seq_++;
  queue_.push_back(std::move(item));
  std::push_heap(queue_.begin(), queue_.end(), Later{});
}

void CombinedSimulator::run_until(Time t) {
  for (;;) {
    const Time next = !queue_.empty() && queue_.front().at < t ? queue_.front().at : t;
    membership_->run_until(next);  // its events up to `next` join the queue at their times
    while (!queue_.empty() && queue_.front().at <= next) {
      std::pop_heap(queue_.begin(), queue_.end(), Later{});
      Item item = std::move(queue_.back());
      queue_.pop_back();
      now_ = std::max(now_, item.at);
      process(item);
    }
    now_ = std::max(now_, next);
    if (next >= t) return;
  }
}

bool CombinedSimulator::run_until(const std::function<bool()>& pred, Time deadline,
                                  Duration check_every) {
  while (!pred()) {
    if (now_ >= deadline) return false;
    run_until(std::min(deadline, now_ + check_every));
  }
  return true;
}

void CombinedSimulator::process(Item& item) {
  switch (item.kind) {
    case ItemKind::member_event:
      on_member_event(item.a, item.b, item.state);
      break;
    case ItemKind::link_attempt:
      attempt_[link_key(item.a, item.b)] = 0;
      if (!linked(item.a, item.b) && can_link(item.a, item.b)) link_up(item.a, item.b);
      break;
    case ItemKind::delivery:
      deliver(item);
      break;
    case ItemKind::transport_check:
      if (item.epoch != cut_epoch_) break;  // a later partition or heal has its own
      for (NodeIndex a = 0; a < size(); ++a) {
        for (NodeIndex b = a + 1; b < size(); ++b) {
          if (cut(a, b)) update_link(a, b);
        }
      }
      break;
  }
}

void CombinedSimulator::on_member_event(NodeIndex holder, NodeIndex member, uint8_t state) {
  uint8_t& view = state_[pair(holder, member)];
  if (view == state) return;
  alive_pairs_ = alive_pairs_ + (state == kAlive) - (view == kAlive);
  if (cut(holder, member)) {
    failures_across_cut_ = failures_across_cut_ + (state == kNotHeld) - (view == kNotHeld);
  }
  view = state;
  update_link(holder, member);
  if (state == kNotHeld && owned_by_[pair(holder, member)] > 0) {
    problem(node_name(holder) + " still shows " + std::to_string(owned_by_[pair(holder, member)]) +
            " names of " + node_name(member) + " after its membership stopped holding it");
  }
}

void CombinedSimulator::deliver(Item& item) {
  const NodeIndex from = item.a;
  const NodeIndex to = item.b;
  if (!linked(from, to) || link_epoch_[link_key(from, to)] != item.epoch) {
    ++traffic_.dropped;  // its connection closed before it arrived
    return;
  }
  if (cut(from, to)) {  // TCP keeps it until the cut heals or the link closes
    held_[pair(from, to)].push_back(std::move(item));
    ++held_count_;
    return;
  }
  handle(to, tables_[to].on_message(tables_[from].self(), *item.message, clock()));
}

void CombinedSimulator::handle(NodeIndex i, global::Output out) {
  for (const global::Outgoing& m : out.messages) {
    std::vector<NodeIndex> to;
    if (m.to) {
      const NodeIndex j = index_of(*m.to);
      if (j < size() && linked(i, j)) to.push_back(j);
    } else {
      for (NodeIndex j = 0; j < size(); ++j) {
        if (j != i && linked(i, j)) to.push_back(j);
      }
    }
    if (!to.empty()) send(i, m.message, to);
  }
  std::vector<protocol::Pid> losers;
  for (const global::Event& e : out.events) {
    switch (e.kind) {
      case global::EventKind::registered:
        count_visible(i, e, +1);
        break;
      case global::EventKind::unregistered:
        count_visible(i, e, -1);
        break;
      case global::EventKind::conflict:
        // As the driver does: the loser is told (NameConflict) and exits.
        if (e.local_loser) losers.push_back(e.owner);
        break;
      case global::EventKind::updated:
        break;
    }
  }
  for (const protocol::Pid& loser : losers) {
    if (named_.contains(loser)) ++conflict_losers_;
    kill(loser);
  }
}

void CombinedSimulator::send(NodeIndex from, const global::Message& message,
                             const std::vector<NodeIndex>& to) {
  // Encoded once (every receiver gets the same bytes) and decoded once: the receivers share the
  // decoded value, so the codec's cost is not paid per receiver in wall time, its bytes are.
  const std::vector<uint8_t> wire = global::encode(message);
  std::optional<global::Message> back = global::decode(wire, tables_[from].self());
  if (!back || *back != message) {
    problem("a message from " + node_name(from) + " did not survive the codec's round trip");
    if (!back) return;
  }
  const auto shared = std::make_shared<const global::Message>(std::move(*back));
  const bool sync = std::holds_alternative<global::Sync>(message);
  std::uniform_int_distribution<int64_t> delay(options_.min_delay.count(),
                                               options_.max_delay.count());
  for (const NodeIndex j : to) {
    ++traffic_.messages;
    traffic_.bytes += wire.size();
    (sync ? traffic_.sync_bytes : traffic_.update_bytes) += wire.size();
    Time& last = last_arrival_[pair(from, j)];
    last = std::max(now_ + Duration(delay(rng_)), last);  // FIFO per ordered pair
    Item item;
    item.at = last;
    item.kind = ItemKind::delivery;
    item.a = from;
    item.b = j;
    item.epoch = link_epoch_[link_key(from, j)];
    item.message = shared;
    push(std::move(item));
  }
}

// -- observation ----------------------------------------------------------------------------------

void CombinedSimulator::count_visible(NodeIndex holder, const global::Event& e, int sign) {
  const NodeIndex owner = index_of(e.owner.node);
  if (owner >= size()) {
    problem(node_name(holder) + " shows " + e.name + " owned by an unknown run " +
            e.owner.to_string());
    return;
  }
  fingerprint_[holder] ^= fingerprint_of(e.name, e.owner);
  visible_[holder] += sign;
  owned_by_[pair(holder, owner)] += sign;
  if (cut(holder, owner)) names_across_cut_ += sign;
  if (sign > 0 && owner != holder && !holds(holder, owner)) {
    problem(node_name(holder) + " shows " + e.name + " owned by " + node_name(owner) +
            ", which its membership does not hold");
  }
}

bool CombinedSimulator::tables_identical() const {
  for (NodeIndex i = 0; i < size(); ++i) {
    if (fingerprint_[i] != named_fingerprint_ || visible_[i] != named_.size()) return false;
  }
  return true;
}

std::vector<std::string> CombinedSimulator::verify() const {
  constexpr size_t kMaxLines = 10;
  std::vector<std::string> out;
  std::vector<std::pair<std::string, protocol::Pid>> expected;
  expected.reserve(named_.size());
  for (const auto& [pid, name] : named_) expected.emplace_back(name, pid);
  std::sort(expected.begin(), expected.end());
  for (NodeIndex i = 0; i < size() && out.size() < kMaxLines; ++i) {
    const global::NameTable& t = tables_[i];
    if (t.claim_count() != t.size()) {
      out.push_back(node_name(i) + " holds " + std::to_string(t.claim_count()) + " claims for " +
                    std::to_string(t.size()) + " names");
    }
    const std::vector<global::Claim> shown = t.snapshot();
    if (shown.size() != expected.size()) {
      out.push_back(node_name(i) + " shows " + std::to_string(shown.size()) + " names, " +
                    std::to_string(expected.size()) + " expected");
      continue;
    }
    for (size_t k = 0; k < shown.size(); ++k) {
      if (shown[k].name != expected[k].first || shown[k].owner != expected[k].second) {
        out.push_back(node_name(i) + " shows " + shown[k].name + " -> " +
                      shown[k].owner.to_string() + " where " + expected[k].first + " -> " +
                      expected[k].second.to_string() + " was expected");
        break;
      }
      const NodeIndex owner = index_of(shown[k].owner.node);
      if (owner != i && (owner >= size() || !holds(i, owner))) {
        out.push_back(node_name(i) + " shows " + shown[k].name + " owned by " +
                      shown[k].owner.to_string() + ", which its membership does not hold");
        break;
      }
    }
  }
  return out;
}

void CombinedSimulator::problem(std::string text) {
  constexpr size_t kMaxProblems = 20;
  if (problems_.size() < kMaxProblems) problems_.push_back(std::move(text));
}

}  // namespace otp::global_scale
