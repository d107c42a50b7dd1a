// The services every otp-node runs, so a cluster can be tried and tested from outside: their
// messages are registered remote types (otp/remote_type.hpp), so any node can call them by
// {name, node}, and each message has a plain JSON form (the protocol's JSON codec).
//
//   "counter"  Counter: cast Increment{by}; call Get -> int; call Add{by} -> int (new value)
//   "echo"     Echo: call json -> the same json; call WhoAmI -> its Pid; call Crash -> crashes
//              (restarted by the supervisor); call Never -> never answers; call Slow{ms} -> Ok
//              after ms (a deferred reply)
//   "relay"    Relay: does things on behalf of a remote caller, so tests can start traffic from
//              this node: call Relay{node, name, request} -> await_call there, answers its json
//              (or {"error": text}); cast Forward{to, json}: sends json to pid `to`; cast
//              Watch{pid, notify}: monitors and links pid (trapping exits) and sends notify an
//              Event{"down"/"exit", pid, reason} when they fire.
//
//   services::register_types();                          // once per OS process
//   otp::supervisor::start_link(node, services::child_specs(), {});
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "otp/distributed.hpp"

namespace services {

struct Increment {
  int by = 1;
};
struct Get {};
struct Add {
  int by = 1;
};
struct WhoAmI {};
struct Crash {};
struct Never {};
struct Slow {
  int ms = 0;
};
struct Relay {
  std::string node;
  std::string name;
  nlohmann::json request;
};
struct Forward {
  otp::Pid to;
  nlohmann::json message;
};
struct Watch {
  otp::Pid pid;
  otp::Pid notify;
};
struct Event {
  std::string kind;  // "down" or "exit"
  otp::Pid pid;
  std::string reason;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Increment, by)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Add, by)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Slow, ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Relay, node, name, request)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Forward, to, message)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Watch, pid, notify)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Event, kind, pid, reason)

/// Registers every message type above under "svc.<name>". Idempotent.
void register_types();

/// counter, echo and relay, as a one_for_one supervisor's children.
std::vector<otp::ChildSpec> child_specs();

}  // namespace services
