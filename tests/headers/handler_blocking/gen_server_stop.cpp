// Must not compile: gen_server::stop inside a handler (otp/handler_node.hpp's guard).
#include "otp/gen_server.hpp"

class Bad : public otp::GenServer {
  otp::Action handle_info(const otp::Message&) override {
    (void)otp::gen_server::stop(node(), "other");
    return otp::noreply();
  }
};
