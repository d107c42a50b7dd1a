// Test support: `promtool check metrics` on a text. A missing promtool is a failure, never a
// skip: scripts/install-deps.sh installs it (Debian package prometheus).
#pragma once

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace otp_test {

struct PromtoolVerdict {
  bool ok = false;
  std::string output;  // what promtool said (or why it could not run)
};

inline PromtoolVerdict promtool_check_metrics(const std::string& text) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    return {false, "promtool not found: run scripts/install-deps.sh (package prometheus)"};
  }
  const std::string path = "/tmp/otp-metrics-" + std::to_string(::getpid()) + ".txt";
  {
    std::ofstream f(path);
    f << text;
  }
  PromtoolVerdict v;
  FILE* p = ::popen(("promtool check metrics < " + path + " 2>&1").c_str(), "r");
  if (!p) return {false, "popen failed"};
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) v.output += buf.data();
  v.ok = ::pclose(p) == 0;
  std::remove(path.c_str());
  return v;
}

}  // namespace otp_test
