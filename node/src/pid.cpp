// Pid and Ref: construction from a process control block, printing, fresh refs.
#include <atomic>
#include <string>

#include "otp/pid.hpp"
#include "process_control.hpp"

namespace otp {

Pid::Pid(std::shared_ptr<detail::Process> process) : process_(std::move(process)) {
  if (process_) {
    node_serial_ = process_->node_serial();
    id_ = process_->id();
  }
}

bool Pid::remote() const noexcept {
  return process_ && process_->is_remote();
}

std::string Pid::to_string() const {
  if (!process_) return "<invalid>";
  if (process_->is_remote()) return process_->label;  // "<b@host.42.0>", set by the proxy
  return "<" + std::to_string(node_serial_) + "." + std::to_string(id_) + ".0>";
}

Ref Ref::make() {
  static std::atomic<uint64_t> next{1};
  return Ref(next.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace otp
