#include "blocking_pool.hpp"

#include <thread>

namespace otp::detail {

namespace {
constexpr auto kIdleExit = std::chrono::seconds(10);
}

BlockingPool::BlockingPool() : shared_(std::make_shared<Shared>()) {}

BlockingPool::~BlockingPool() {
  shutdown(std::chrono::milliseconds(0));
}

void BlockingPool::submit(std::function<void()> job) {
  std::unique_lock<std::mutex> lk(shared_->mx);
  if (shared_->stopping) return;
  shared_->jobs.push_back(std::move(job));
  if (shared_->idle >= shared_->jobs.size()) {
    lk.unlock();
    shared_->work.notify_one();
    return;
  }
  ++shared_->threads;
  lk.unlock();
  std::thread(run, shared_).detach();
}

void BlockingPool::run(std::shared_ptr<Shared> s) {
  std::unique_lock<std::mutex> lk(s->mx);
  for (;;) {
    if (s->jobs.empty()) {
      if (s->stopping) break;
      ++s->idle;
      bool got = s->work.wait_for(lk, kIdleExit, [&] { return !s->jobs.empty() || s->stopping; });
      --s->idle;
      if (!got || (s->jobs.empty() && s->stopping)) break;
      continue;
    }
    auto job = std::move(s->jobs.front());
    s->jobs.pop_front();
    lk.unlock();
    job();
    job = nullptr;  // drop captures outside the lock
    lk.lock();
  }
  if (--s->threads == 0) s->done.notify_all();
}

size_t BlockingPool::shutdown(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lk(shared_->mx);
  shared_->stopping = true;
  shared_->jobs.clear();
  shared_->work.notify_all();
  shared_->done.wait_for(lk, limit, [&] { return shared_->threads == 0; });
  return shared_->threads;
}

}  // namespace otp::detail
