// The entry point of a node program the test kit can start (ProcessCluster's `program`): your own
// service on a Node with gossip membership, driven by the kit like otp-node. node_main parses the
// flags the kit passes, starts the Node and its Cluster (with a fault injector for the kit's
// partitions), runs your setup, prints the ready line the kit waits for, serves the control
// channel on stdin (otp/cluster/control_channel.hpp) and runs until SIGTERM / SIGINT, the end of
// stdin (the test is gone) or --max-seconds. Returns the exit status (0 after a clean stop, 1 when
// the node can not start, 2 on a usage error).
//
//   int main(int argc, char** argv) {
//     return otp::testkit::node_main(argc, argv, [](otp::Node& node, otp::cluster::Cluster&) {
//       my_service::start(node);     // e.g. a gen_server under a global name
//     });
//   }
//
// Flags (the kit passes all but the last two; flags it does not know are left to the program):
//   --name NAME --host HOST --listen [HOST:]PORT --gossip [HOST:]PORT --seeds HOST:PORT,...
//   --cookie SECRET --max-seconds S --threads N --control-stdin
// stdout, one line per event: "ready <name@host#creation> port=<p> gossip=<g>", "member <kind>
// <name@host> ...", "nodeup <node>", "nodedown <node> <reason>", the control channel's answers,
// "stopped".
#pragma once

#include <functional>

#include "otp/cluster/cluster.hpp"
#include "otp/node.hpp"

namespace otp::testkit {

/// Runs a node program; see the file comment. `setup` runs once the Cluster is started, before
/// the ready line; an exception from it ends the program with status 1.
int node_main(int argc, char** argv,
              std::function<void(otp::Node&, otp::cluster::Cluster&)> setup = {});

}  // namespace otp::testkit
