// Cache: the second child of the one_for_all MyApp.CriticalSupervisor, registered as "cache".
// fetch answers from memory or reads through to the Database. It holds copies of the Database's
// rows, so when the Database restarts (empty) the Cache must restart too: hence one_for_all.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "seed/component.hpp"
#include "seed/database.hpp"

namespace seed {

class Cache : public Component {
 public:
  static constexpr const char* kName = "cache";
  struct Fetch {
    std::string key;
  };
  struct Size {};

  // -- client API --
  static otp::ChildSpec child_spec(Puts puts) {
    return otp::worker<Cache>("cache", std::move(puts)).named(kName);
  }
  static std::optional<std::string> fetch(otp::Node& node, std::string key) {
    return otp::gen_server::call<std::optional<std::string>>(node, kName, Fetch{std::move(key)})
        .value();
  }
  /// How many rows the cache holds.
  static size_t size(otp::Node& node) {
    return otp::gen_server::call<size_t>(node, kName, Size{}).value();
  }

  // -- server callbacks --
  explicit Cache(Puts puts) : Component("Cache", std::move(puts)) {}

  otp::Action handle_call(const otp::Message& request, const otp::From&) override {
    using Row = std::optional<std::string>;
    return request.match(
        [&](const Fetch& f) -> otp::Action {
          if (auto it = entries_.find(f.key); it != entries_.end())
            return otp::reply(Row(it->second));
          // A miss reads through without blocking a scheduler thread; if the Database is gone,
          // value() throws and the Cache crashes with it (a failed call exits the caller).
          return await_call<Row>(Database::kName, Database::Lookup{f.key},
                                 [this, key = f.key](otp::Result<Row> row) {
                                   if (row.value()) entries_[key] = **row;
                                   return otp::reply(*row);
                                 });
        },
        [&](const Size&) { return otp::reply(entries_.size()); });
  }
  otp::Action handle_cast(const otp::Message& request) override {
    return request.match([&](const Crash&) -> otp::Action { crash_now(); });
  }

 private:
  std::map<std::string, std::string> entries_;
};

}  // namespace seed
