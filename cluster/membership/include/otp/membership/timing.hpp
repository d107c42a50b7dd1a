// The arithmetic of SWIM and Lifeguard as free functions, so each is tested alone from a table:
// suspicion timeouts (min, max, decay with confirmations), retransmission limits, the push-pull
// interval scaled with cluster size, and local health awareness.
//
// clang-format off
//   Duration min = min_suspicion_timeout(cfg, n);
//   Duration left = suspicion_timeout(confirmations, k, min, cfg.suspicion_max_timeout_mult * min);
// clang-format on
#pragma once

#include <cstddef>
#include <cstdint>

#include "otp/membership/options.hpp"

namespace otp::membership {

/// suspicion_mult * max(1, log10(max(1, n))) * probe_interval (memberlist's suspicionTimeout).
Duration min_suspicion_timeout(const Options& config, size_t n);

/// Independent confirmations a suspicion waits for before it is down to the minimum timeout:
/// suspicion_mult - 2, or 0 when the cluster is too small to provide them (n - 2 < that).
uint32_t expected_confirmations(const Options& config, size_t n);

/// The total suspicion timeout (from its start) after `confirmations` independent confirmations:
/// max - (max - min) * log(c + 1) / log(k + 1), never below min; min when k is 0 (Lifeguard).
Duration suspicion_timeout(uint32_t confirmations, uint32_t k, Duration min, Duration max);

/// How many times an update is sent: retransmit_mult * ceil(log10(n + 1)).
uint32_t retransmit_limit(const Options& config, size_t n);

/// push_pull_interval, times ceil(log2(n) - log2(32)) + 1 beyond 32 members.
Duration push_pull_interval(const Options& config, size_t n);

/// Lifeguard's local health: a score raised when this node misses acks it should have had
/// (probes with missing nacks, refuting its own suspicion, stalls) and lowered by each successful
/// probe. Timeouts and the probe interval are multiplied by score + 1.
class Awareness {
 public:
  /// max_multiplier: Options::awareness_max_multiplier (0 is taken as 1: no awareness).
  explicit Awareness(uint32_t max_multiplier) : max_(max_multiplier == 0 ? 1 : max_multiplier) {}

  /// Adds delta, keeping the score within [0, max_multiplier - 1].
  void apply(int delta);
  /// The current score, in [0, max_multiplier - 1]; 0 is healthy.
  uint32_t score() const { return score_; }
  /// t * (score + 1): a timeout or interval stretched by poor local health.
  Duration scale(Duration t) const { return t * (score_ + 1); }

 private:
  uint32_t max_;
  uint32_t score_ = 0;
};

}  // namespace otp::membership
