// otp::global: the user's API over the node's global name registry (global_registry.hpp).
#include "otp/global.hpp"

#include "distribution.hpp"
#include "global_registry.hpp"
#include "node_core.hpp"

namespace otp {

namespace {

detail::NodeGlobalRegistry* registry_of(Node& node) {
  auto& d = RuntimeAccess::core(node).distribution();
  return d.attached() ? d.global() : nullptr;
}

Error not_distributed(std::string_view name) {
  return Error(ErrorCode::noproc, "global name " + std::string(name) +
                                      ": this node is not distributed (start a Cluster)");
}

}  // namespace

// -- GlobalRegistry as a ViaRegistry
// ----------------------------------------------------------------

Result<void> GlobalRegistry::register_name(const RegistryKey& key, const Pid& pid) {
  const std::string* name = key.get_if<std::string>();
  if (!name) return Error(ErrorCode::badarg, "global names are strings, not " + key.to_string());
  auto r = add(*name, pid, {});
  if (!r && r.code() == ErrorCode::already_registered)
    return Error(ErrorCode::already_started, r.error().context());
  return r;
}

void GlobalRegistry::unregister_name(const RegistryKey& key) {
  if (const std::string* name = key.get_if<std::string>()) (void)remove(*name);
}

std::optional<Pid> GlobalRegistry::whereis_name(const RegistryKey& key) {
  const std::string* name = key.get_if<std::string>();
  if (!name) return std::nullopt;
  auto owner = find(*name);
  if (!owner) return std::nullopt;
  return owner->pid;
}

const char* to_string(GlobalEvent::Kind kind) {
  switch (kind) {
    case GlobalEvent::Kind::registered:
      return "registered";
    case GlobalEvent::Kind::unregistered:
      return "unregistered";
    case GlobalEvent::Kind::conflict:
      return "conflict";
  }
  return "?";
}

namespace global {

Result<void> register_name(Node& node, std::string name, const Pid& pid, std::string metadata) {
  auto reg = registry_of(node);
  if (!reg) return not_distributed(name);
  return reg->add(std::move(name), pid, std::move(metadata));
}

Result<void> unregister_name(Node& node, std::string_view name) {
  auto reg = registry_of(node);
  if (!reg) return not_distributed(name);
  return reg->remove(name);
}

Result<void> update_metadata(Node& node, std::string_view name, std::string metadata) {
  auto reg = registry_of(node);
  if (!reg) return not_distributed(name);
  return reg->set_metadata(name, std::move(metadata));
}

std::optional<Pid> whereis_name(Node& node, std::string_view name) {
  auto* reg = registry_of(node);
  return reg ? reg->whereis(name) : std::nullopt;
}

std::optional<GlobalOwner> lookup(Node& node, std::string_view name) {
  auto reg = registry_of(node);
  return reg ? reg->find(name) : std::nullopt;
}

std::vector<std::string> registered_names(Node& node) {
  auto reg = registry_of(node);
  return reg ? reg->names() : std::vector<std::string>{};
}

Ref monitor_name(Node& node, const Pid& watcher, std::string name) {
  auto reg = registry_of(node);
  return reg ? reg->monitor(watcher, std::move(name)) : Ref();
}

Ref monitor_names(Node& node, const Pid& watcher) {
  auto reg = registry_of(node);
  return reg ? reg->monitor_all(watcher) : Ref();
}

void demonitor_name(Node& node, Ref ref) {
  if (auto reg = registry_of(node)) reg->demonitor(ref);
}

RegistryStats stats(Node& node) {
  // The last attach's registry, even after a detach: its counters stay meaningful.
  auto* reg = RuntimeAccess::core(node).distribution().global();
  return reg ? reg->stats() : RegistryStats{};
}

std::shared_ptr<GlobalRegistry> registry(Node& node) {
  auto* reg = registry_of(node);
  return reg ? reg->shared_from_this() : nullptr;
}

}  // namespace global
}  // namespace otp
