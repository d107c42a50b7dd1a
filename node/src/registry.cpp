// otp::Registry: partitioned key -> entries maps behind reader-writer locks; a registry monitors
// each registered process through an Endpoint of its own, so the dying process removes its own
// entries (synchronously, before its Downs are delivered).
#include "otp/registry.hpp"

#include <algorithm>
#include <shared_mutex>
#include <unordered_map>

#include "node_core.hpp"
#include "server_actor.hpp"

namespace otp {

struct Registry::Impl final : detail::Endpoint, std::enable_shared_from_this<Registry::Impl> {
  struct Partition {
    mutable std::shared_mutex mx;
    std::unordered_map<RegistryKey, std::vector<Entry>> by_key;
  };
  struct Registered {
    Ref monitor;
    std::vector<RegistryKey> keys;
  };

  detail::NodeCore* node;
  Keys keys;
  std::string name;
  std::vector<std::unique_ptr<Partition>> parts;
  std::mutex writers_mx;  // registrations and removals; reads never take it
  std::unordered_map<uint64_t, Registered> by_pid;
  Ref owner_monitor;                // the process that created a named registry
  const void* published = nullptr;  // the Registry object in the node's name table

  Partition& part(const RegistryKey& key) const { return *parts[key.hash() % parts.size()]; }

  // A registered process died: drop all its entries.
  void deliver(detail::Envelope&& e, bool) override {
    if (e.kind != detail::EnvelopeKind::down) return;
    if (e.ref == owner_monitor) {  // the owner died: the name goes with it
      node->erase_resource("registry:" + name, published);
      return;
    }
    std::lock_guard<std::mutex> g(writers_mx);
    auto it = by_pid.find(e.from().id());
    if (it == by_pid.end() || !(it->second.monitor == e.ref)) return;
    for (auto& key : it->second.keys) erase_entries(key, e.from());
    by_pid.erase(it);
  }

  void erase_entries(const RegistryKey& key, const Pid& pid) {
    Partition& p = part(key);
    std::unique_lock<std::shared_mutex> w(p.mx);
    auto found = p.by_key.find(key);
    if (found == p.by_key.end()) return;
    std::erase_if(found->second, [&](const Entry& x) { return x.pid == pid; });
    if (found->second.empty()) p.by_key.erase(found);
  }

  Result<void> add(const Pid& pid, const RegistryKey& key, Message value) {
    if (!pid) return Error(ErrorCode::badarg, "Registry " + name + ": register of an invalid pid");
    std::lock_guard<std::mutex> g(writers_mx);
    Partition& p = part(key);
    {
      std::shared_lock<std::shared_mutex> r(p.mx);
      auto found = p.by_key.find(key);
      if (keys == Keys::unique && found != p.by_key.end() && !found->second.empty())
        return Error(ErrorCode::already_started, "Registry " + name + " key " + key.to_string() +
                                                     " already registered to " +
                                                     found->second.front().pid.to_string());
    }
    auto [info, fresh] = by_pid.try_emplace(pid.id());
    if (fresh) {
      info->second.monitor = Ref::make();
      if (!RuntimeAccess::process(pid)->add_monitor(info->second.monitor, shared_from_this())) {
        by_pid.erase(info);
        return Error(ErrorCode::noproc, "Registry " + name + ": " + pid.to_string() + " is dead");
      }
    }
    info->second.keys.push_back(key);
    std::unique_lock<std::shared_mutex> w(p.mx);
    p.by_key[key].push_back(Entry{pid, std::move(value)});
    return {};
  }

  void remove(const Pid& pid, const RegistryKey& key) {
    std::lock_guard<std::mutex> g(writers_mx);
    auto it = by_pid.find(pid.id());
    if (it == by_pid.end()) return;
    std::erase(it->second.keys, key);
    erase_entries(key, pid);
    if (it->second.keys.empty()) {
      RuntimeAccess::process(pid)->remove_monitor(it->second.monitor);
      by_pid.erase(it);
    }
  }
};

namespace {
std::string resource_key(const std::string& name) {
  return "registry:" + name;
}

Pid caller(const char* op) {
  Pid me = self();
  if (!me)
    throw std::logic_error(std::string("Registry::") + op +
                           " registers the running process: call it from a handler, or use the "
                           "_pid form");
  return me;
}

/// Owns a named registry for as long as it runs under its supervisor (the registry is owned by
/// the process that starts it, and its name goes when that process dies).
class RegistryOwner : public GenServer {
 public:
  explicit RegistryOwner(RegistryOptions options) : options_(std::move(options)) {}
  Action init() override {
    auto r = Registry::start(node(), options_);
    if (!r) return stop(Reason::error(r.error().to_string()));
    registry_ = *r;
    return ok();
  }

