// DatabasePool: the second child of the rest_for_one MyApp.OrderedSupervisor, registered as
// "database_pool". Reads pool_size from ConfigLoader as it starts (handle_continue, without
// blocking a scheduler thread) and hands out connection numbers round robin.
#pragma once

#include <optional>
#include <string>

#include "seed/component.hpp"
#include "seed/config_loader.hpp"

namespace seed {

class DatabasePool : public Component {
 public:
  static constexpr const char* kName = "database_pool";
  struct LoadConfig {};
  struct Checkout {};
  struct Size {};

  // -- client API --
  static otp::ChildSpec child_spec(Puts puts) {
    return otp::worker<DatabasePool>("database_pool", std::move(puts)).named(kName);
  }
  /// A connection number in [0, size).
  static int checkout(otp::Node& node) {
    return otp::gen_server::call<int>(node, kName, Checkout{}).value();
  }
  static int size(otp::Node& node) {
    return otp::gen_server::call<int>(node, kName, Size{}).value();
  }

  // -- server callbacks --
  explicit DatabasePool(Puts puts) : Component("DatabasePool", std::move(puts)) {}

  otp::Action init() override { return Component::init().then_continue(LoadConfig{}); }
  otp::Action handle_continue(const otp::Message&) override {
    using Value = std::optional<std::string>;
    return await_call<Value>(
        ConfigLoader::kName, ConfigLoader::Get{"pool_size"}, [this](otp::Result<Value> v) {
          size_ = std::stoi(v.value().value_or("1"));
          puts_("DatabasePool opened " + std::to_string(size_) + " connections");
          return otp::noreply();
        });
  }
  otp::Action handle_call(const otp::Message& request, const otp::From&) override {
    return request.match([&](const Checkout&) { return otp::reply(next_++ % size_); },
                         [&](const Size&) { return otp::reply(size_); });
  }
  otp::Action handle_cast(const otp::Message& request) override {
    return request.match([&](const Crash&) -> otp::Action { crash_now(); });
  }

 private:
  int size_ = 1;
  int next_ = 0;
};

}  // namespace seed
