// SessionManager: the seed's "GenServer with Timeouts". A session that stops itself (reason
// normal, printing "Session <id> timed out") when nothing happened for `timeout` (60 s by
// default); refresh resets the clock.
#pragma once

#include <chrono>
#include <string>

#include "otp/otp.hpp"
#include "seed/puts.hpp"

namespace seed {

class SessionManager : public otp::GenServer {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout{60'000};
  struct Refresh {};

  // -- client API --
  static otp::Result<otp::Pid> start_link(otp::Node& node, std::string session_id,
                                          std::chrono::milliseconds timeout = kDefaultTimeout,
                                          const Puts& puts = stdout_puts()) {
    return otp::gen_server::start_link<SessionManager>(node, std::move(session_id), timeout, puts);
  }
  /// As a supervised child: transient, since a session that timed out stopped normally and must
  /// not be restarted (a permanent child would be, every time it times out).
  static otp::ChildSpec child_spec(std::string session_id,
                                   std::chrono::milliseconds timeout = kDefaultTimeout,
                                   const Puts& puts = stdout_puts()) {
    return otp::worker<SessionManager>("session:" + session_id, session_id, timeout, puts)
        .restart(otp::Restart::transient);
  }
  static void refresh(otp::Node& node, const otp::Pid& session) {
    otp::gen_server::cast(node, session, Refresh{});
  }

  // -- server callbacks --
  SessionManager(std::string session_id, std::chrono::milliseconds timeout, Puts puts)
      : session_id_(std::move(session_id)), timeout_(timeout), puts_(std::move(puts)) {}

  otp::Action init() override { return otp::ok().timeout(timeout_); }
  otp::Action handle_cast(const otp::Message& request) override {
    return request.match([&](const Refresh&) { return otp::noreply().timeout(timeout_); });
  }
  otp::Action handle_info(const otp::Message& info) override {
    return info.match([&](const otp::Timeout&) {
      puts_("Session " + session_id_ + " timed out");
      return otp::stop(otp::Reason::normal());
    });
  }

 private:
  std::string session_id_;
  std::chrono::milliseconds timeout_;
  Puts puts_;
};

}  // namespace seed
