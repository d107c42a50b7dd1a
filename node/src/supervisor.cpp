// otp::supervisor: a GenServer that traps exits, starts its children in order and restarts them
// by strategy. Every step that waits (a child's init, a child's shutdown) is an await, so a
// supervisor never blocks a scheduler thread and handles one event at a time.
#include "otp/supervisor.hpp"

#include <algorithm>
#include <set>

#include "supervisor_base.hpp"

namespace otp {
namespace {

constexpr auto kInfinity = std::chrono::hours(24 * 365);

class SupervisorServer final : public detail::SupervisorBase {
 public:
  SupervisorServer(std::vector<ChildSpec> specs, SupervisorOptions flags)
      : SupervisorBase(flags.max_restarts, flags.max_time),
        initial_(std::move(specs)),
        flags_(flags) {}

  Action init() override {
    SupervisorBase::init();
    return start_initial(0);
  }

  Action handle_call(const Message& m, const From&) override {
    return m.match([&](const supervisor::StartChild& r) { return start_new_child(r.spec); },
                   [&](const supervisor::TerminateChild& r) { return terminate_child(r.id); },
                   [&](const supervisor::RestartChild& r) { return restart_stopped(r.id); },
                   [&](const supervisor::DeleteChild& r) { return delete_child(r.id); },
                   [&](const supervisor::WhichChildren&) { return reply(which_children()); },
                   [&](const supervisor::CountChildren&) { return reply(count_children()); });
  }

  Action handle_info(const Message& m) override {
    if (const auto* e = m.get_if<ExitSignal>()) return child_exited(e->from, e->reason);
    if (const auto* t = m.get_if<detail::TryAgainRestart>()) {
      Child* c = find(t->id);
      if (!c || c->pid) return noreply();
      return restart_after_exit(t->id);
    }
    return GenServer::handle_info(m);
  }

  Action shutdown_requested(const Reason& reason) override {
    return stop_in_order(take_running_reversed(all_ids()), [reason] { return otp::stop(reason); });
  }

 private:
  struct Child {
    ChildSpec spec;
    Pid pid;  // invalid when not running
  };

  Child* find(const std::string& id) {
    auto it = std::find_if(children_.begin(), children_.end(),
                           [&](const Child& c) { return c.spec.id == id; });
    return it == children_.end() ? nullptr : &*it;
  }
  void erase(const std::string& id) {
    std::erase_if(children_, [&](const Child& c) { return c.spec.id == id; });
  }
  std::vector<std::string> all_ids() const {
    std::vector<std::string> ids;
    for (auto& c : children_) ids.push_back(c.spec.id);
    return ids;
  }
  /// The running children among ids, newest first, marked as not running.
  std::vector<std::pair<Pid, Shutdown>> take_running_reversed(const std::vector<std::string>& ids) {
    std::vector<std::pair<Pid, Shutdown>> out;
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
      Child* c = find(*it);
      if (c && c->pid) {
        out.emplace_back(c->pid, c->spec.shutdown_type);
        c->pid = Pid();
      }
    }
    return out;
  }

  // -- start-up: children in order; on a failure stop those started and fail --
  Action start_initial(size_t i) {
    while (i < initial_.size()) {
      ChildSpec spec = initial_[i];
      children_.push_back(Child{spec, Pid()});
      return start_child_async(spec, [this, i, id = spec.id](Result<Pid> r) -> Action {
        if (r) {
          find(id)->pid = *r;
        } else if (r.code() != ErrorCode::ignored) {
          Reason why =
              Reason::shutdown("failed_to_start_child " + id + ": " + r.error().to_string());
          return stop_in_order(take_running_reversed(all_ids()), [why] { return otp::stop(why); });
        }
        return start_initial(i + 1);
      });
    }
    initial_.clear();
    return ok();
  }

  // -- a child exited --
  Action child_exited(const Pid& pid, const Reason& reason) {
    auto it = std::find_if(children_.begin(), children_.end(),
                           [&](const Child& c) { return c.pid == pid; });
    if (it == children_.end()) return noreply();  // not (or no longer) our child
    it->pid = Pid();
    const bool temporary = it->spec.restart_type == Restart::temporary;
    report_child_exit(it->spec.id, pid, reason,
                      temporary ? "a temporary child: its spec is dropped"
                                : "left not running (restart_child starts it again)");
    // Not restarted (its restart type, or a lost name conflict): no restart, nothing counted,
    // and the siblings of one_for_all / rest_for_one keep running.
    if (!should_restart(it->spec.restart_type, reason)) {
      if (temporary) children_.erase(it);
      return noreply();
    }
    return restart_after_exit(it->spec.id);
  }

  Action restart_after_exit(const std::string& id) {
    if (!allow_restart())
      return stop_in_order(take_running_reversed(all_ids()),
                           [] { return otp::stop(Reason::shutdown()); });
    std::vector<std::string> group;
    switch (flags_.strategy) {
      case Strategy::one_for_one:
        group = {id};
        break;
      case Strategy::one_for_all:
        group = all_ids();
        break;
      case Strategy::rest_for_one: {
        bool from_here = false;
        for (auto& c : children_) {
          from_here = from_here || c.spec.id == id;
          if (from_here) group.push_back(c.spec.id);
        }
        break;
      }
    }
    return stop_in_order(take_running_reversed(group), [this, group, id] {
      // Temporary siblings stopped by the strategy are not restarted; they are forgotten.
      for (auto& g : group) {
        Child* c = find(g);
        if (c && g != id && c->spec.restart_type == Restart::temporary) erase(g);
      }
      return start_group(std::make_shared<std::vector<std::string>>(group), 0);
    });
  }

