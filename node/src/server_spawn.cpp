// Spawning a server (its init nested in the starter's handler when it may) and resolving a
// ServerRef to a live pid.
#include <optional>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include "distribution.hpp"
#include "global_registry.hpp"
#include "node_core.hpp"
#include "otp/registry.hpp"
#include "server_actor.hpp"

namespace otp::detail {

namespace {
/// Children whose init runs nested in their starter's handler on this thread (see spawn_server):
/// beyond this depth (a tree of supervisors nested deeper still) a child is scheduled instead, so
/// the stack stays bounded.
thread_local int t_inline_starts = 0;
constexpr int kMaxInlineStarts = 16;

/// Where the start of the server being spawned on this thread reports its outcome instead of
/// sending it (SpawnInfo::outcome_here). Only this thread's spawn_server reads it, so a start
/// that completes later, on another worker, reports as usual.
struct OutcomeHere {
  const ServerActor* server;
  std::optional<Result<Pid>> outcome;
};
thread_local OutcomeHere* t_outcome_here = nullptr;

}  // namespace

// -- spawning and resolving -----------------------------------------------------------------------

Spawned spawn_server(NodeCore& node, ServerFactory factory, SpawnInfo info) {
  auto proc = std::make_shared<ActorProcess>(&node, node.next_process_id());
  proc->label = std::move(info.label);  // before the actor runs: it reads the label
  if (info.parent) {
    proc->has_parent = true;
    Process::link_new_child(*info.parent, *proc);
  }
  node.add_process(proc);
  Pid pid = proc->pid();
  const bool outcome_here = info.outcome_here;
  caf::intrusive_ptr<ServerActor> actor{new ServerActor(proc, std::move(factory), std::move(info)),
                                        false};
  std::optional<Result<Pid>> outcome;
  caf::execution_unit* unit = current_execution_unit();
  if (unit && t_inline_starts < kMaxInlineStarts) {
    // Inside a handler (a supervisor starting a child): the child's init runs right here, as
    // OTP's supervisor runs it before it does anything else. The starter awaits the child's
    // acknowledgement anyway, so running the child elsewhere would only add two schedulings (the
    // child's first run, the starter's wake-up for the ack) to every start.
    ServerActor* server = actor.get();
    OutcomeHere here{server, std::nullopt};
    OutcomeHere* outer = t_outcome_here;
    if (outcome_here) t_outcome_here = &here;
    ++t_inline_starts;
    server->start_here(unit);
    --t_inline_starts;
    t_outcome_here = outer;
    outcome = std::move(here.outcome);
  } else {
    actor->intrusive_ptr_add_ref_impl();  // the scheduler's, until the first run ends
    node.system().scheduler().enqueue(actor.get());
  }
  proc->keep_alive(std::move(actor));
  return {pid, std::move(outcome)};
}

std::shared_ptr<ViaRegistry> via_registry(NodeCore& node, const ViaName& via) {
  if (via.registry) return via.registry;
  auto found = Registry::find(node.owner(), via.registry_name);
  return found ? *found : nullptr;
}

Result<Pid> resolve(NodeCore& node, const ServerRef& ref, const char* operation) {
  auto noproc = [&] {
    return Error(ErrorCode::noproc,
                 std::string(operation) + " " + ref.to_string() + ": no such process");
  };
  if (const Pid* pid = ref.pid()) {
    if (!*pid || !RuntimeAccess::process(*pid)->alive()) return noproc();
    return *pid;
  }
  std::optional<Pid> found;
  if (const RemoteName* remote = ref.remote_name()) {
    return node.distribution().name_proxy(*remote, operation);
  } else if (const std::string* name = ref.local_name()) {
    found = node.whereis(*name);
  } else if (const ViaName* via = ref.via_name()) {
    if (auto reg = via_registry(node, *via)) found = reg->whereis_name(via->key);
  } else if (const GlobalName* global = ref.global_name()) {
    auto& d = node.distribution();
    if (!d.attached())
      return Error(ErrorCode::noproc, std::string(operation) + " " + ref.to_string() +
                                          ": this node is not distributed (start a Cluster)");
    found = d.global()->whereis(global->name);
    // A remote owner is returned as is: a call to it fails at once with nodedown if its node
    // went down since, as any call to a remote pid.
    if (found && RuntimeAccess::process(*found)->is_remote()) return *found;
  }
  if (!found || !RuntimeAccess::process(*found)->alive()) return noproc();
  return *found;
}

std::optional<Result<Pid>>* ServerActor::outcome_here() const {
  return t_outcome_here && t_outcome_here->server == this ? &t_outcome_here->outcome : nullptr;
}

}  // namespace otp::detail
