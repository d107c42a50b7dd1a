#include "scheduler_policy.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

namespace otp::detail {

SpinThenPark::coordinator_data::coordinator_data(caf::scheduler::abstract_coordinator* owner) {
  const auto& cfg = owner->system().config();
  timing.spin_for = std::chrono::microseconds(
      caf::get_or(cfg, "otp.scheduler-spin-us", static_cast<int64_t>(timing.spin_for.count())));
}

}  // namespace otp::detail
