// otp-bench-toolbox: figures for the rest of the OTP toolbox (Registry, Table, Agent, Task),
// printed as anchor RESULT lines. Medians over OTP_BENCH_REPS repetitions (default 5).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "otp/otp.hpp"

using namespace std::chrono;
using Clock = steady_clock;

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void result(const std::string& figure, std::vector<double> reps, const char* unit,
            const char* note) {
  auto [lo, hi] = std::minmax_element(reps.begin(), reps.end());
  std::printf("RESULT %s median=%.2f min=%.2f max=%.2f n=%zu unit=%s note=%s\n", figure.c_str(),
              median(reps), *lo, *hi, reps.size(), unit, note);
  std::fflush(stdout);
}

std::vector<std::string> make_keys(int n) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) keys.push_back("user_session:" + std::to_string(i));
  return keys;
}

/// ns per lookup over `ops` lookups of existing keys, cycling through them from `offset`.
template <class F>
double time_lookups(const std::vector<std::string>& keys, int ops, F&& lookup, size_t offset = 0) {
  size_t hits = 0;
  auto t0 = Clock::now();
  for (int i = 0; i < ops; ++i)
    hits += lookup(keys[(offset + static_cast<size_t>(i)) % keys.size()]);
  double ns = duration<double, std::nano>(Clock::now() - t0).count() / ops;
  if (hits != static_cast<size_t>(ops)) std::fprintf(stderr, "# lookups missed\n");
  return ns;
}

void bench_registry(otp::Node& node, int reps) {
  auto reg = otp::Registry::start(node, {.keys = otp::Registry::Keys::unique}).value();
  auto keys = make_keys(10000);
  otp::Inbox owner(node);
  for (auto& k : keys) (void)reg->register_pid(owner.pid(), k);
  std::vector<double> ns;
  for (int r = 0; r < reps; ++r)
    ns.push_back(time_lookups(keys, 2'000'000, [&](const std::string& k) {
      return reg->whereis_name(k).has_value() ? 1 : 0;
    }));
  result("otp.local.registry_lookup_ns", ns, "ns/op", "whereis_hit_10k_unique_keys_1_thread");
}

/// Per-reader ns/lookup with `readers` reader threads while one writer keeps updating (bursts of
/// 100 update_counter calls every millisecond: ~100k writes/s, so that on a 2-core machine the
/// readers have the cores and what is measured is whether they get in each other's way).
double table_round(otp::Table<std::string, long>& t, const std::vector<std::string>& keys,
                   int readers, double* total_mops) {
  std::atomic<bool> stop{false};
  std::atomic<long> writes{0};
  std::thread writer([&] {
    size_t i = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      for (int b = 0; b < 100; ++b) t.update_counter(keys[i++ % keys.size()], 1);
      writes += 100;
      std::this_thread::sleep_for(milliseconds(1));
    }
  });
  constexpr int kOps = 2'000'000;
  std::vector<double> per(readers);
  std::vector<std::thread> rs;
  auto t0 = Clock::now();
  for (int r = 0; r < readers; ++r)
    rs.emplace_back([&, r] {
      per[r] = time_lookups(
          keys, kOps, [&](const std::string& k) { return t.lookup(k).has_value() ? 1 : 0; },
          keys.size() * static_cast<size_t>(r) / 2);
    });
  for (auto& th : rs) th.join();
  double secs = duration<double>(Clock::now() - t0).count();
  stop = true;
  writer.join();
  *total_mops = readers * kOps / secs / 1e6;
  if (writes.load() == 0) std::fprintf(stderr, "# the writer never ran\n");
  return median(per);
}

void bench_table(otp::Node& node, int reps) {
  auto t =
      otp::Table<std::string, long>::start(node, {.access = otp::TableAccess::public_}).value();
  auto keys = make_keys(10000);
  for (auto& k : keys) t->insert(k, 0);
  for (int readers : {1, 2}) {
    std::vector<double> ns, mops;
    for (int r = 0; r < reps; ++r) {
      double m = 0;
      ns.push_back(table_round(*t, keys, readers, &m));
      mops.push_back(m);
    }
    std::string suffix = readers == 1 ? "" : "_2readers";
    result("otp.local.table_lookup" + suffix + "_ns", ns, "ns/op",
           "set_10k_keys_per_reader_with_1_writer_updating");
    result("otp.local.table_lookup" + suffix + "_mops", mops, "Mops/s",
           "all_readers_together_with_1_writer_updating");
  }
}

/// Median latency in us of `op` run sequentially for `dur`.
template <class F>
double median_latency_us(milliseconds dur, F&& op) {
  std::vector<double> lat;
  auto end = Clock::now() + dur;
  while (Clock::now() < end) {
    auto t0 = Clock::now();
    op();
    lat.push_back(duration<double, std::micro>(Clock::now() - t0).count());
  }
  return median(lat);
}

void bench_agent(otp::Node& node, int reps, milliseconds dur) {
  (void)otp::agent::start_link<long>(
      node, [] { return 41L; }, otp::name("bench_agent"));
  std::vector<double> us;
  for (int r = 0; r < reps; ++r)
    us.push_back(median_latency_us(dur, [&] {
      (void)otp::agent::get<long>(node, "bench_agent", [](const long& v) { return v + 1; });
    }));
  result("otp.local.agent_get_median_us", us, "us", "agent_get_from_outside_thread_seq");
}

void bench_task(otp::Node& node, int reps, milliseconds dur) {
  std::vector<double> us;
  for (int r = 0; r < reps; ++r)
    us.push_back(median_latency_us(dur, [&] {
      auto t = otp::task::async(node, [] { return 1; });
      (void)otp::task::await(t);
    }));
  result("otp.local.task_async_await_us", us, "us", "task_async_then_await_from_outside_seq");
}

}  // namespace

int main() {
  int reps = env_int("OTP_BENCH_REPS", 5);
  milliseconds dur(env_int("OTP_BENCH_DUR_MS", 1000));
  otp::Node node({.name = "bench-toolbox", .log_crashes = false});
  std::fprintf(stderr, "# otp-bench-toolbox: %zu scheduler threads, %d reps\n",
               node.scheduler_threads(), reps);
  bench_registry(node, reps);
  bench_table(node, reps);
  bench_agent(node, reps, dur);
  bench_task(node, reps, dur);
  return 0;
}
