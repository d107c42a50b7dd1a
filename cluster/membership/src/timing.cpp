#include "otp/membership/timing.hpp"

#include <algorithm>
#include <cmath>

namespace otp::membership {

Duration min_suspicion_timeout(const Options& config, size_t n) {
  const double scale = std::max(1.0, std::log10(static_cast<double>(std::max<size_t>(1, n))));
  const double ms =
      config.suspicion_mult * scale * static_cast<double>(config.probe_interval.count());
  return Duration(static_cast<int64_t>(ms));
}

uint32_t expected_confirmations(const Options& config, size_t n) {
  const uint32_t k = config.suspicion_mult > 2 ? config.suspicion_mult - 2 : 0;
  // memberlist's rule: a cluster too small to supply k independent accusers expects none.
  if (n < 2 || n - 2 < k) return 0;
  return k;
}

Duration suspicion_timeout(uint32_t confirmations, uint32_t k, Duration min, Duration max) {
  if (k == 0 || max <= min) return min;
  const double frac =
      std::log(static_cast<double>(confirmations) + 1.0) / std::log(static_cast<double>(k) + 1.0);
  const double raw =
      static_cast<double>(max.count()) - frac * static_cast<double>((max - min).count());
  return std::max(min, Duration(static_cast<int64_t>(std::floor(raw))));
}

uint32_t retransmit_limit(const Options& config, size_t n) {
  const double scale = std::ceil(std::log10(static_cast<double>(n) + 1.0));
  return config.retransmit_mult * static_cast<uint32_t>(std::max(1.0, scale));
}

Duration push_pull_interval(const Options& config, size_t n) {
  constexpr size_t kScaleThreshold = 32;
  if (n <= kScaleThreshold) return config.push_pull_interval;
  const double mult = std::ceil(std::log2(static_cast<double>(n)) -
                                std::log2(static_cast<double>(kScaleThreshold))) +
                      1.0;
  return config.push_pull_interval * static_cast<int64_t>(mult);
}

void Awareness::apply(int delta) {
  const int64_t next = static_cast<int64_t>(score_) + delta;
  score_ = static_cast<uint32_t>(std::clamp<int64_t>(next, 0, static_cast<int64_t>(max_) - 1));
}

}  // namespace otp::membership
