// How otp-node and otp-ctl end on a command line they can not use: one line on stderr saying why,
// exit status 2 (--help prints the help and exits with 0).
//
//   CLI::App app("otp-ctl: ...", "otp-ctl");  ...add options...
//   cli::parse_or_exit(app, argc, argv);
//   if (bad) cli::usage_error(app, "no cookie: ...");
#pragma once

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace cli {

/// "<program>: <why>" on stderr, exit status 2.
[[noreturn]] inline void usage_error(const CLI::App& app, const std::string& why) {
  std::cerr << app.get_name() << ": " << why << "\n";
  std::exit(2);
}

/// app.parse, with a usage error as above.
inline void parse_or_exit(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    std::exit(0);
  } catch (const CLI::ParseError& e) {
    usage_error(app, std::string(e.what()) + " (" + app.get_name() + " --help lists the flags)");
  }
}

}  // namespace cli
