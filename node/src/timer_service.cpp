#include "timer_service.hpp"

namespace otp::detail {

TimerService::TimerService() : thread_([this] { run(); }) {}

TimerService::~TimerService() {
  stop();
}

Ref TimerService::schedule(Clock::time_point when, std::shared_ptr<Endpoint> to, Envelope e) {
  Ref ref = Ref::make();
  bool earliest = false;
  {
    std::lock_guard<std::mutex> g(mx_);
    if (stopping_) return ref;
    auto it = queue_.emplace(when, Entry{ref, std::move(to), std::move(e)});
    by_ref_.emplace(ref.value(), it);
    earliest = it == queue_.begin();
  }
  if (earliest) cv_.notify_one();
  return ref;
}

std::optional<std::chrono::milliseconds> TimerService::cancel(Ref ref) {
  std::lock_guard<std::mutex> g(mx_);
  auto found = by_ref_.find(ref.value());
  if (found == by_ref_.end()) return std::nullopt;
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(found->second->first - Clock::now());
  queue_.erase(found->second);
  by_ref_.erase(found);
  return std::max(left, std::chrono::milliseconds(0));
}

void TimerService::stop() {
  {
    std::lock_guard<std::mutex> g(mx_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    queue_.clear();
    by_ref_.clear();
  }
  cv_.notify_one();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void TimerService::run() {
  std::unique_lock<std::mutex> lk(mx_);
  while (!stopping_) {
    if (queue_.empty()) {
      cv_.wait(lk);
      continue;
    }
    auto first = queue_.begin();
    if (first->first > Clock::now()) {
      const Clock::time_point due = first->first;  // a copy: the entry may go while we wait
      cv_.wait_until(lk, due);
      continue;
    }
    Entry entry = std::move(first->second);
    by_ref_.erase(entry.ref.value());
    queue_.erase(first);
    lk.unlock();
    entry.to->deliver(std::move(entry.envelope), false);
    entry.to.reset();
    lk.lock();
  }
}

}  // namespace otp::detail
