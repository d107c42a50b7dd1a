// Everything in otp/otp.hpp plus what code that spans nodes needs: registering the message
// types that may cross nodes (otp/remote_type.hpp, with nlohmann/json) and the distribution
// seam a transport plugs into (otp/distribution.hpp: attach, node_up/node_down, receive,
// monitor_nodes). Applications on a cluster usually include this and otp/cluster/cluster.hpp:
//
// clang-format off
//   #include "otp/distributed.hpp"
//   struct Get {};
//   otp::register_remote_type<Get>("counter.get");  // on every node, at start-up
//   otp::gen_server::call<int>(node, otp::remote_name("counter", "b@10.0.0.2"), Get{});
// clang-format on
#pragma once

#include "otp/distribution.hpp"
#include "otp/global.hpp"
#include "otp/otp.hpp"
#include "otp/remote_type.hpp"
