#include <cstdlib>
#ifdef OTP_ALLOCATOR_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#include "support/eventually.hpp"

using namespace std::chrono_literals;

namespace {
struct Get {};
struct Add {
  int n;
};
struct Boom {};

class Counter : public otp::GenServer {
 public:
  explicit Counter(int v) : v_(v) {}
  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match([&](const Get&) { return otp::reply(v_); },
                   [&](const Boom&) -> otp::Action { throw std::runtime_error("boom"); });
  }
  otp::Action handle_cast(const otp::Message& m) override {
    return m.match([&](const Add& a) {
      v_ += a.n;
      return otp::noreply();
    });
  }

 private:
  int v_;
};
}  // namespace

TEST(Smoke, CallCastAndCrash) {
  otp::Node node({.name = "smoke", .scheduler_threads = 2});
  auto pid = otp::gen_server::start<Counter>(node, otp::name("counter"), 1).value();
  otp::gen_server::cast(node, "counter", Add{2});
  EXPECT_EQ(otp::gen_server::call<int>(node, "counter", Get{}).value(), 3);
  auto r = otp::gen_server::call<int>(node, pid, Boom{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), otp::ErrorCode::exit);
  EXPECT_NE(r.error().to_string().find("boom"), std::string::npos) << r.error();
  auto r2 = otp::gen_server::call<int>(node, "counter", Get{});
  EXPECT_EQ(r2.code(), otp::ErrorCode::noproc);
}

TEST(Smoke, CallVoidOnlyReportsSuccessOrFailure) {
  otp::Node node({.name = "smoke", .scheduler_threads = 1});
  auto pid = otp::gen_server::start<Counter>(node, 1).value();
  EXPECT_TRUE(otp::gen_server::call<void>(node, pid, Get{}));
  EXPECT_EQ(otp::gen_server::call<void>(node, pid, Add{1}).code(), otp::ErrorCode::bad_call);
}

#ifdef OTP_ALLOCATOR_JEMALLOC
// The runtime links jemalloc so that it replaces malloc in the whole program (OTP_ALLOCATOR); a
// link line that dropped it (--as-needed) would leave glibc's malloc in place, silently.
TEST(Allocator, MallocIsServedByJemalloc) {
  uint64_t before = 0, after = 0;
  size_t size = sizeof(uint64_t);
  ASSERT_EQ(mallctl("thread.allocated", &before, &size, nullptr, 0), 0);
  void* volatile block = std::malloc(1 << 16);
  ASSERT_NE(block, nullptr);
  size = sizeof(uint64_t);
  ASSERT_EQ(mallctl("thread.allocated", &after, &size, nullptr, 0), 0);
  std::free(block);
  EXPECT_GE(after - before, uint64_t{1} << 16);
}
#endif
