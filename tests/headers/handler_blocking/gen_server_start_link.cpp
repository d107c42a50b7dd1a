// Must not compile: gen_server::start_link inside a handler (otp/handler_node.hpp's guard).
#include "otp/gen_server.hpp"

class Child : public otp::GenServer {};
class Bad : public otp::GenServer {
  otp::Action handle_cast(const otp::Message&) override {
    (void)otp::gen_server::start_link<Child>(node(), otp::name("child"));
    return otp::noreply();
  }
};
