// UserCache: the seed's "GenServer with State Management". A GenServer registered as
// "user_cache" holding a map of users: put and delete are casts, get and all are calls. get of an
// unknown id gives nullopt, as Map.get gives nil.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "otp/otp.hpp"

namespace seed {

struct User {
  std::string name;
  std::string email;
  friend bool operator==(const User&, const User&) = default;
};

class UserCache : public otp::GenServer {
 public:
  static constexpr const char* kName = "user_cache";
  using UserId = int;
  using Users = std::map<UserId, User>;
  struct Put {
    UserId id;
    User user;
  };
  struct Get {
    UserId id;
  };
  struct Delete {
    UserId id;
  };
  struct All {};

  // -- client API --
  static otp::Result<otp::Pid> start_link(otp::Node& node) {
    return otp::gen_server::start_link<UserCache>(node, otp::name(kName));
  }
  static otp::ChildSpec child_spec() { return otp::worker<UserCache>("user_cache").named(kName); }
  static void put(otp::Node& node, UserId id, User user) {
    otp::gen_server::cast(node, kName, Put{id, std::move(user)});
  }
  static std::optional<User> get(otp::Node& node, UserId id) {
    return otp::gen_server::call<std::optional<User>>(node, kName, Get{id}).value();
  }
  static void remove(otp::Node& node, UserId id) {  // Elixir's delete/1
    otp::gen_server::cast(node, kName, Delete{id});
  }
  static Users all(otp::Node& node) {
    return otp::gen_server::call<Users>(node, kName, All{}).value();
  }

  // -- server callbacks --
  otp::Action handle_call(const otp::Message& request, const otp::From&) override {
    return request.match(
        [&](const Get& g) {
          auto it = users_.find(g.id);
          return otp::reply(it == users_.end() ? std::nullopt : std::optional<User>(it->second));
        },
        [&](const All&) { return otp::reply(users_); });
  }
  otp::Action handle_cast(const otp::Message& request) override {
    return request.match(
        [&](const Put& p) {
          users_[p.id] = p.user;
          return otp::noreply();
        },
        [&](const Delete& d) {
          users_.erase(d.id);
          return otp::noreply();
        });
  }

 private:
  Users users_;  // init: {:ok, %{}}
};

}  // namespace seed
