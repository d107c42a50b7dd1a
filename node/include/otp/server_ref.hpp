// otp::ServerRef: how a process is addressed — by Pid (of this node or another), by a name
// registered on the local node, by a name registered on another node (Erlang's {Name, Node}), by
// a global name held anywhere in the cluster (Erlang's {global, Name}, see otp/global.hpp), or
// by a via name resolved through any registry that implements otp::ViaRegistry (OTP's
// {via, Module, Name}). Everything that takes a server (call, cast, send, start_link's name)
// takes a ServerRef, so a plain string, a Pid or `otp::via(registry, "key")` all work.
//
// clang-format off
//   otp::gen_server::call<int>(node, "counter", Get{});              // local name
//   otp::gen_server::call<int>(node, pid, Get{});                    // pid, local or remote
//   otp::gen_server::call<int>(node, otp::via(reg, "user:42"), Get{});  // via name
//   otp::gen_server::call<int>(node, otp::remote_name("counter", "b@10.0.0.2"), Get{});
//   otp::gen_server::call<int>(node, otp::global_name("counter"), Get{});  // on any node
// clang-format on
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "otp/error.hpp"
#include "otp/message.hpp"
#include "otp/pid.hpp"
#include "otp/registry_key.hpp"

namespace otp {

/// The via contract (OTP's register_name / unregister_name / whereis_name / send). A registry
/// that implements it can name processes everywhere a server is addressed. The registry is
/// responsible for forgetting a name when its process dies (it may monitor the pid). Keys are
/// otp::RegistryKey: a string, or any hashable, comparable value (a registry that takes only
/// some kinds, as global names are strings, fails register_name for the others with badarg).
class ViaRegistry {
 public:
  virtual ~ViaRegistry() = default;
  /// Binds key to pid; fails with already_started (the message names the owner) when taken.
  virtual Result<void> register_name(const RegistryKey& key, const Pid& pid) = 0;
  /// Removes key (nothing if it is not registered).
  virtual void unregister_name(const RegistryKey& key) = 0;
  /// The pid registered under key, or nullopt.
  virtual std::optional<Pid> whereis_name(const RegistryKey& key) = 0;
  /// Short name used in logs and errors ("Registry MyApp.Registry").
  virtual std::string describe() const = 0;
};

/// OTP's {via, Module, Name}: a key resolved through a ViaRegistry (build it with otp::via).
struct ViaName {
  std::shared_ptr<ViaRegistry> registry;  // this registry object, or
  std::string registry_name;              // the otp::Registry of that name, found at each use
  RegistryKey key;
};

/// `{via, Registry, Key}` through this registry object; key is a string or any RegistryKeyType
/// (`otp::via(reg, std::tuple{"user_session", 42})`).
inline ViaName via(std::shared_ptr<ViaRegistry> registry, RegistryKey key) {
  return ViaName{std::move(registry), {}, std::move(key)};
}
/// `{via, Registry, {MyApp.Registry, Key}}`: through the otp::Registry named registry_name on the
/// node where it is used, looked up at each use, so the name keeps working after the registry
/// is restarted by its supervisor.
inline ViaName via(std::string registry_name, RegistryKey key) {
  return ViaName{nullptr, std::move(registry_name), std::move(key)};
}

/// `{Name, Node}`: the process registered as name on the node called node ("name@host"), looked up
/// there at each use. Needs the node to be connected (see otp/distribution.hpp).
struct RemoteName {
  std::string name;
  std::string node;
};

/// `{name, node}` as a ServerRef: otp::remote_name("counter", "b@10.0.0.2").
inline RemoteName remote_name(std::string name, std::string node) {
  return RemoteName{std::move(name), std::move(node)};
}

/// `{global, Name}`: the process holding name in the cluster's global registry (otp/global.hpp),
/// looked up in this node's replica at each use.
struct GlobalName {
  std::string name;
};

/// `{global, name}` as a ServerRef: otp::global_name("counter").
inline GlobalName global_name(std::string name) {
  return GlobalName{std::move(name)};
}

/// A pid, a local name, a via name, a remote name or a global name; converts implicitly from
/// each.
class ServerRef {
 public:
  ServerRef(Pid pid) : v_(std::move(pid)) {}              // NOLINT: implicit on purpose
  ServerRef(std::string name) : v_(std::move(name)) {}    // NOLINT
  ServerRef(const char* name) : v_(std::string(name)) {}  // NOLINT
  ServerRef(ViaName via) : v_(std::move(via)) {}          // NOLINT
  ServerRef(RemoteName name) : v_(std::move(name)) {}     // NOLINT
  ServerRef(GlobalName name) : v_(std::move(name)) {}     // NOLINT

  /// The pid, or nullptr when the ref is a name.
  const Pid* pid() const { return std::get_if<Pid>(&v_); }
  /// The local name, or nullptr.
  const std::string* local_name() const { return std::get_if<std::string>(&v_); }
  /// The via name, or nullptr.
  const ViaName* via_name() const { return std::get_if<ViaName>(&v_); }
  /// The remote name, or nullptr.
  const RemoteName* remote_name() const { return std::get_if<RemoteName>(&v_); }
  /// The global name, or nullptr.
  const GlobalName* global_name() const { return std::get_if<GlobalName>(&v_); }

  /// "counter", "<1.42.0>", "{via, Registry X, user:42}", "{counter, b@h}", "{global, counter}"
  /// — for errors and logs.
  std::string to_string() const;

 private:
  std::variant<Pid, std::string, ViaName, RemoteName, GlobalName> v_;
};

}  // namespace otp
