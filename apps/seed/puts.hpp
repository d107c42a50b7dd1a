// seed::Puts: the seed's IO.puts. The services print through one, so the demo prints to stdout
// and tests record what was printed (seed::Journal) instead of sleeping and reading stdout.
#pragma once

#include <functional>
#include <string>

namespace seed {

using Puts = std::function<void(const std::string& line)>;

/// Prints whole lines to stdout; safe to call from any process or thread.
Puts stdout_puts();

}  // namespace seed
