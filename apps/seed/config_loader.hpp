// ConfigLoader: the first child of the rest_for_one MyApp.OrderedSupervisor, registered as
// "config_loader". Loads the configuration that DatabasePool and WebServer, started after it,
// read when they start.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "seed/component.hpp"

namespace seed {

class ConfigLoader : public Component {
 public:
  static constexpr const char* kName = "config_loader";
  struct Get {
    std::string key;
  };

  // -- client API --
  static otp::ChildSpec child_spec(Puts puts) {
    return otp::worker<ConfigLoader>("config_loader", std::move(puts)).named(kName);
  }
  static std::optional<std::string> get(otp::Node& node, std::string key) {
    return otp::gen_server::call<std::optional<std::string>>(node, kName, Get{std::move(key)})
        .value();
  }

  // -- server callbacks --
  explicit ConfigLoader(Puts puts) : Component("ConfigLoader", std::move(puts)) {}

  otp::Action init() override {
    config_ = {{"port", "4000"}, {"pool_size", "3"}};
    return Component::init();
  }
  otp::Action handle_call(const otp::Message& request, const otp::From&) override {
    return request.match([&](const Get& g) {
      auto it = config_.find(g.key);
      return otp::reply(it == config_.end() ? std::nullopt : std::optional(it->second));
    });
  }
  otp::Action handle_cast(const otp::Message& request) override {
    return request.match([&](const Crash&) -> otp::Action { crash_now(); });
  }

 private:
  std::map<std::string, std::string> config_;
};

}  // namespace seed
