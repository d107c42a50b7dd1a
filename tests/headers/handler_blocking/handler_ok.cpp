// Must compile: the non-blocking forms the guards' messages name, and a Node& passed on.
#include "otp/supervisor.hpp"
#include "otp/task.hpp"

struct Get {};
class Good : public otp::GenServer {
  otp::Action handle_call(const otp::Message&, const otp::From&) override {
    auto t = otp::task::async(node(), [] { return 1; });
    otp::Node& n = node();
    otp::gen_server::cast(n, "other", Get{});
    return otp::task::then(t, [this](otp::Result<int>) {
      return await_call("sup", otp::supervisor::StartChild{otp::ChildSpec{}},
                        [](otp::Result<otp::Message>) { return otp::noreply(); });
    });
  }
};
