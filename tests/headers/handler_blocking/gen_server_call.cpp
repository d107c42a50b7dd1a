// Must not compile: gen_server::call inside a handler (otp/handler_node.hpp's guard).
#include "otp/gen_server.hpp"

struct Get {};
class Bad : public otp::GenServer {
  otp::Action handle_call(const otp::Message&, const otp::From&) override {
    (void)otp::gen_server::call<int>(node(), "other", Get{});
    return otp::noreply();
  }
};
