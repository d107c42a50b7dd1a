// seed::Component: what the application tree's small services (Database, Cache, ConfigLoader,
// DatabasePool, WebServer) share, so that supervision can be watched: each prints "<Name> started"
// when it starts and "<Name> stopped (<reason>)" when it stops, and crashes on a Crash cast.
#pragma once

#include <stdexcept>
#include <string>

#include "otp/otp.hpp"
#include "seed/puts.hpp"

namespace seed {

/// Cast to any Component: it crashes (throws), and its supervisor applies its strategy.
struct Crash {};
inline void crash(otp::Node& node, const otp::ServerRef& component) {
  otp::gen_server::cast(node, component, Crash{});
}

class Component : public otp::GenServer {
 protected:
  Component(std::string label, Puts puts) : label_(std::move(label)), puts_(std::move(puts)) {}

  otp::Action init() override {
    trap_exit(true);  // so terminate runs when the supervisor stops us, as in OTP
    puts_(label_ + " started");
    return otp::ok();
  }
  void terminate(const otp::Reason& reason) override {
    puts_(label_ + " stopped (" + reason.to_string() + ")");
  }
  /// The Crash clause of handle_cast.
  [[noreturn]] void crash_now() const { throw std::runtime_error(label_ + " crashed on purpose"); }

  std::string label_;
  Puts puts_;
};

}  // namespace seed
