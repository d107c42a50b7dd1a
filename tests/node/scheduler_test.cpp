// The scheduler policy (node/src/scheduler_policy.hpp): work from threads outside the actor
// system is always picked up, whether idle workers spin or sleep at once, and an idle node's
// workers go to sleep instead of spinning on.
#include <gtest/gtest.h>

#include <ctime>

#include <atomic>
#include <chrono>
#include <thread>
#include <tuple>
#include <vector>

#include "otp/otp.hpp"

using namespace std::chrono_literals;

namespace {

struct Get {};
struct Add {
  int n;
};

class Counter : public otp::GenServer {
 public:
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Get&) { return otp::reply(total_); },
                   [&](const Add& a) {
                     total_ += a.n;
                     return otp::reply(total_);
                   });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const Add& a) {
      total_ += a.n;
      return otp::noreply();
    });
  }

 private:
  long total_ = 0;
};

std::chrono::nanoseconds process_cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// (scheduler threads, spin before sleeping)
class Scheduler : public ::testing::TestWithParam<std::tuple<size_t, std::chrono::microseconds>> {
 protected:
  otp::NodeOptions config() const {
    return {.name = "sched",
            .scheduler_threads = std::get<0>(GetParam()),
            .scheduler_spin = std::get<1>(GetParam())};
  }
};

INSTANTIATE_TEST_SUITE_P(ThreadsAndSpin, Scheduler,
                         ::testing::Combine(::testing::Values(size_t{1}, size_t{2}),
                                            ::testing::Values(0us, 100us, 5000us)));

// Several outside threads hammer two servers with calls and casts at once: every call is
// answered and every cast counted. A job handed to a worker that is going to sleep at that moment
// must still run (a lost wake-up would show as a call timing out).
TEST_P(Scheduler, WorkFromOutsideThreadsIsAlwaysPickedUp) {
  otp::Node node(config());
  std::vector<otp::Pid> servers{otp::gen_server::start<Counter>(node).value(),
                                otp::gen_server::start<Counter>(node).value()};
  constexpr int kThreads = 4, kRounds = 1500;
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const otp::Pid& to = servers[static_cast<size_t>(i + t) % servers.size()];
        otp::gen_server::cast(node, to, Add{1});
        if (!otp::gen_server::call<long>(node, to, Add{1}, 30s)) ++failures;
        // Now and then let the workers run dry, so jobs also arrive at sleeping workers.
        if (i % 100 == 0) std::this_thread::sleep_for(200us);
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(failures.load(), 0);
  long total = 0;
  for (const auto& s : servers) total += otp::gen_server::call<long>(node, s, Get{}).value();
  EXPECT_EQ(total, 2L * kThreads * kRounds);
}

TEST_P(Scheduler, IdleWorkersGoToSleep) {
  otp::Node node(config());
  auto server = otp::gen_server::start<Counter>(node).value();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(otp::gen_server::call<long>(node, server, Add{1}));
  // The workers spin for at most the configured time after their last job, then sleep: over a
  // quiet second the process uses a small fraction of one core. (A worker that spun on would
  // use the whole second; the bound is loose for sanitizer builds and busy machines.)
  const auto before = process_cpu_time();
  std::this_thread::sleep_for(1s);
  const auto used = process_cpu_time() - before;
  EXPECT_LT(used, 300ms) << "an idle node used " << used.count() / 1000 << " us of CPU in 1 s";
}

}  // namespace
