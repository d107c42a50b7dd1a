#include "otp/global/hlc.hpp"

#include <algorithm>

namespace otp::global {

std::string Stamp::to_string() const {
  return std::to_string(physical_ms) + "." + std::to_string(logical);
}

namespace {
uint64_t wall_ms(Time now) {
  return now.count() < 0 ? 0 : static_cast<uint64_t>(now.count());
}
}  // namespace

Stamp Hlc::tick(Time now) {
  const uint64_t wall = wall_ms(now);
  if (wall > last_.physical_ms) {
    last_ = Stamp{wall, 0};
  } else {
    ++last_.logical;
  }
  return last_;
}

Stamp Hlc::receive(const Stamp& remote, Time now) {
  const uint64_t wall = wall_ms(now);
  const uint64_t physical = std::max({wall, last_.physical_ms, remote.physical_ms});
  uint32_t logical = 0;
  if (physical == last_.physical_ms && physical == remote.physical_ms) {
    logical = std::max(last_.logical, remote.logical) + 1;
  } else if (physical == last_.physical_ms) {
    logical = last_.logical + 1;
  } else if (physical == remote.physical_ms) {
    logical = remote.logical + 1;
  }
  last_ = Stamp{physical, logical};
  return last_;
}

}  // namespace otp::global
