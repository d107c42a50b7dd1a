// kv: the example's own service, a key-value store that runs once in the cluster under the
// global name "kv" and answers from every node (otp/global.hpp). Its promise, which
// kv_partition_test.cpp checks with the test kit: every put that was acknowledged is in the
// store, with its value, whatever partitions happened meanwhile.
//
//   kv::register_types();                        // once per process, before any node talks
//   kv::start(node);                             // on the node that owns the store
//   kv::put(node, "colour", "blue");             // on any node: Ok, or why it failed
//   kv::get(node, "colour");                     // "blue"; nullopt when absent
//   kv::dump(node);                              // every key and value
#pragma once

#include <map>
#include <optional>
#include <string>

#include <otp/distributed.hpp>

namespace kv {

/// The global name the store runs under.
inline constexpr const char* service_name = "kv";

/// Lets the store's requests cross nodes. Idempotent; call it once per process at start-up.
void register_types();

/// Starts the store on this node under the global name (already_registered when it runs
/// elsewhere).
otp::Result<otp::Pid> start(otp::Node& node);

/// Stores value under key, through the global name from any node. noproc: no node owns the name
/// here (the request was not sent); nodedown or timeout: the owner may or may not have applied it.
otp::Result<void> put(otp::Node& node, const std::string& key, const std::string& value);
/// The value of key, nullopt when absent.
otp::Result<std::optional<std::string>> get(otp::Node& node, const std::string& key);
/// The whole store.
otp::Result<std::map<std::string, std::string>> dump(otp::Node& node);

}  // namespace kv
