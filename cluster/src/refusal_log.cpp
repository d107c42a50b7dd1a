#include "refusal_log.hpp"

namespace otp::cluster::detail {

RefusalStreak::Verdict RefusalStreak::failed(std::string_view reason, Clock::time_point now) {
  ++total_;
  if (reason != reason_) {
    reason_ = reason;
    count_ = 1;
    logged_at_ = now;
    return {.log = true, .repeated = false, .count = 1};
  }
  ++count_;
  if (now - logged_at_ < repeat_every_) return {.log = false, .repeated = true, .count = count_};
  logged_at_ = now;
  return {.log = true, .repeated = true, .count = count_};
}

uint64_t RefusalStreak::reset() {
  const uint64_t had = total_;
  reason_.clear();
  count_ = 0;
  total_ = 0;
  return had;
}

RefusalStreak::Verdict RefusalLog::refused(const std::string& host, std::string_view reason,
                                           RefusalStreak::Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mx_);
  if (hosts_.size() >= kMaxHosts && !hosts_.contains(host)) hosts_.clear();
  auto [it, _] = hosts_.try_emplace(host, repeat_every_);
  return it->second.failed(reason, now);
}

std::string repeat_suffix(const RefusalStreak::Verdict& verdict) {
  if (!verdict.repeated) return {};
  return " (still failing: " + std::to_string(verdict.count) + " times in a row)";
}

}  // namespace otp::cluster::detail
