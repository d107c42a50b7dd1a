// What otp-node and otp-ctl take when a flag is not given, so that replicas of one command line
// (containers of one compose service) become distinct nodes that can reach each other: the node
// name from the host name, the advertised host from the host's own address, the cookie from a
// secret file or the environment. The choosing is pure (tests give it the inputs); the gathering
// (gethostname, getaddrinfo, getifaddrs) is in the functions without arguments.
//
//   std::string name = cli::default_name();                      // gethostname(), else "otp"
//   std::string host = cli::default_host();                      // e.g. "172.18.0.3"
//   auto cookie = cli::resolve_cookie(flag, file_flag);  // or the environment; a file: 1st line
//   if (auto w = cli::loopback_warning(host, seeds)) std::cerr << *w << "\n";
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "otp/error.hpp"

namespace cli {

/// This host's name (gethostname), "otp" when it has none.
std::string default_name();

/// The address to advertise: the first non-loopback IPv4 address the host name resolves to,
/// else the first non-loopback interface address, else "127.0.0.1".
std::string choose_host(const std::vector<std::string>& resolved,
                        const std::vector<std::string>& interfaces);
/// choose_host() of this host's name's IPv4 addresses and its interfaces' IPv4 addresses.
std::string default_host();

/// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback(const std::string& host);

/// The warning for a node that advertises a loopback address while it dials (or joins through)
/// a target that is not on loopback: the others would dial it back at their own loopback.
/// Targets are HOST:PORT; nullopt when there is nothing to say.
std::optional<std::string> loopback_warning(const std::string& advertised,
                                            const std::vector<std::string>& targets);

/// The secret in a cookie file: its first line without surrounding white space. badarg (the
/// context says why) when the file can not be read or that line is empty.
otp::Result<std::string> read_cookie_file(const std::string& path);

/// The cookie from its sources, the first that is set: `cookie` (--cookie), `cookie_file`
/// (--cookie-file), $OTP_COOKIE_FILE, $OTP_COOKIE. badarg saying why when the file can not be
/// read (read_cookie_file) or no source gives a cookie.
otp::Result<std::string> resolve_cookie(const std::string& cookie, const std::string& cookie_file);

}  // namespace cli
