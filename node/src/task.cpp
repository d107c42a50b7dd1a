// Tasks: a process whose function runs on the node's blocking pool, and Task.Supervisor.
#include "otp/task.hpp"

#include <algorithm>

#include "node_core.hpp"
#include "server_actor.hpp"

namespace otp {
namespace detail {

std::shared_ptr<TaskState> make_task_state(const std::shared_ptr<Process>& owner) {
  return std::make_shared<TaskState>(Ref::make(), owner);
}

void TaskState::complete(Result<Message> r, bool linked_exit) {
  std::shared_ptr<Endpoint> owner;
  Envelope e;
  {
    std::lock_guard<std::mutex> g(mx_);
    if (result_) return;
    result_ = r;
    linked_exit_ = linked_exit;
    owner = std::move(owner_);
  }
  cv_.notify_all();
  if (!owner) return;
  e.ref = ref_;
  if (r) {
    e.kind = EnvelopeKind::reply;
    e.payload = std::move(r).value();
  } else {
    e.kind = EnvelopeKind::reply_error;
    e.payload = r.error();
  }
  owner->deliver(std::move(e), false);
}

std::optional<Result<Message>> TaskState::wait_until(
    std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lk(mx_);
  cv_.wait_until(lk, deadline, [&] { return result_.has_value(); });
  return result_;
}

bool TaskState::linked_exit() {
  std::lock_guard<std::mutex> g(mx_);
  return linked_exit_;
}

std::optional<Result<Message>> TaskState::peek() {
  std::lock_guard<std::mutex> g(mx_);
  return result_;
}

namespace {

/// A task's process. It never traps exits: any non-normal exit signal ends it at once.
class TaskProcess final : public Process {
 public:
  TaskProcess(NodeCore* node, uint64_t id, std::shared_ptr<TaskState> state, Pid caller)
      : Process(node, id), state_(std::move(state)), caller_(std::move(caller)) {}

  void deliver(Envelope&& e, bool) override {
    switch (e.kind) {
      case EnvelopeKind::exit:
        if (e.via_link() && !take_link(e.from())) return;
        if (e.reason().is_normal()) return;
        die(e.reason().kind() == Reason::Kind::kill ? Reason::killed() : e.reason());
        break;
      case EnvelopeKind::stop_request:
        die(e.reason());
        break;
      case EnvelopeKind::call: {
        Envelope r;
        r.kind = EnvelopeKind::reply_error;
        r.ref = e.ref;
        r.payload = Error(ErrorCode::bad_call, "call to task " + pid().to_string());
        if (e.reply_to) e.reply_to->deliver(std::move(r), false);
        break;
      }
      default:
        break;  // tasks have no mailbox: messages to them are dropped, as for a busy Elixir task
    }
  }

  void run(const std::function<Message()>& body) {
    Result<Message> r = Message();
    Reason reason;
    const Pid me = pid();
    set_current_task(&me);  // self() inside the function is the task
    struct Reset {
      ~Reset() { set_current_task(nullptr); }
    } reset;
    try {
      r = body();
    } catch (const std::exception& ex) {
      reason = Reason::error("exception " + type_name(typeid(ex)) + ": " + ex.what());
    } catch (...) {
      reason = Reason::error("unknown exception");
    }
    if (!alive()) return;  // killed meanwhile: the result is discarded
    if (!reason.is_normal()) {
      if (node()->config().log_crashes)
        node()->log("error", "task " + pid().to_string() + " crashed: " + reason.to_string());
      die(reason);
      return;
    }
    state_->complete(std::move(r));
    exit(Reason::normal());
  }

