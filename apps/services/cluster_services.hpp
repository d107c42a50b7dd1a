// The services every otp-node runs, so a cluster can be tried and tested from outside: their
// messages are registered remote types (otp/remote_type.hpp), so any node can call them by
// {name, node}, and each message has a plain JSON form (the protocol's JSON codec).
//
//   "counter"  Counter: cast Increment{by}; call Get -> int; call Add{by} -> int (new value);
//              call Crash -> crashes (restarted by the supervisor, from 0)
//   "echo"     Echo: call json -> the same json; call WhoAmI -> its Pid; call Crash -> crashes
//              (restarted by the supervisor); call Never -> never answers; call Slow{ms} -> Ok
//              after ms (a deferred reply)
//   "relay"    Relay: does things on behalf of a remote caller, so tests can start traffic from
//              this node: call Relay{node, name, request} -> await_call there, answers its json
//              (or {"error": text}); cast Forward{to, json}: sends json to pid `to`; cast
//              Watch{pid, notify}: monitors and links pid (trapping exits) and sends notify an
//              Event{"down"/"exit", pid, reason} when they fire.
//
// A counter can also run under a global name (otp/global.hpp): global_counter(name) is its child
// spec. Its value is kept outside the process (in the spec), so it survives the restarts of the
// process: after any number of crashes, Get answers the sum of every Add that was answered.
//
//   services::register_types();                          // once per OS process
//   otp::supervisor::start_link(node, services::child_specs(), {});
//   otp::supervisor::start_child(node, global_sup, services::global_counter("gc"));
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

/// A Counter registered as otp::global_name(name), child id "global:<name>", with the given
/// restart type. The value lives in the spec (shared by every start of it), so a restarted
/// counter goes on from where the crashed one stopped. A counter that loses its name in a
/// conflict says so on stderr ("counter <pid> lost global name <name> to <winner>") before it
/// exits.
otp::ChildSpec global_counter(const std::string& name, otp::Restart restart);

}  // namespace services