  Action start_group(std::shared_ptr<std::vector<std::string>> ids, size_t k) {
    for (; k < ids->size(); ++k) {
      Child* c = find((*ids)[k]);
      if (!c || c->pid) continue;
      return start_child_async(c->spec, [this, ids, k](Result<Pid> r) -> Action {
        const std::string& id = (*ids)[k];
        if (Child* c = find(id)) {
          if (r) {
            c->pid = *r;
          } else if (name_taken(r.error())) {
            report_name_taken(id, r.error(), "left not running (restart_child tries again)");
          } else if (r.code() != ErrorCode::ignored) {
            report(
                "restart of child " + id + " failed: " + r.error().to_string() + "; trying again",
                "error");
            otp::send(self(), detail::TryAgainRestart{0, id});
          }
        }
        return start_group(ids, k + 1);
      });
    }
    return noreply();
  }

  // -- client requests --
  Action start_new_child(const ChildSpec& spec) {
    if (Child* c = find(spec.id)) {
      if (c->pid)
        return reply(Error(ErrorCode::already_started,
                           "child " + spec.id + " already started as " + c->pid.to_string()));
      return reply(Error(ErrorCode::badarg, "child " + spec.id + " already present (stopped)"));
    }
    children_.push_back(Child{spec, Pid()});
    return start_child_async(spec, [this, id = spec.id](Result<Pid> r) -> Action {
      if (r) {
        find(id)->pid = *r;
        return reply(*r);
      }
      if (r.code() != ErrorCode::ignored) erase(id);
      return reply(r.error());
    });
  }

  Action terminate_child(const std::string& id) {
    Child* c = find(id);
    if (!c) return reply(Error(ErrorCode::not_found, "terminate_child " + id + ": no such child"));
    auto stopping = take_running_reversed({id});
    return stop_in_order(std::move(stopping), [this, id] {
      Child* c = find(id);
      if (c && c->spec.restart_type == Restart::temporary) erase(id);
      return reply(Message());
    });
  }

  Action restart_stopped(const std::string& id) {
    Child* c = find(id);
    if (!c) return reply(Error(ErrorCode::not_found, "restart_child " + id + ": no such child"));
    if (c->pid)
      return reply(
          Error(ErrorCode::running, "restart_child " + id + ": running as " + c->pid.to_string()));
    return start_child_async(c->spec, [this, id](Result<Pid> r) -> Action {
      if (!r) return reply(r.error());
      if (Child* c = find(id)) c->pid = *r;
      return reply(*r);
    });
  }

  Action delete_child(const std::string& id) {
    Child* c = find(id);
    if (!c) return reply(Error(ErrorCode::not_found, "delete_child " + id + ": no such child"));
    if (c->pid)
      return reply(
          Error(ErrorCode::running, "delete_child " + id + ": running as " + c->pid.to_string()));
    erase(id);
    return reply(Message());
  }

  std::vector<ChildInfo> which_children() const {
    std::vector<ChildInfo> out;
    for (auto& c : children_)
      out.push_back(ChildInfo{c.spec.id, c.pid, c.spec.type, c.spec.restart_type});
    return out;
  }

  ChildCounts count_children() const {
    ChildCounts n;
    n.specs = children_.size();
    for (auto& c : children_) {
      if (c.pid) ++n.active;
      (c.spec.type == ChildType::supervisor ? n.supervisors : n.workers)++;
    }
    return n;
  }

  std::vector<ChildSpec> initial_;
  SupervisorOptions flags_;
  std::vector<Child> children_;  // start order
};

Result<void> void_result(Result<Message> r) {
  if (!r) return r.error();
  return {};
}

}  // namespace

namespace supervisor {

Result<Pid> start_link(Node& node, std::vector<ChildSpec> children, SupervisorOptions flags,
                       std::optional<Name> name) {
  std::set<std::string> ids;
  for (auto& c : children)
    if (!ids.insert(c.id).second)
      return Error(ErrorCode::badarg, "supervisor start: duplicate child id " + c.id);
  std::optional<ServerRef> ref;
  if (name) ref = name->ref;
  return detail::start_server(node, detail::make_factory<SupervisorServer>(children, flags),
                              {std::move(ref), true});
}

ChildSpec spec(std::string id, std::vector<ChildSpec> children, SupervisorOptions flags,
               std::optional<Name> name) {
  ChildSpec s;
  s.id = std::move(id);
  if (name) s.name = std::move(name->ref);
  s.start = detail::make_factory<SupervisorServer>(std::move(children), flags);
  s.type = ChildType::supervisor;
  s.shutdown_type = Shutdown::infinity();
  return s;
}

Result<Pid> start_child(Node& node, const ServerRef& sup, ChildSpec spec) {
  return gen_server::call<Pid>(node, sup, StartChild{std::move(spec)}, kInfinity);
}
Result<void> terminate_child(Node& node, const ServerRef& sup, const std::string& id) {
  return void_result(gen_server::call(node, sup, TerminateChild{id}, kInfinity));
}
Result<Pid> restart_child(Node& node, const ServerRef& sup, const std::string& id) {
  return gen_server::call<Pid>(node, sup, RestartChild{id}, kInfinity);
}
Result<void> delete_child(Node& node, const ServerRef& sup, const std::string& id) {
  return void_result(gen_server::call(node, sup, DeleteChild{id}, kInfinity));
}
Result<std::vector<ChildInfo>> which_children(Node& node, const ServerRef& sup) {
  return gen_server::call<std::vector<ChildInfo>>(node, sup, WhichChildren{}, kInfinity);
}
Result<ChildCounts> count_children(Node& node, const ServerRef& sup) {
  return gen_server::call<ChildCounts>(node, sup, CountChildren{}, kInfinity);
}

}  // namespace supervisor
}  // namespace otp
