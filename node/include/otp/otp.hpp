// otp-cluster's node runtime in one include, for code on one node: Node, processes, GenServer,
// Supervisor, DynamicSupervisor, Agent, Task, Registry, Table. See README.md for a tour and
// docs/architecture.md for how it works.
//
// Talking to other nodes needs more: otp/distributed.hpp adds the remote message types
// (otp/remote_type.hpp, which brings nlohmann/json) and the seam a transport plugs into
// (otp/distribution.hpp). Local code never pays for either.
#pragma once

#include "otp/agent.hpp"
#include "otp/child_spec.hpp"
#include "otp/dynamic_supervisor.hpp"
#include "otp/error.hpp"
#include "otp/gen_server.hpp"
#include "otp/message.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/process.hpp"
#include "otp/reason.hpp"
#include "otp/registry.hpp"
#include "otp/server_ref.hpp"
#include "otp/supervisor.hpp"
#include "otp/table.hpp"
#include "otp/task.hpp"
