// Database: the first child of the one_for_all MyApp.CriticalSupervisor, registered as "database".
// An in-memory key-value table (a restart loses it): insert is a cast, lookup a call.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "seed/component.hpp"

namespace seed {

class Database : public Component {
 public:
  static constexpr const char* kName = "database";
  struct Insert {
    std::string key, value;
  };
  struct Lookup {
    std::string key;
  };

  // -- client API --
  static otp::ChildSpec child_spec(Puts puts) {
    return otp::worker<Database>("database", std::move(puts)).named(kName);
  }
  static void insert(otp::Node& node, std::string key, std::string value) {
    otp::gen_server::cast(node, kName, Insert{std::move(key), std::move(value)});
  }
  static std::optional<std::string> lookup(otp::Node& node, std::string key) {
    return otp::gen_server::call<std::optional<std::string>>(node, kName, Lookup{std::move(key)})
        .value();
  }

  // -- server callbacks --
  explicit Database(Puts puts) : Component("Database", std::move(puts)) {}

  otp::Action handle_call(const otp::Message& request, const otp::From&) override {
    return request.match([&](const Lookup& l) {
      auto it = rows_.find(l.key);
      return otp::reply(it == rows_.end() ? std::nullopt : std::optional(it->second));
    });
  }
  otp::Action handle_cast(const otp::Message& request) override {
    return request.match(
        [&](const Insert& i) {
          rows_[i.key] = i.value;
          return otp::noreply();
        },
        [&](const Crash&) -> otp::Action { crash_now(); });
  }

 private:
  std::map<std::string, std::string> rows_;
};

}  // namespace seed
