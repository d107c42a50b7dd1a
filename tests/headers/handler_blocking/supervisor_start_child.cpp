// Must not compile: supervisor::start_child inside a handler (otp/handler_node.hpp's guard).
#include "otp/supervisor.hpp"

class Bad : public otp::GenServer {
  otp::Action handle_cast(const otp::Message&) override {
    (void)otp::supervisor::start_child(node(), "sup", otp::ChildSpec{});
    return otp::noreply();
  }
};
