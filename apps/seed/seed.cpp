// otp_seed: the services are header-only (like the Elixir modules they mirror); this file holds
// stdout_puts and compiles every header once on its own.
#include "seed/seed.hpp"

#include <cstdio>

namespace seed {

Puts stdout_puts() {
  return [](const std::string& line) {
    std::string out = line + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);  // one locked write per line (POSIX stdio)
    std::fflush(stdout);
  };
}

}  // namespace seed
