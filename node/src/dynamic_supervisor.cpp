// otp::dynamic_supervisor: children added at run time, one_for_one, optional max_children; all
// children are stopped in parallel on shutdown (as Elixir's DynamicSupervisor does).
#include "otp/dynamic_supervisor.hpp"

#include <map>
#include <optional>

#include "supervisor_base.hpp"

namespace otp {
namespace {

constexpr auto kInfinity = std::chrono::hours(24 * 365);

class DynamicSupervisorServer final : public detail::SupervisorBase {
 public:
  explicit DynamicSupervisorServer(DynamicSupervisorOptions flags)
      : SupervisorBase(flags.max_restarts, flags.max_time), flags_(flags) {}

  Action handle_call(const Message& m, const From&) override {
    return m.match(
        [&](const dynamic_supervisor::StartChild& r) { return start_new_child(r.spec); },
        [&](const dynamic_supervisor::TerminateChild& r) { return terminate_child(r.pid); },
        [&](const dynamic_supervisor::WhichChildren&) { return reply(which_children()); },
        [&](const dynamic_supervisor::CountChildren&) { return reply(count_children()); });
  }

  Action handle_info(const Message& m) override {
    if (const auto* e = m.get_if<ExitSignal>()) return child_exited(e->from, e->reason);
    if (const auto* t = m.get_if<detail::TryAgainRestart>()) {
      auto it = retries_.find(t->key);
      if (it == retries_.end()) return noreply();
      ChildSpec spec = std::move(it->second);
      retries_.erase(it);
      return restart(std::move(spec));
    }
    return GenServer::handle_info(m);
  }

  Action shutdown_requested(const Reason& reason) override {
    return stop_in_parallel(take_all(), [reason] { return otp::stop(reason); });
  }

 private:
  struct Child {
    Pid pid;
    ChildSpec spec;
  };

  std::vector<std::pair<Pid, Shutdown>> take_all() {
    std::vector<std::pair<Pid, Shutdown>> out;
    out.reserve(children_.size());
    for (auto& [id, c] : children_) out.emplace_back(c.pid, c.spec.shutdown_type);
    children_.clear();
    retries_.clear();
    return out;
  }

  Action start_new_child(const ChildSpec& spec) {
    if (flags_.max_children && children_.size() >= *flags_.max_children)
      return reply(Error(
          ErrorCode::max_children,
          "start_child: " + std::to_string(*flags_.max_children) + " children already running"));
    starting_ = spec;
    return start_child_async(*starting_, [this](Result<Pid> r) -> Action {
      ChildSpec started = take_starting();
      if (!r) return reply(r.error());
      children_.emplace_hint(children_.end(), r->id(), Child{*r, std::move(started)});
      return reply(*r);
    });
  }

  Action terminate_child(const Pid& pid) {
    auto it = children_.find(pid.id());
    if (!pid || it == children_.end() || !(it->second.pid == pid))
      return reply(
          Error(ErrorCode::not_found, "terminate_child " + pid.to_string() + ": not a child"));
    Shutdown how = it->second.spec.shutdown_type;
    children_.erase(it);
    return stop_child_async(pid, how, [] { return reply(Message()); });
  }

  Action child_exited(const Pid& pid, const Reason& reason) {
    auto it = children_.find(pid.id());
    if (it == children_.end() || !(it->second.pid == pid)) return noreply();
    ChildSpec spec = std::move(it->second.spec);
    children_.erase(it);
    report_child_exit(spec.id, pid, reason, "removed");
    if (!should_restart(spec.restart_type, reason)) return noreply();
    return restart(std::move(spec));
  }

  Action restart(ChildSpec spec) {
    if (!allow_restart())
      return stop_in_parallel(take_all(), [] { return otp::stop(Reason::shutdown()); });
    starting_ = std::move(spec);
    return start_child_async(*starting_, [this](Result<Pid> r) -> Action {
      ChildSpec spec = take_starting();
      if (r) {
        children_.emplace_hint(children_.end(), r->id(), Child{*r, std::move(spec)});
      } else if (name_taken(r.error())) {
        report_name_taken(spec.id, r.error(), "removed");
      } else if (r.code() != ErrorCode::ignored) {
        report("restart of child " + (spec.id.empty() ? "" : spec.id + " ") +
                   "failed: " + r.error().to_string() + "; trying again",
               "error");
        uint64_t key = ++next_retry_;
        otp::send(self(), detail::TryAgainRestart{key, spec.id});
        retries_.emplace(key, std::move(spec));
      }
      return noreply();
    });
  }

  std::vector<ChildInfo> which_children() const {
    std::vector<ChildInfo> out;
    out.reserve(children_.size());
    for (auto& [id, c] : children_)
      out.push_back(ChildInfo{"", c.pid, c.spec.type, c.spec.restart_type});
    return out;
  }

  ChildCounts count_children() const {
    ChildCounts n;
    n.specs = n.active = children_.size();
    for (auto& [id, c] : children_)
      (c.spec.type == ChildType::supervisor ? n.supervisors : n.workers)++;
    return n;
  }

  ChildSpec take_starting() {
    ChildSpec spec = std::move(*starting_);
    starting_.reset();
    return spec;
  }

  DynamicSupervisorOptions flags_;
  /// The spec of the child being started. A supervisor starts one child at a time (it awaits
  /// each start before it handles anything else), so the start's continuation finds the spec
  /// here instead of carrying a copy, which would cost an allocation per start.
  std::optional<ChildSpec> starting_;
  /// By pid number: start order. Pid numbers only grow, so a new child goes at the end (hinted:
  /// no walk down the tree).
  std::map<uint64_t, Child> children_;
  std::map<uint64_t, ChildSpec> retries_;
  uint64_t next_retry_ = 0;
};

}  // namespace

namespace dynamic_supervisor {

Result<Pid> start_link(Node& node, DynamicSupervisorOptions flags, std::optional<Name> name) {
  std::optional<ServerRef> ref;
  if (name) ref = name->ref;
  return detail::start_server(node, detail::make_factory<DynamicSupervisorServer>(flags),
                              {std::move(ref), true});
}

ChildSpec spec(std::string id, DynamicSupervisorOptions flags, std::optional<Name> name) {
  ChildSpec s;
  s.id = std::move(id);
  if (name) s.name = std::move(name->ref);
  s.start = detail::make_factory<DynamicSupervisorServer>(flags);
  s.type = ChildType::supervisor;
  s.shutdown_type = Shutdown::infinity();
  return s;
}

Result<Pid> start_child(Node& node, const ServerRef& sup, ChildSpec spec) {
  return gen_server::call<Pid>(node, sup, StartChild{std::move(spec)}, kInfinity);
}
Result<void> terminate_child(Node& node, const ServerRef& sup, const Pid& child) {
  auto r = gen_server::call(node, sup, TerminateChild{child}, kInfinity);
  if (!r) return r.error();
  return {};
}
Result<std::vector<ChildInfo>> which_children(Node& node, const ServerRef& sup) {
  return gen_server::call<std::vector<ChildInfo>>(node, sup, WhichChildren{}, kInfinity);
}
Result<ChildCounts> count_children(Node& node, const ServerRef& sup) {
  return gen_server::call<ChildCounts>(node, sup, CountChildren{}, kInfinity);
}

}  // namespace dynamic_supervisor
}  // namespace otp