 private:
  RegistryOptions options_;
  std::shared_ptr<Registry> registry_;
};
}  // namespace

Result<std::shared_ptr<Registry>> Registry::start(Node& node, RegistryOptions options) {
  auto impl = std::make_shared<Impl>();
  impl->node = &RuntimeAccess::core(node);
  impl->keys = options.keys;
  impl->name = options.name.empty() ? std::string("(anonymous)") : options.name;
  size_t n = options.partitions ? options.partitions : 4 * node.scheduler_threads();
  for (size_t i = 0; i < n; ++i) impl->parts.push_back(std::make_unique<Impl::Partition>());
  std::shared_ptr<Registry> reg(new Registry(impl));
  if (!options.name.empty()) {
    auto put = RuntimeAccess::core(node).put_resource(resource_key(options.name), reg);
    if (!put) return Error(ErrorCode::already_started, "Registry " + options.name + ": name taken");
    impl->published = reg.get();
    if (Pid owner = self()) {
      impl->owner_monitor = Ref::make();
      if (!RuntimeAccess::process(owner)->add_monitor(impl->owner_monitor, impl))
        RuntimeAccess::core(node).erase_resource(resource_key(options.name), reg.get());
    }
  }
  return reg;
}

Result<std::shared_ptr<Registry>> Registry::find(Node& node, const std::string& name) {
  auto found = RuntimeAccess::core(node).get_resource(resource_key(name));
  if (!found) return Error(ErrorCode::not_found, "Registry " + name + ": no such registry");
  return std::static_pointer_cast<Registry>(std::move(found));
}

ChildSpec Registry::child_spec(std::string id, RegistryOptions options) {
  ChildSpec spec;
  spec.id = std::move(id);
  spec.start = detail::make_factory<RegistryOwner>(std::move(options));
  return spec;
}

Registry::~Registry() = default;

Registry::Keys Registry::keys() const {
  return impl_->keys;
}
const std::string& Registry::name() const {
  return impl_->name;
}

Result<void> Registry::register_key(const RegistryKey& key, Message value) {
  return impl_->add(caller("register_key"), key, std::move(value));
}
Result<void> Registry::register_pid(const Pid& pid, const RegistryKey& key, Message value) {
  return impl_->add(pid, key, std::move(value));
}
void Registry::unregister(const RegistryKey& key) {
  impl_->remove(caller("unregister"), key);
}
void Registry::unregister_pid(const Pid& pid, const RegistryKey& key) {
  impl_->remove(pid, key);
}

std::vector<Registry::Entry> Registry::lookup(const RegistryKey& key) const {
  auto& p = impl_->part(key);
  std::shared_lock<std::shared_mutex> r(p.mx);
  auto found = p.by_key.find(key);
  if (found == p.by_key.end()) return {};
  return found->second;
}

void Registry::dispatch(const RegistryKey& key,
                        const std::function<void(const std::vector<Entry>&)>& fn) const {
  auto entries = lookup(key);
  if (!entries.empty()) fn(entries);
}

size_t Registry::count() const {
  size_t n = 0;
  for (auto& p : impl_->parts) {
    std::shared_lock<std::shared_mutex> r(p->mx);
    n += p->by_key.size();
  }
  return n;
}

size_t Registry::count(const RegistryKey& key) const {
  auto& p = impl_->part(key);
  std::shared_lock<std::shared_mutex> r(p.mx);
  auto found = p.by_key.find(key);
  return found == p.by_key.end() ? 0 : found->second.size();
}

std::vector<RegistryKey> Registry::keys_of(const Pid& pid) const {
  std::lock_guard<std::mutex> g(impl_->writers_mx);
  auto it = impl_->by_pid.find(pid.id());
  if (it == impl_->by_pid.end()) return {};
  return it->second.keys;
}

std::vector<Message> Registry::values(const RegistryKey& key, const Pid& pid) const {
  std::vector<Message> out;
  for (auto& e : lookup(key))
    if (e.pid == pid) out.push_back(e.value);
  return out;
}

Result<void> Registry::register_name(const RegistryKey& key, const Pid& pid) {
  if (impl_->keys != Keys::unique)
    return Error(ErrorCode::badarg, "Registry " + impl_->name + ": via names need unique keys");
  return impl_->add(pid, key, Message());
}

void Registry::unregister_name(const RegistryKey& key) {
  for (auto& e : lookup(key)) impl_->remove(e.pid, key);
}

std::optional<Pid> Registry::whereis_name(const RegistryKey& key) {
  auto& p = impl_->part(key);
  std::shared_lock<std::shared_mutex> r(p.mx);
  auto found = p.by_key.find(key);
  if (found == p.by_key.end() || found->second.empty()) return std::nullopt;
  return found->second.front().pid;
}

std::string Registry::describe() const {
  return "Registry " + impl_->name;
}

}  // namespace otp
