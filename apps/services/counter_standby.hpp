// A standby per node keeps one global counter alive in the cluster (otp-node --standby-counter).
// Every node runs counter_standby(name) under its supervisor; the standbys watch the global name
// (otp::global::monitor_name) and, when it has no owner, start a counter on their own node and
// register it as otp::global_name(name). When the owner's node dies, every survivor drops its
// names (membership or the link sees it gone), the standbys are told, and one of them ends up
// owning the name: a standby that finds the name taken does nothing, and when several register
// at once the registry's conflict rule keeps one (the losing counters exit with
// name_conflict_reason() and are not restarted; their standbys wait for the next change).
//
//   otp::supervisor::start_link(node, {services::counter_standby("counter", *cluster)}, {});
//   otp::gen_server::call<int>(node, otp::global_name("counter"), services::Add{1});
//
// The counter answers the counter service's calls (see cluster_services.hpp). A crash of it is
// restarted on its node with its value; a new owner (another node, or this one later) starts
// from 0: the value lives in the owner's process and dies with its node.
//
// A standby that has just started waits first_claim_delay before it registers a free name, so a
// node joining a cluster learns the names its peers hold (the links come up and sync) instead of
// registering a second counter that loses the conflict at once. Later claims are immediate.
//
// A node that is leaving (Cluster::stop() began: otp-node's SIGTERM) claims nothing: the links
// to the others close one by one while it announces its leave, each taking the names of that
// peer out of this node's replica, and a counter registered then would move again in a moment.
#pragma once

#include <chrono>
#include <string>

#include "otp/cluster/cluster.hpp"
#include "otp/distributed.hpp"

namespace services {

/// How long a new standby waits before its first claim (see the header comment).
inline constexpr std::chrono::milliseconds kStandbyFirstClaimDelay{1000};

/// A supervisor (id "standby:<name>", rest_for_one) of the node's counter for `name`, when it owns
/// it (a dynamic supervisor), and of the standby that starts it. Needs a distributed node (start
/// it after otp::cluster::Cluster::start): otherwise the standby fails to start (noproc). The
/// cluster (the node's) must outlive the standby: it says when the node is leaving.
otp::ChildSpec counter_standby(
    const std::string& name, const otp::cluster::Cluster& cluster,
    std::chrono::milliseconds first_claim_delay = kStandbyFirstClaimDelay);

}  // namespace services
