// The control service every otp-node runs under the registered name "otp_ctl": what otp-ctl
// (apps/otp_ctl.cpp) asks a node. Its requests are registered remote types (otp/remote_type.hpp)
// whose JSON form otp-ctl writes by type name, without these C++ types; every answer is a JSON
// value (registered type "json"), or a call error whose text says why.
//
//   "ctl.members"  {}                      -> [{"name","address","gossip","state","incarnation"}]
//   "ctl.nodes"    {}                      -> ["name@host", ...]  (distribution::nodes: hidden
//                                             nodes, otp-ctl itself among them, left out)
//   "ctl.names"    {}                      -> [{"name","pid","node"}]   (the global name table)
//   "ctl.whereis"  {"name"}                -> {"name","pid","node","scope":"global"|"local"}
//   "ctl.call"     {"name","message":{"type","value"},"timeout_ms"}
//                                          -> {"type","value"}: the server's reply, as it would
//                                             cross nodes
//   "ctl.cast"     {"name","message":{"type","value"}} -> {} once the message is cast
//   "ctl.info"     {}                      -> {"node","processes","run_queue","memory_bytes",
//                                             "hidden_nodes","links":[{"peer","hidden",...}],...}
//
// NAME is a global name (otp/global.hpp) if one is registered, else a name registered on this
// node. An unknown name, a message type this node does not know or a value that does not decode
// is a call error (bad_call) that names it.
//
//   services::register_control_types();                          // once per OS process
//   otp::supervisor::start_child(node, sup, services::control_service(*cluster));
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "otp/cluster/cluster.hpp"
#include "otp/distributed.hpp"

namespace services {

/// The name the control service is registered under on every otp-node.
inline constexpr const char* kControlName = "otp_ctl";

struct CtlMembers {};
struct CtlNodes {};
struct CtlNames {};
struct CtlInfo {};
struct CtlWhereis {
  std::string name;
};
struct CtlCall {
  std::string name;
  nlohmann::json message;  // {"type": registered type name, "value": its JSON}
  uint64_t timeout_ms = 5000;
};
struct CtlCast {
  std::string name;
  nlohmann::json message;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CtlWhereis, name)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CtlCall, name, message, timeout_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CtlCast, name, message)

/// Registers the request types above under "ctl.<what>". Idempotent.
void register_control_types();

/// The control service as a child spec (id and registered name "otp_ctl"). The cluster must
/// outlive the process (otp-node stops the supervisor before the cluster).
otp::ChildSpec control_service(otp::cluster::Cluster& cluster);

}  // namespace services
