// Shared by the benchmark programs: environment tunables, medians, and RESULT lines, one per
// figure, in the format the anchors (the optional external comparison scripts, see
// docs/performance.md) print too, so that one table can pair them:
//
//   RESULT <figure> median=<x> min=<y> max=<z> n=<reps> unit=<u> note=<how>
#pragma once

#include <errno.h>
#include <malloc.h>
#include <unistd.h>
#ifdef OTP_ALLOCATOR_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "otp/error.hpp"

namespace otp_bench {

using Clock = std::chrono::steady_clock;

inline long env_long(const char* name, long dflt) {
  const char* v = std::getenv(name);
  if (!v || !*v) return dflt;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < 0) {
    std::fprintf(stderr, "# %s=%s is not a non-negative integer; using %ld\n", name, v, dflt);
    return dflt;
  }
  return x;
}

inline bool wanted(const std::string& what) {
  const char* v = std::getenv("OTP_BENCH_ONLY");
  if (!v || !*v) return true;
  std::string list = std::string(",") + v + ",";
  return list.find("," + what + ",") != std::string::npos;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// As anchor_stats:fmt: integers from 100 up, two decimals below.
inline std::string fmt(double x) {
  char buf[64];
  if (std::fabs(x) >= 100)
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(std::llround(x)));
  else
    std::snprintf(buf, sizeof buf, "%.2f", x);
  return buf;
}

inline void result(const char* figure, const char* unit, const std::vector<double>& vals,
                   const std::string& note) {
  if (vals.empty()) return;
  auto [lo, hi] = std::minmax_element(vals.begin(), vals.end());
  std::printf("RESULT %s median=%s min=%s max=%s n=%zu unit=%s note=%s\n", figure,
              fmt(median(vals)).c_str(), fmt(*lo).c_str(), fmt(*hi).c_str(), vals.size(), unit,
              note.c_str());
  std::fflush(stdout);
}

inline double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// Median of per-call latencies in microseconds.
inline double median_us(std::vector<uint32_t>& ns) {
  if (ns.empty()) return 0;
  auto mid = ns.begin() + static_cast<long>(ns.size() / 2);
  std::nth_element(ns.begin(), mid, ns.end());
  double m = *mid;
  if (ns.size() % 2 == 0) m = (m + *std::max_element(ns.begin(), mid)) / 2;
  return m / 1000.0;
}

inline uint32_t ns_since(Clock::time_point a, Clock::time_point b) {
  auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
  return static_cast<uint32_t>(std::clamp<int64_t>(d, 0, UINT32_MAX));
}

/// Resident set size of this process in bytes (/proc/self/statm, second field).
inline double rss_bytes() {
  std::ifstream f("/proc/self/statm");
  long size = 0, resident = 0;
  f >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

/// Bytes malloc has handed out and not got back: jemalloc's stats.allocated, or glibc's arenas
/// plus mmap'ed blocks.
inline double heap_in_use() {
#ifdef OTP_ALLOCATOR_JEMALLOC
  uint64_t epoch = 1;
  size_t size = sizeof(epoch);
  mallctl("epoch", &epoch, &size, &epoch, size);  // refreshes the statistics
  size_t allocated = 0;
  size = sizeof(allocated);
  if (mallctl("stats.allocated", &allocated, &size, nullptr, 0) != 0) return 0;
  return static_cast<double>(allocated);
#else
  auto mi = mallinfo2();
  return static_cast<double>(mi.uordblks + mi.hblkhd);
#endif
}

/// How heap_in_use() counts, for the RESULT notes.
inline const char* heap_counter() {
#ifdef OTP_ALLOCATOR_JEMALLOC
  return "jemalloc_stats.allocated";
#else
  return "mallinfo2_uordblks+hblkhd";
#endif
}

[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
  std::fflush(stderr);
  std::_Exit(2);
}

template <class T>
T must(otp::Result<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().to_string());
  return std::move(r).value();
}

}  // namespace otp_bench
