// otp::Registry: Elixir's Registry — a local, key/value process registry with unique or duplicate
// keys, usable as a via name (everywhere a server is addressed) and for pub/sub over duplicate
// keys. As in the seed's UserSession:
//
// clang-format off
//   auto reg = otp::Registry::start(node, {.keys = otp::Registry::Keys::unique,
//                                          .name = "MyApp.Registry"}).value();
//   auto key = std::tuple{"user_session", 42};             // {:user_session, 42}
//   otp::gen_server::start_link<UserSession>(node, otp::name(otp::via(reg, key)), 42);
//   auto found = reg->lookup(key);                         // [{pid, metadata}] or []
//   auto same = otp::Registry::find(node, "MyApp.Registry");  // Result: not_found without it
// clang-format on
//
// Reads never go through a process: entries live in partitions, each behind its own
// reader-writer lock, so lookups from many threads do not queue behind writers or each other.
// Entries vanish when their process dies: the registry monitors every registered process, and
// the dying process removes its entries itself before any Down it sends is delivered, so once
// anyone has seen a process die, the registry no longer lists it.
//
// Keys are otp::RegistryKey (registry_key.hpp): strings, or values of any hashable, comparable
// type — numbers, std::tuple and std::pair of such, enums and structs with std::hash and ==
// — kept as they are, not formatted into strings; keys of different types never match. Metadata
// is any otp::Message. Lookups: Registry::find returns a Result (not_found), as Table::find
// does; lookup returns the entries (empty when none, as Elixir's []); whereis_name an optional.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "otp/child_spec.hpp"
#include "otp/error.hpp"
#include "otp/message.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/registry_key.hpp"
#include "otp/server_ref.hpp"

namespace otp {

/// unique: one entry per key (a name); duplicate: many (pub/sub).
enum class RegistryKeys { unique, duplicate };

/// How Registry::start sets a registry up.
struct RegistryOptions {
  /// unique or duplicate.
  RegistryKeys keys = RegistryKeys::unique;
  /// Registered on the node so Registry::find(node, name) returns it; empty = anonymous.
  std::string name = {};
  /// Independent lock partitions (Elixir's :partitions); 0 = 4 x scheduler threads.
  size_t partitions = 0;
};

/// A registry (see the header comment); shared by shared_ptr, found by name.
class Registry : public ViaRegistry, public std::enable_shared_from_this<Registry> {
 public:
  /// Registry::Keys::unique reads as Elixir's `keys: :unique`.
  using Keys = RegistryKeys;
  /// One registration: the process and the value it registered with.
  struct Entry {
    Pid pid;
    Message value;
  };

  /// Creates a registry. With a name that is taken: already_started. A named registry created
  /// inside a process belongs to it: its name goes when that process dies (as a named ETS table).
  static Result<std::shared_ptr<Registry>> start(Node& node, RegistryOptions options);
  /// The registry registered under name; not_found when there is none (a Result, as
  /// Table<K, V>::find returns).
  static Result<std::shared_ptr<Registry>> find(Node& node, const std::string& name);
  /// A child spec that owns a registry for the lifetime of a supervised process (the seed's
  /// `{Registry, keys: :unique, name: MyApp.Registry}`); the registry is found by name.
  static ChildSpec child_spec(std::string id, RegistryOptions options);

  /// The entries go with the registry (the processes stay).
  ~Registry() override;

  /// unique or duplicate.
  Keys keys() const;
  /// Its name ("" when anonymous).
  const std::string& name() const;

  /// Registers the running process (self()) under key. Unique keys: fails with already_started
  /// naming the owner when the key is taken (exactly one of concurrent registrations wins).
  Result<void> register_key(const RegistryKey& key, Message value = {});
  /// The same for an explicit pid (an Inbox, or on behalf of another process).
  Result<void> register_pid(const Pid& pid, const RegistryKey& key, Message value = {});
  /// Removes the running process's (or pid's) entries under key.
  void unregister(const RegistryKey& key);
  /// Removes pid's entries under key.
  void unregister_pid(const Pid& pid, const RegistryKey& key);

  /// Entries under key (one at most for unique keys), in registration order.
  std::vector<Entry> lookup(const RegistryKey& key) const;
  /// Calls fn with the entries under key (only if there are some), outside any lock: pub/sub.
  void dispatch(const RegistryKey& key,
                const std::function<void(const std::vector<Entry>&)>& fn) const;
  /// Number of keys registered (all processes).
  size_t count() const;
  /// Number of entries under key.
  size_t count(const RegistryKey& key) const;
  /// Keys pid has registered.
  std::vector<RegistryKey> keys_of(const Pid& pid) const;
  /// pid's values under key.
  std::vector<Message> values(const RegistryKey& key, const Pid& pid) const;

  // -- ViaRegistry (unique registries) --
  /// register_pid without a value (the via contract: otp::name(otp::via(reg, key)) uses it).
  /// Errors: badarg for a duplicate-keys registry, already_started when key is taken.
  Result<void> register_name(const RegistryKey& key, const Pid& pid) override;
  /// Removes key's entries.
  void unregister_name(const RegistryKey& key) override;
  /// The pid under key (the first one for duplicate keys), or nullopt.
  std::optional<Pid> whereis_name(const RegistryKey& key) override;
  /// "Registry <name>", for errors and logs.
  std::string describe() const override;

 private:
  struct Impl;
  explicit Registry(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace otp
