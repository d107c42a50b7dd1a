// What an await of the test kit throws when its deadline passes: what() says what was seen
// (e.g. "n2 sees 2 alive members, wanted 3: n1 alive, n3 failed").
#pragma once

#include <stdexcept>

namespace otp::testkit {

class AwaitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace otp::testkit
