// take_snapshot: one read of each layer's counters.
#include "otp/cluster/stats_snapshot.hpp"

#include <unistd.h>
#include <fstream>

namespace otp::cluster {

namespace {

uint64_t resident_bytes() {
  // /proc/self/statm: size resident shared ... in pages.
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0;
  uint64_t resident = 0;
  if (!(statm >> size >> resident)) return 0;
  const long page = ::sysconf(_SC_PAGESIZE);
  return page > 0 ? resident * static_cast<uint64_t>(page) : 0;
}

}  // namespace

StatsSnapshot take_snapshot(Node& node, const Cluster& cluster) {
  StatsSnapshot s;
  s.node = cluster.self().full_name();
  s.leaving = cluster.leaving();
  s.runtime = node.stats();
  s.transport = cluster.stats();
  s.gossip = cluster.gossip_port().has_value();
  for (const membership::Member& m : cluster.members()) {
    const auto i = static_cast<size_t>(m.state);
    if (i < s.members_by_state.size()) ++s.members_by_state[i];
  }
  s.membership = cluster.membership_stats();
  s.membership_driver = cluster.membership_driver_stats();
  s.global_names = global::stats(node);
  s.resident_bytes = resident_bytes();
  return s;
}

}  // namespace otp::cluster
