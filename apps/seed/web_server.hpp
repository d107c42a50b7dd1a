// WebServer: the last child of the rest_for_one MyApp.OrderedSupervisor, registered as
// "web_server". Reads its port from ConfigLoader as it starts and answers requests.
#pragma once

#include <optional>
#include <string>

#include "seed/component.hpp"
#include "seed/config_loader.hpp"

namespace seed {

class WebServer : public Component {
 public:
  static constexpr const char* kName = "web_server";
  struct LoadConfig {};
  struct Request {
    std::string path;
  };

  // -- client API --
  static otp::ChildSpec child_spec(Puts puts) {
    return otp::worker<WebServer>("web_server", std::move(puts)).named(kName);
  }
  /// "200 OK <path> (port <port>)".
  static std::string get(otp::Node& node, std::string path) {
    return otp::gen_server::call<std::string>(node, kName, Request{std::move(path)}).value();
  }

  // -- server callbacks --
  explicit WebServer(Puts puts) : Component("WebServer", std::move(puts)) {}

  otp::Action init() override { return Component::init().then_continue(LoadConfig{}); }
  otp::Action handle_continue(const otp::Message&) override {
    using Value = std::optional<std::string>;
    return await_call<Value>(ConfigLoader::kName, ConfigLoader::Get{"port"},
                             [this](otp::Result<Value> v) {
                               port_ = v.value().value_or("80");
                               puts_("WebServer listening on port " + port_);
                               return otp::noreply();
                             });
  }
  otp::Action handle_call(const otp::Message& request, const otp::From&) override {
    return request.match(
        [&](const Request& r) { return otp::reply("200 OK " + r.path + " (port " + port_ + ")"); });
  }
  otp::Action handle_cast(const otp::Message& request) override {
    return request.match([&](const Crash&) -> otp::Action { crash_now(); });
  }

 private:
  std::string port_;
};

}  // namespace seed
