#include "otp/cluster/faults.hpp"

namespace otp::cluster {

FaultInjector::FaultInjector() : FaultInjector(std::random_device{}()) {}

FaultInjector::FaultInjector(uint64_t seed) : random_(seed) {}

void FaultInjector::set(const std::string& peer, LinkFault fault) {
  if (fault.drop <= 0.0 && fault.delay.count() <= 0) {
    clear(peer);
    return;
  }
  std::lock_guard<std::mutex> lock(mx_);
  faults_[peer] = fault;
  count_.store(faults_.size(), std::memory_order_release);
}

void FaultInjector::clear(const std::string& peer) {
  std::lock_guard<std::mutex> lock(mx_);
  faults_.erase(peer);
  count_.store(faults_.size(), std::memory_order_release);
}

void FaultInjector::clear_all() {
  std::lock_guard<std::mutex> lock(mx_);
  faults_.clear();
  count_.store(0, std::memory_order_release);
}

LinkFault FaultInjector::get(const std::string& peer) const {
  std::lock_guard<std::mutex> lock(mx_);
  const LinkFault* f = find(peer);
  return f ? *f : LinkFault{};
}

std::map<std::string, LinkFault> FaultInjector::all() const {
  std::lock_guard<std::mutex> lock(mx_);
  return {faults_.begin(), faults_.end()};
}

bool FaultInjector::cut(std::string_view peer) const {
  if (!any()) return false;
  std::lock_guard<std::mutex> lock(mx_);
  const LinkFault* f = find(peer);
  return f && f->cut();
}

const LinkFault* FaultInjector::find(std::string_view peer) const {
  auto it = faults_.find(peer);
  return it == faults_.end() ? nullptr : &it->second;
}

FaultVerdict FaultInjector::datagram(std::string_view peer) {
  if (!any()) return {};
  std::lock_guard<std::mutex> lock(mx_);
  const LinkFault* f = find(peer);
  if (!f) return {};
  FaultVerdict v;
  if (f->cut() ||
      (f->drop > 0.0 && std::uniform_real_distribution<double>(0.0, 1.0)(random_) < f->drop)) {
    v.drop = true;
    ++stats_.dropped;
    return v;
  }
  v.delay = f->delay;
  if (v.delay.count() > 0) ++stats_.delayed;
  return v;
}

FaultVerdict FaultInjector::stream(std::string_view peer) {
  if (!any()) return {};
  std::lock_guard<std::mutex> lock(mx_);
  const LinkFault* f = find(peer);
  if (!f) return {};
  FaultVerdict v;
  if (f->cut()) {
    v.drop = true;
    ++stats_.dropped;
    return v;
  }
  v.delay = f->delay;
  if (f->drop > 0.0 && std::uniform_real_distribution<double>(0.0, 1.0)(random_) < f->drop) {
    v.delay += retransmit_delay_;
  }
  if (v.delay.count() > 0) ++stats_.delayed;
  return v;
}

std::chrono::milliseconds FaultInjector::retransmit_delay() const {
  std::lock_guard<std::mutex> lock(mx_);
  return retransmit_delay_;
}

void FaultInjector::set_retransmit_delay(std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(mx_);
  retransmit_delay_ = delay;
}

FaultInjector::Stats FaultInjector::stats() const {
  std::lock_guard<std::mutex> lock(mx_);
  return stats_;
}

}  // namespace otp::cluster