 private:
  // A caller still linked learns of the death from the link alone: the exit signal goes first
  // and the state is marked, so that the caller's task::then never runs its continuation (the
  // caller dies of the signal or, trapping exits, gets the EXIT message). Otherwise (no link,
  // or unlinked since) the error goes to the state and so to await and then.
  void die(const Reason& reason) {
    Error err(ErrorCode::exit, "task " + pid().to_string() + " exited", reason);
    bool via_link = false;
    if (caller_) {
      auto links = linked_pids();
      via_link = std::find(links.begin(), links.end(), caller_) != links.end();
    }
    if (!via_link) {
      state_->complete(std::move(err));
      exit(reason);
      return;
    }
    exit(reason);
    state_->complete(std::move(err), true);
  }
  std::shared_ptr<TaskState> state_;
  Pid caller_;  // the process async linked the task to, if any
};

}  // namespace

Pid spawn_task(Node& node, std::function<Message()> body, TaskLinks links,
               std::shared_ptr<TaskState> state) {
  auto& core = RuntimeAccess::core(node);
  Pid caller = links.caller ? links.caller->pid() : Pid();
  auto proc = std::make_shared<TaskProcess>(&core, core.next_process_id(), state, caller);
  proc->label = "Task";
  Pid pid = proc->pid();
  if (core.shutting_down()) {
    state->complete(Error(ErrorCode::shutting_down, "task start: node is stopping"));
    return pid;
  }
  proc->has_parent = links.caller || links.supervisor;
  core.add_process(proc);
  if (links.supervisor) Process::link(*links.supervisor, *proc);
  if (links.caller) Process::link(*links.caller, *proc);
  core.blocking_pool().submit([proc, body = std::move(body)] { proc->run(body); });
  return pid;
}

std::shared_ptr<Process> current_process() {
  auto* s = current_server();
  return s ? std::static_pointer_cast<Process>(s->process()) : nullptr;
}

Action await_current(Ref tag, std::chrono::milliseconds timeout,
                     std::function<Action(Result<Message>)> then) {
  auto* s = current_server();
  if (!s) throw std::logic_error("otp::task::then is for use inside a GenServer handler");
  return s->await_tag(tag, timeout, std::move(then));
}

void kill_task(const Pid& pid) {
  if (current_process()) otp::unlink(pid);  // the kill must not come back through the link
  otp::exit(pid, Reason::kill());
}

Action await_current_group(std::vector<Ref> tags, std::chrono::milliseconds timeout,
                           std::function<Action(Result<Message>)> then) {
  auto* s = current_server();
  if (!s) throw std::logic_error("otp::task::then_many is for use inside a GenServer handler");
  auto a = s->await_tag(Ref(), timeout, std::move(then));
  RuntimeAccess::await_spec(a)->group = std::move(tags);
  return a;
}

Error would_block_error(const char* what, const char* instead) {
  return Error(ErrorCode::would_block, std::string(what) +
                                           " inside a handler would block the process (and a "
                                           "scheduler thread): use " +
                                           instead);
}

std::shared_ptr<TaskState> failed_task_state(Error error) {
  auto state = make_task_state(nullptr);
  state->complete(std::move(error));
  return state;
}

}  // namespace detail

namespace task_supervisor {
namespace {

struct WhichTasks {};

/// Traps exits of its tasks (a crashing task must not take it down), reports crashes, and stops
/// every task it supervises when it stops.
class TaskSupervisorServer final : public GenServer {
 public:
  TaskSupervisorServer() { tolerate_unmatched(); }  // as a supervisor does
  Action init() override {
    trap_exit(true);
    return ok();
  }
  Action handle_call(const Message& m, const From&) override {
    return m.match([&](const WhichTasks&) {
      auto* rt = otp::detail::current_server();
      auto kids = rt->process()->linked_pids();
      std::erase_if(kids, [&](const Pid& p) { return p == parent_or_none(); });
      return reply(kids);
    });
  }
  Action handle_info(const Message& m) override {
    if (m.is<ExitSignal>()) return noreply();  // the task already logged its crash
    return GenServer::handle_info(m);
  }
  Action shutdown_requested(const Reason& reason) override {
    auto* rt = otp::detail::current_server();
    for (auto& kid : rt->process()->linked_pids()) otp::exit(kid, Reason::kill());
    return stop(reason);
  }

 private:
  Pid parent_or_none() { return otp::detail::current_server()->parent(); }
};

}  // namespace

Result<Pid> start_link(Node& node, std::optional<Name> name) {
  std::optional<ServerRef> ref;
  if (name) ref = name->ref;
  return otp::detail::start_server(node, otp::detail::make_factory<TaskSupervisorServer>(),
                                   {std::move(ref), true});
}

ChildSpec spec(std::string id, std::optional<ServerRef> name) {
  ChildSpec s;
  s.id = std::move(id);
  s.start = otp::detail::make_factory<TaskSupervisorServer>();
  s.name = std::move(name);
  s.type = ChildType::supervisor;
  s.shutdown_type = Shutdown::infinity();
  return s;
}

Result<std::vector<Pid>> children(Node& node, const ServerRef& sup) {
  return gen_server::call<std::vector<Pid>>(node, sup, WhichTasks{});
}

namespace detail {
Result<std::shared_ptr<otp::detail::Process>> resolve_supervisor(Node& node, const ServerRef& sup) {
  auto pid = otp::detail::resolve(RuntimeAccess::core(node), sup, "task supervisor");
  if (!pid) return pid.error();
  return RuntimeAccess::process(*pid);
}
}  // namespace detail

}  // namespace task_supervisor
}  // namespace otp
