// otp::cluster::StatsSnapshot: everything one distributed node can report about itself, read at
// one moment from each layer (the runtime, the transport, membership, the global name table).
// It is what /metrics renders (metrics.hpp) and what `otp-ctl info` shows; take one whenever an
// operator asks, not per message: it takes each layer's lock once.
//
// clang-format off
//   auto cluster = otp::cluster::Cluster::start(node, config).value();
//   otp::cluster::StatsSnapshot s = otp::cluster::take_snapshot(node, *cluster);
//   std::cout << s.node << ": " << s.runtime.processes << " processes, "
//             << s.members(otp::membership::MemberState::alive) << " members alive\n";
// clang-format on
//
// The counters only grow (since the node, the transport or the membership started); sizes
// (processes, queues, members, names) are as they are now.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "otp/cluster/cluster.hpp"
#include "otp/cluster/membership_driver.hpp"
#include "otp/cluster/transport.hpp"
#include "otp/global.hpp"
#include "otp/membership/member.hpp"
#include "otp/node.hpp"

namespace otp::cluster {

/// One node's numbers at one moment (see above).
struct StatsSnapshot {
  /// This node run, "name@host".
  std::string node;
  /// The node is leaving the cluster (Cluster::stop() began): not serving any more.
  bool leaving = false;
  /// Processes, messages and calls handled (node/).
  NodeStats runtime{};
  /// Links, bytes and queues per peer, handshakes and frames refused (transport.hpp).
  TransportStats transport{};
  /// Whether gossip membership runs (without it the membership fields are zeros).
  bool gossip = false;
  /// Members known by state, self included; indexed by membership::MemberState.
  std::array<size_t, 4> members_by_state{};
  /// The membership core's counters: suspicions, probes, gossip dropped by reason.
  membership::Stats membership{};
  /// The membership driver's socket counters.
  DriverStats membership_driver{};
  /// The global name table: names held, conflicts resolved.
  global::RegistryStats global_names{};
  /// The OS process's resident memory in bytes (0 where /proc can not tell).
  uint64_t resident_bytes = 0;

  /// members_by_state of one state.
  size_t members(membership::MemberState state) const {
    return members_by_state[static_cast<size_t>(state)];
  }
};

/// Reads every layer of node and its cluster. Thread-safe; cluster may be stopping or stopped.
StatsSnapshot take_snapshot(Node& node, const Cluster& cluster);

}  // namespace otp::cluster
