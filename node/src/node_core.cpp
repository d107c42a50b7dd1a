#include "node_core.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/logger.hpp>

#include "distribution.hpp"
#include "envelope.hpp"
#include "scheduler_policy.hpp"
#include "server_actor.hpp"

namespace otp::detail {

namespace {
std::atomic<uint32_t> node_serials{1};

size_t worker_count(size_t configured) {
  if (configured > 0) return configured;
  return std::max<size_t>(1, std::thread::hardware_concurrency());
}
}  // namespace

uint32_t next_node_serial() {
  return node_serials.fetch_add(1, std::memory_order_relaxed);
}

NodeCore::NodeCore(Node& owner, NodeOptions config)
    : owner_(owner),
      config_(std::move(config)),
      serial_(next_node_serial()),
      caf_config_(std::make_unique<caf::actor_system_config>()) {
  config_.scheduler_threads = worker_count(config_.scheduler_threads);
  caf_config_->set("scheduler.max-threads", config_.scheduler_threads);
  // Our own scheduler policy (scheduler_policy.hpp): a short spin before a worker parks, and
  // jobs from outside the actor system handed to the spinning worker instead of round robin.
  caf_config_->load<Scheduler>();
  caf::put(caf_config_->content, "otp.scheduler-spin-us",
           static_cast<int64_t>(config_.scheduler_spin.count()));
  // CAF's default logger prints "unexpected message" etc.; our runtime handles every message.
  system_ = std::make_unique<caf::actor_system>(*caf_config_);
  // CAF keeps the system's logger in a thread-local of every thread that created the system or
  // spawned into it, and ~actor_system waits for those references: drop ours, so a Node can be
  // destroyed on any thread while the threads that used it live on.
  caf::logger::set_current_actor_system(nullptr);
  scheduler_ = &system_->scheduler();
  distribution_ = std::make_unique<Distribution>(*this);
}

NodeCore::~NodeCore() {
  shutdown();
}

std::shared_ptr<Process> NodeCore::find_process(uint64_t id) const {
  std::lock_guard<std::mutex> g(table_mx_);
  auto it = table_.find(id);
  return it == table_.end() ? nullptr : it->second;
}

void NodeCore::add_process(std::shared_ptr<Process> p) {
  std::lock_guard<std::mutex> g(table_mx_);
  table_.emplace(p->id(), std::move(p));
}

void NodeCore::remove_process(uint64_t id) {
  bool empty = false;
  {
    std::lock_guard<std::mutex> g(table_mx_);
    table_.erase(id);
    empty = table_.empty();
  }
  if (empty) table_cv_.notify_all();
}

WorkerCounters& NodeCore::register_worker() {
  const auto me = std::this_thread::get_id();
  std::lock_guard<std::mutex> g(workers_mx_);
  for (auto& [id, counters] : workers_) {
    if (id == me) return *counters;
  }
  workers_.emplace_back(me, std::make_unique<WorkerCounters>());
  return *workers_.back().second;
}

std::pair<uint64_t, uint64_t> NodeCore::handled() const {
  std::lock_guard<std::mutex> g(workers_mx_);
  std::pair<uint64_t, uint64_t> sum{0, 0};
  for (const auto& [_, c] : workers_) {
    sum.first += c->messages.load(std::memory_order_relaxed);
    sum.second += c->calls.load(std::memory_order_relaxed);
  }
  return sum;
}

size_t NodeCore::run_queue() const {
  std::shared_lock<std::shared_mutex> g(scheduler_mx_);
  return scheduler_ ? run_queue_length(static_cast<Scheduler&>(*scheduler_)) : 0;
}

size_t NodeCore::process_count() const {
  std::lock_guard<std::mutex> g(table_mx_);
  return table_.size();
}

Result<void> NodeCore::register_name(const std::string& name, const Pid& pid) {
  if (name.empty()) return Error(ErrorCode::badarg, "register_name: empty name");
  {
    std::unique_lock<std::shared_mutex> g(names_mx_);
    auto [it, inserted] = names_.emplace(name, pid);
    if (!inserted) {
      if (it->second == pid) return {};
      return Error(ErrorCode::already_started,
                   "register_name " + name + ": already registered to " + it->second.to_string());
    }
  }
  if (!RuntimeAccess::process(pid)
           ->alive()) {  // died before we registered: undo, as Erlang's register/2
    unregister_name(name, pid.id());
    return Error(ErrorCode::noproc, "register_name " + name + ": " + pid.to_string());
  }
  RuntimeAccess::process(pid)->add_name(name);
  return {};
}

void NodeCore::unregister_name(const std::string& name, uint64_t id) {
  std::unique_lock<std::shared_mutex> g(names_mx_);
  auto it = names_.find(name);
  if (it != names_.end() && (id == 0 || it->second.id() == id)) names_.erase(it);
}

std::optional<Pid> NodeCore::whereis(const std::string& name) const {
  std::shared_lock<std::shared_mutex> g(names_mx_);
  auto it = names_.find(name);
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

Result<void> NodeCore::put_resource(const std::string& key, std::shared_ptr<void> object) {
  std::lock_guard<std::mutex> g(resources_mx_);
  if (!resources_.emplace(key, std::move(object)).second)
    return Error(ErrorCode::already_started, key + " already exists");
  return {};
}

std::shared_ptr<void> NodeCore::get_resource(const std::string& key) const {
  std::lock_guard<std::mutex> g(resources_mx_);
  auto it = resources_.find(key);
  return it == resources_.end() ? nullptr : it->second;
}

void NodeCore::erase_resource(const std::string& key, const void* object) {
  std::shared_ptr<void> dropped;  // released outside the lock
  std::lock_guard<std::mutex> g(resources_mx_);
  auto it = resources_.find(key);
  if (it != resources_.end() && it->second.get() == object) {
    dropped = std::move(it->second);
    resources_.erase(it);
  }
}

void NodeCore::log(const char* level, const std::string& text) const {
  if (config_.log) {
    config_.log(level, text);
    return;
  }
  std::string line = "[" + config_.name + "] " + level + ": " + text + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void NodeCore::shutdown() {
  std::lock_guard<std::mutex> once(shutdown_mx_);
  if (shut_down_) return;
  shutting_down_.store(true, std::memory_order_release);
  using namespace std::chrono;

  // 1. Ask every process without a parent to stop, newest first: supervision trees then stop
  //    their children in reverse start order, and terminate callbacks run.
  std::vector<std::shared_ptr<Process>> roots;
  {
    std::lock_guard<std::mutex> g(table_mx_);
    for (auto& [id, p] : table_)
      if (!p->has_parent) roots.push_back(p);
  }
  std::sort(roots.begin(), roots.end(), [](auto& a, auto& b) { return a->id() > b->id(); });
  for (auto& p : roots) {
    p->deliver(Envelope::make_signal(EnvelopeKind::stop_request, Pid(), Reason::shutdown()), false);
  }
  roots.clear();
  auto wait_empty = [&](milliseconds limit) {
    std::unique_lock<std::mutex> lk(table_mx_);
    return table_cv_.wait_for(lk, limit, [&] { return table_.empty(); });
  };
  // 2. Kill whatever did not stop in time.
  if (!wait_empty(config_.shutdown_timeout)) {
    std::vector<std::shared_ptr<Process>> rest;
    {
      std::lock_guard<std::mutex> g(table_mx_);
      for (auto& [id, p] : table_) rest.push_back(p);
    }
    log("warning", "shutdown: " + std::to_string(rest.size()) +
                       " process(es) did not stop within the shutdown timeout; killing them");
    for (auto& p : rest) {
      p->deliver(Envelope::make_signal(EnvelopeKind::exit, Pid(), Reason::kill()), true);
    }
    if (!wait_empty(seconds(10)))
      log("error", "shutdown: processes still running after kill (a handler that never returns?)");
  }
  // Every process is gone (their exits reached remote links and monitors): stop distribution.
  distribution_->detach();
  timers_.stop();
  if (size_t busy = pool_.shutdown(std::chrono::seconds(5)))
    log("warning", "shutdown: " + std::to_string(busy) +
                       " task function(s) still running; they finish in the background and their "
                       "results are discarded");
  {
    std::lock_guard<std::mutex> g(resources_mx_);
    resources_.clear();
  }
  {
    std::unique_lock<std::shared_mutex> g(scheduler_mx_);
    scheduler_ = nullptr;
  }
  // No CAF actors to wait for (servers are plain jobs, all finished above): this joins the workers.
  system_.reset();
  shut_down_ = true;
}

}  // namespace otp::detail

namespace otp {

Node::Node(NodeOptions config)
    : core_(std::make_unique<detail::NodeCore>(*this, std::move(config))) {}
Node::~Node() {
  core_->shutdown();
}
const std::string& Node::name() const {
  return core_->config().name;
}
uint32_t Node::serial() const {
  return core_->serial();
}
size_t Node::scheduler_threads() const {
  return core_->config().scheduler_threads;
}
Result<void> Node::register_name(const std::string& name, const Pid& pid) {
  if (!pid) return Error(ErrorCode::badarg, "register_name " + name + ": invalid pid");
  return core_->register_name(name, pid);
}
void Node::unregister_name(const std::string& name) {
  core_->unregister_name(name);
}
std::optional<Pid> Node::whereis(const std::string& name) const {
  return core_->whereis(name);
}
size_t Node::process_count() const {
  return core_->process_count();
}
NodeStats Node::stats() const {
  const auto [messages, calls] = core_->handled();
  return NodeStats{.processes = core_->process_count(),
                   .messages_handled = messages,
                   .calls_handled = calls,
                   .run_queue = core_->run_queue()};
}
void Node::shutdown() {
  core_->shutdown();
}

}  // namespace otp
