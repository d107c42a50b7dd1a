// The seed's Elixir OTP patterns written with otp-cluster's API, in one include.
#pragma once

#include "seed/application.hpp"
#include "seed/cache.hpp"
#include "seed/component.hpp"
#include "seed/config_loader.hpp"
#include "seed/counter.hpp"
#include "seed/database.hpp"
#include "seed/database_pool.hpp"
#include "seed/journal.hpp"
#include "seed/puts.hpp"
#include "seed/session_manager.hpp"
#include "seed/task_runner.hpp"
#include "seed/task_supervisor.hpp"
#include "seed/user_cache.hpp"
#include "seed/web_server.hpp"
