// Test support: how much slower this build runs than a release build. The sanitizer build
// (OTP_SANITIZE) defines OTP_TEST_TIME_SCALE for the process-cluster tests (tests/CMakeLists.txt);
// the few timing bounds those tests keep (a failure detected within N s) are multiplied by it.
// Other tests assert what happened, not how long it took.
#pragma once

namespace otp_test {

#ifdef OTP_TEST_TIME_SCALE
inline constexpr int kTimeScale = OTP_TEST_TIME_SCALE;
#else
inline constexpr int kTimeScale = 1;
#endif

}  // namespace otp_test
