// UserSession: the seed's "Registry for Process Lookup". One GenServer per user, named through
// the unique-key Registry "MyApp.Registry" under the key {"user_session", id} (a via name with a
// tuple key, as the seed's {:user_session, user_id}), holding
// {user_id, messages}. send_message finds the session with Registry::lookup and casts the message
// to it, or returns not_found when the user has no session. A session that dies is gone from the
// registry, so it can be started again under the same name.
//
//   registry: seed::UserSession::registry_spec() in a supervisor, or Registry::start
//   seed::UserSession::start_link(node, 42);
//   seed::UserSession::send_message(node, 42, "hello");   // ok
//   seed::UserSession::send_message(node, 7, "hello");    // error not_found
//   seed::UserSession::messages(node, 42);                // {"hello"}
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "otp/otp.hpp"

namespace seed {

class UserSession : public otp::GenServer {
 public:
  static constexpr const char* kRegistry = "MyApp.Registry";
  /// A DynamicSupervisor for sessions in the seed's application tree.
  static constexpr const char* kSupervisor = "MyApp.SessionSupervisor";
  using UserId = int;
  /// %{user_id: ..., messages: [...]}: the newest message first, as [message | messages].
  struct State {
    UserId user_id = 0;
    std::vector<std::string> messages;
  };
  struct Deliver {  // {:message, message}
    std::string message;
  };
  struct GetState {};

  // -- client API --
  /// `{Registry, keys: :unique, name: MyApp.Registry}` in application.ex.
  static otp::ChildSpec registry_spec() {
    return otp::Registry::child_spec(kRegistry,
                                     {.keys = otp::Registry::Keys::unique, .name = kRegistry});
  }
  /// {:user_session, user_id}.
  using Key = std::tuple<std::string, UserId>;
  static Key key(UserId user_id) { return {"user_session", user_id}; }
  /// {:via, Registry, {MyApp.Registry, {:user_session, user_id}}}: the registry is named rather
  /// than held, looked up at each use, so a child spec built before the registry (re)started
  /// still registers with, and resolves through, the registry running now.
  static otp::ServerRef via_tuple(otp::Node&, UserId user_id) {
    return otp::via(kRegistry, key(user_id));
  }

  /// Errors: already_started when the user has a session; noproc without the registry.
  static otp::Result<otp::Pid> start_link(otp::Node& node, UserId user_id) {
    return otp::gen_server::start_link<UserSession>(node, otp::name(via_tuple(node, user_id)),
                                                    user_id);
  }
  static otp::ChildSpec child_spec(otp::Node& node, UserId user_id) {
    return otp::dynamic_supervisor::child<UserSession>(user_id).named(via_tuple(node, user_id));
  }
  /// Starts a session under MyApp.SessionSupervisor (the application tree's).
  static otp::Result<otp::Pid> start_supervised(otp::Node& node, UserId user_id) {
    return otp::dynamic_supervisor::start_child(node, kSupervisor, child_spec(node, user_id));
  }

  /// Casts the message to the user's session; not_found when there is none.
  static otp::Result<void> send_message(otp::Node& node, UserId user_id, std::string message) {
    auto registry = otp::Registry::find(node, kRegistry);
    auto found = registry ? (*registry)->lookup(key(user_id)) : std::vector<otp::Registry::Entry>{};
    if (found.empty())  // []
      return otp::Error(otp::ErrorCode::not_found,
                        "send_message: no session for user " + std::to_string(user_id));
    otp::gen_server::cast(node, found.front().pid, Deliver{std::move(message)});  // [{pid, _}]
    return {};
  }
  /// The session's state (a call through the via name). Errors: noproc without a session.
  static otp::Result<State> state(otp::Node& node, UserId user_id) {
    return otp::gen_server::call<State>(node, via_tuple(node, user_id), GetState{});
  }
  static otp::Result<std::vector<std::string>> messages(otp::Node& node, UserId user_id) {
    auto s = state(node, user_id);
    if (!s) return s.error();
    return std::move(s->messages);
  }

  // -- server callbacks --
  explicit UserSession(UserId user_id) { state_.user_id = user_id; }  // init: {:ok, %{...}}

  otp::Action handle_call(const otp::Message& request, const otp::From&) override {
    return request.match([&](const GetState&) { return otp::reply(state_); });
  }
  otp::Action handle_cast(const otp::Message& request) override {
    return request.match([&](const Deliver& d) {
      state_.messages.insert(state_.messages.begin(), d.message);
      return otp::noreply();
    });
  }

 private:
  State state_;
};

}  // namespace seed
