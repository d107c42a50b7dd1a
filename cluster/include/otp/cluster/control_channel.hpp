// The control channel of a node process: a test kit (otp::testkit's ProcessCluster) writes
// command lines to the node's stdin, the node answers on its stdout, each answer ending in one
// "control ok <command>" or "control error <command>: <why>" line. Through it the kit sets the
// node's fault-injection seam (otp/cluster/faults.hpp), which partitions, drops and slows links
// without root, and reads the node's view. otp-node (--control-stdin) and programs built on
// otp::testkit::node_main serve it; both print their membership and global-name lines with the
// functions at the end, so the kit reads one format whichever program runs.
//
//   fault set n2@127.0.0.1 drop=1 delay_ms=0   this node drops all traffic with n2 (both ways)
//   fault clear n2@127.0.0.1                   -> control ok fault clear n2@127.0.0.1
//   fault clear-all
//   faults     -> faults <count> <name@host>=drop:<0..1>,delay_ms:<n> ...   (the faults set now)
//   members    -> members <count> <name@host>=<alive|suspect|failed|left> ...   (self included)
//   nodes      -> nodes <count> <name@host> ...                (the nodes linked to this one)
//   globals    -> globals <count> <name>=<owner pid> ...      (this node's global name replica)
//
//   otp::cluster::ControlCommands commands(node, cluster, faults);  // ClusterOptions::faults
//   otp::cluster::ControlChannel channel(commands, print_line, [] { stop = true; });
//
// End of input on stdin means the kit (the test process) is gone: on_end runs, the node stops.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "otp/cluster/cluster.hpp"
#include "otp/cluster/faults.hpp"
#include "otp/node.hpp"

namespace otp::cluster {

/// Answers command lines of the control channel for one node. No I/O of its own: answer() returns
/// the lines to print, so it is tested without a process.
class ControlCommands {
 public:
  ControlCommands(otp::Node& node, Cluster& cluster, std::shared_ptr<FaultInjector> faults);

  /// The lines answering `line`, the last one "control ok ..." or "control error ...".
  std::vector<std::string> answer(const std::string& line);

 private:
  std::string fault(const std::vector<std::string>& words);

  otp::Node& node_;
  Cluster& cluster_;
  std::shared_ptr<FaultInjector> faults_;
};

/// Reads command lines from stdin on a thread of its own and prints ControlCommands' answers
/// through `print` (which must print whole lines, under the same lock as the node's other stdout
/// lines). `on_end` runs once when stdin ends. Stops (and joins its thread) when destroyed.
class ControlChannel {
 public:
  ControlChannel(ControlCommands& commands, std::function<void(const std::string&)> print,
                 std::function<void()> on_end);
  ~ControlChannel();
  ControlChannel(const ControlChannel&) = delete;
  ControlChannel& operator=(const ControlChannel&) = delete;

 private:
  void run();

  ControlCommands& commands_;
  std::function<void(const std::string&)> print_;
  std::function<void()> on_end_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// -- the lines a node prints (otp-node and node_main alike) ---------------------------------------

/// "members <count> <name@host>=<state> ...", sorted, self included.
std::string members_line(const std::vector<otp::membership::Member>& members);

/// "member <kind> <name@host> inc=<n> gossip=<h:p> data=<h:p>": one membership event.
std::string member_event_line(const otp::membership::Event& event);

/// "globals <count> <name>=<owner pid> ...": node's replica of the global names, every pid
/// written <name@host.N.0> (as a remote pid is), so lines of different nodes compare as text.
std::string globals_line(otp::Node& node);

/// A pid as every node writes it: <name@host.N.0>, local ones included.
std::string pid_text(otp::Node& node, const otp::Pid& pid);

}  // namespace otp::cluster
