#include "supervisor_base.hpp"

#include <algorithm>

#include "otp/global.hpp"
#include "server_actor.hpp"

namespace otp::detail {

namespace {
ServerActor& runtime() {
  auto* s = current_server();
  if (!s) throw std::logic_error("supervisor operation outside its process");
  return *s;
}
}  // namespace

Action SupervisorBase::init() {
  trap_exit(true);
  return ok();
}

SupervisorBase::ChildStart SupervisorBase::spawn_child(const ChildSpec& spec, bool outcome_here) {
  auto& rt = runtime();
  if (rt.node_core().shutting_down())
    return {Ref(), Error(ErrorCode::shutting_down, "start of child " + spec.id)};
  if (!spec.start) return {Ref(), Error(ErrorCode::badarg, "child " + spec.id + " has no start")};
  Ref tag = Ref::make();
  SpawnInfo info{spec.name, rt.process(), rt.process(), tag, spec.id, outcome_here};
  Spawned spawned = spawn_server(rt.node_core(), spec.start, std::move(info));
  return {tag, std::move(spawned.outcome)};
}

Action SupervisorBase::stop_child_async(const Pid& child, const Shutdown& how,
                                        std::function<Action()> then) {
  auto& rt = runtime();
  // Unlink first so the child's exit arrives only as the Down we wait for, never as an EXIT.
  Process::unlink(*rt.process(), *RuntimeAccess::process(child));
  Ref mref = Ref::make();
  if (!RuntimeAccess::process(child)->add_monitor(mref, rt.process())) return then();
  if (how.kind() == Shutdown::Kind::brutal_kill) {
    otp::exit(child, Reason::kill());
    return await_tag(mref, std::nullopt, [then](Result<Message>) { return then(); });
  }
  otp::exit(child, Reason::shutdown());
  std::optional<std::chrono::milliseconds> limit;
  if (how.kind() == Shutdown::Kind::timeout) limit = how.time();
  return await_tag(mref, limit, [this, child, mref, then](Result<Message> r) -> Action {
    if (r || r.code() != ErrorCode::timeout) return then();
    report("child " + child.to_string() + " did not stop within its shutdown timeout; killing it",
           "warning");
    otp::exit(child, Reason::kill());
    return await_tag(mref, std::nullopt, [then](Result<Message>) { return then(); });
  });
}

Action SupervisorBase::stop_in_order(std::vector<std::pair<Pid, Shutdown>> children,
                                     std::function<Action()> then) {
  auto list = std::make_shared<std::vector<std::pair<Pid, Shutdown>>>(std::move(children));
  return stop_from(std::move(list), 0, std::move(then));
}

Action SupervisorBase::stop_from(std::shared_ptr<std::vector<std::pair<Pid, Shutdown>>> children,
                                 size_t i, std::function<Action()> then) {
  // Children that are already dead are skipped in this loop rather than by recursion.
  while (i < children->size() && !otp::alive((*children)[i].first)) {
    auto& rt = runtime();
    Process::unlink(*rt.process(), *RuntimeAccess::process((*children)[i].first));
    ++i;
  }
  if (i == children->size()) return then();
  auto [pid, how] = (*children)[i];
  return stop_child_async(pid, how,
                          [this, children, i, then]() { return stop_from(children, i + 1, then); });
}

Action SupervisorBase::stop_in_parallel(std::vector<std::pair<Pid, Shutdown>> children,
                                        std::function<Action()> then) {
  auto list = std::make_shared<std::vector<std::pair<Pid, Shutdown>>>(std::move(children));
  return stop_batch(std::move(list), 0, std::move(then));
}

// Children are stopped in batches: waking very many processes at once makes CAF 0.17's work
// stealing walk long run queues under a lock (quadratic in their length), so 100,000 children
// signalled at once take seconds to stop, while batches of a thousand take a fraction of that.
Action SupervisorBase::stop_batch(std::shared_ptr<std::vector<std::pair<Pid, Shutdown>>> children,
                                  size_t from, std::function<Action()> then) {
  constexpr size_t kBatch = 1000;
  if (from >= children->size()) return then();
  size_t to = std::min(children->size(), from + kBatch);
  auto& rt = runtime();
  std::vector<Ref> refs;
  auto pids = std::make_shared<std::vector<Pid>>();
  bool infinity = false;
  std::chrono::milliseconds longest{0};
  for (size_t i = from; i < to; ++i) {
    auto& [pid, how] = (*children)[i];
    Process::unlink(*rt.process(), *RuntimeAccess::process(pid));
    Ref mref = Ref::make();
    if (!RuntimeAccess::process(pid)->add_monitor(mref, rt.process())) continue;
    refs.push_back(mref);
    pids->push_back(pid);
    otp::exit(pid, how.kind() == Shutdown::Kind::brutal_kill ? Reason::kill() : Reason::shutdown());
    if (how.kind() == Shutdown::Kind::infinity) infinity = true;
    if (how.kind() == Shutdown::Kind::timeout) longest = std::max(longest, how.time());
  }
  std::optional<std::chrono::milliseconds> limit;
  if (!infinity) limit = longest;
  auto next = [this, children, to, then] { return stop_batch(children, to, then); };
  auto refs_copy = refs;
  return await_all(
      std::move(refs), limit, [this, pids, refs_copy, next](Result<Message> r) -> Action {
        if (r) return next();
        std::vector<Ref> left;
        for (size_t k = 0; k < pids->size(); ++k) {
          if (!otp::alive((*pids)[k])) continue;
          otp::exit((*pids)[k], Reason::kill());
          left.push_back(refs_copy[k]);
        }
        if (!left.empty())
          report(std::to_string(left.size()) +
                     " children did not stop within their shutdown timeout; killed",
                 "warning");
        return await_all(std::move(left), std::nullopt, [next](Result<Message>) { return next(); });
      });
}

bool SupervisorBase::should_restart(Restart type, const Reason& reason) {
  if (is_name_conflict(reason)) return false;
  switch (type) {
    case Restart::permanent:
      return true;
    case Restart::transient:
      return !reason.is_clean();
    case Restart::temporary:
      return false;
  }
  return false;
}

bool SupervisorBase::allow_restart() {
  if (intensity_.add_restart(RestartIntensity::Clock::now())) return true;
  report("reached max restart intensity; shutting down", "error");
  return false;
}

void SupervisorBase::report_child_exit(const std::string& id, const Pid& pid, const Reason& reason,
                                       const char* afterwards) {
  const bool lost_name = is_name_conflict(reason);
  if (reason.is_clean() && !lost_name) return;
  std::string child = "child " + (id.empty() ? std::string() : id + " ") + pid.to_string();
  if (!lost_name) return report(child + " exited: " + reason.to_string(), "error");
  report(child + " lost its global name to another node's process (" + reason.to_string() +
             "): not restarted and not counted towards the restart intensity, as the name lives " +
             "on in the winner; " + afterwards,
         "warning");
}

void SupervisorBase::report_name_taken(const std::string& id, const Error& error,
                                       const char* afterwards) {
  report("restart of child " + (id.empty() ? std::string() : id + " ") +
             "failed: " + error.to_string() +
             "; its name is held by another process, so it is not retried; " + afterwards,
         "error");
}

void SupervisorBase::report(const std::string& text, const char* level) {
  auto& rt = runtime();
  if (!rt.node_core().config().log_crashes) return;
  rt.node_core().log(level, "supervisor " + self().to_string() + ": " + text);
}

}  // namespace otp::detail
