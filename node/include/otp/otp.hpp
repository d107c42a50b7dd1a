// otp-cluster's node runtime in one include: Node, processes, GenServer, Supervisor,
// DynamicSupervisor. See README.md for a tour and docs/architecture.md for how it works.
#pragma once

#include "otp/agent.hpp"
#include "otp/child_spec.hpp"
#include "otp/distribution.hpp"
#include "otp/dynamic_supervisor.hpp"
#include "otp/error.hpp"
#include "otp/gen_server.hpp"
#include "otp/message.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/process.hpp"
#include "otp/reason.hpp"
#include "otp/registry.hpp"
#include "otp/remote_type.hpp"
#include "otp/server_ref.hpp"
#include "otp/supervisor.hpp"
#include "otp/table.hpp"
#include "otp/task.hpp"
