// The envelopes that carry process traffic between two connected nodes: send, call, reply, cast,
// monitor, demonitor, down, link, unlink, exit, and the link-level ping/pong heartbeat.
//
// Each mirrors one runtime operation; the receiving node's transport turns it into the local
// operation on the target (resolving a name Target on its own name table):
//
// clang-format off
//   Call{.from = caller, .to = std::string("counter"), .ref = tag, .request = {"get", nullptr}}
//     -> the receiver answers Reply{.to = caller, .ref = tag, .result = Payload{"int", 5}}
//        or Reply{..., .result = CallError{CallErrorCode::noproc, "counter"}}
//   Monitor{.watcher = w, .target = p, .ref = r} -> later Down{.watcher = w, .ref = r, ...}
// clang-format on
//
// Ordering between a pair of processes is the connection's order, as in Erlang.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "otp/error.hpp"
#include "otp/protocol/ids.hpp"
#include "otp/protocol/payload.hpp"
#include "otp/protocol/reason.hpp"

namespace otp::protocol {

/// Wire ids of every message kind. ONLY APPEND: the numeric values are part of the protocol.
enum class MessageType : uint8_t {
  hello = 1,
  proof = 2,
  reject = 3,
  send = 10,
  call = 11,
  reply = 12,
  cast = 13,
  monitor = 14,
  demonitor = 15,
  down = 16,
  link = 17,
  unlink = 18,
  exit = 19,
  ping = 20,
  pong = 21,
  name_update = 22,  // global names (global_names.hpp)
  name_sync = 23,
};

/// "hello", "call", ...: the message's name in the JSON codec.
const char* to_string(MessageType type);

/// A plain message to a process (Erlang's `!`).
struct Send {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::send;
  /// The sending process.
  Pid from;
  /// The receiving process, or a name registered on the receiving node.
  Target to;
  /// The user message (its registered type name and JSON value).
  Payload message;
  friend bool operator==(const Send&, const Send&) = default;
};

/// A gen_server call; the receiver answers with a Reply carrying the same ref.
struct Call {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::call;
  /// The calling process: the Reply goes to it.
  Pid from;
  /// The server: a process, or a name registered on the receiving node.
  Target to;
  Ref ref;  // the caller's tag; the Reply carries it back
  /// The request (its registered type name and JSON value).
  Payload request;
  friend bool operator==(const Call&, const Call&) = default;
};

/// Why a call failed on the receiving node. ONLY APPEND.
enum class CallErrorCode : uint8_t {
  noproc = 0,         // no live process behind the target
  exit = 1,           // the server exited while serving the call (reason says why)
  bad_call = 2,       // the server has no clause for the request
  unknown_type = 3,   // the receiver does not know the payload's registered type name
  bad_payload = 4,    // the type is known but from_json failed on the value
  shutting_down = 5,  // the receiving node is stopping
  error = 6,          // the server answered with an error value: error_code and detail are it
};

/// "noproc", "bad_call", ...: the code's name in the JSON codec; "unknown" for another value.
const char* to_string(CallErrorCode code);
/// The code named name; nullopt for a name this version does not know.
std::optional<CallErrorCode> call_error_code_from_string(std::string_view name);

/// What a Reply carries when the call failed on the receiving node.
struct CallError {
  /// Why the call failed.
  CallErrorCode code = CallErrorCode::noproc;
  std::string detail;  // context for a human, e.g. the unknown type name
  ExitReason reason;   // for exit (and an error value's reason): the server's exit reason
  /// For CallErrorCode::error: the code of the server's otp::Error, as its numeric wire id in
  /// both codecs (an id this build does not know fails decoding with bad_field).
  ErrorCode error_code = ErrorCode::bad_call;
  friend bool operator==(const CallError&, const CallError&) = default;
};

/// The answer to a Call: a value or an error.
struct Reply {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::reply;
  Pid to;   // the caller
  Ref ref;  // the Call's ref
  /// The server's reply value, or why the call failed.
  std::variant<Payload, CallError> result;
  friend bool operator==(const Reply&, const Reply&) = default;
};

/// A gen_server cast: fire and forget.
struct Cast {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::cast;
  /// The casting process.
  Pid from;
  /// The server: a process, or a name registered on the receiving node.
  Target to;
  /// The request (its registered type name and JSON value).
  Payload request;
  friend bool operator==(const Cast&, const Cast&) = default;
};

/// watcher monitors target; a Down with the same ref follows when target exits (at once, with
/// noproc, when it does not exist).
struct Monitor {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::monitor;
  /// The monitoring process (on the sending node): the Down goes to it.
  Pid watcher;
  /// The monitored process, or a name registered on the receiving node.
  Target target;
  /// Names the monitor: the Down and a Demonitor carry it.
  Ref ref;
  friend bool operator==(const Monitor&, const Monitor&) = default;
};

/// Removes the monitor ref; no Down for it is delivered afterwards.
struct Demonitor {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::demonitor;
  /// The monitoring process.
  Pid watcher;
  /// The monitored process or name, as in the Monitor.
  Target target;
  /// The ref of the Monitor to remove.
  Ref ref;
  friend bool operator==(const Demonitor&, const Demonitor&) = default;
};

/// The monitored process exited (or never existed: noproc).
struct Down {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::down;
  /// The monitoring process (on the receiving node).
  Pid watcher;
  /// The Monitor's ref.
  Ref ref;
  Target process;  // what was monitored: its pid, or the name when no process held it
  /// Why it exited (noproc: it did not exist; noconnection: its node went away).
  ExitReason reason;
  friend bool operator==(const Down&, const Down&) = default;
};

/// from links itself to to (links are symmetric; both nodes record it).
struct Link {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::link;
  /// The process that links (on the sending node).
  Pid from;
  /// The process it links to (on the receiving node).
  Pid to;
  friend bool operator==(const Link&, const Link&) = default;
};

/// from removes its link to to (both nodes forget it).
struct Unlink {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::unlink;
  /// The process that unlinks (on the sending node).
  Pid from;
  /// The process it unlinks from (on the receiving node).
  Pid to;
  friend bool operator==(const Unlink&, const Unlink&) = default;
};

/// An exit signal from `from` to `to`. `link` = true: sent because a linked process exited (the
/// receiver drops it if the link is gone); false: an explicit exit(pid, reason).
struct Exit {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::exit;
  /// The process that exited (link) or that calls exit(pid, reason).
  Pid from;
  /// The process the signal is for (on the receiving node).
  Pid to;
  /// The exit reason the receiver sees.
  ExitReason reason;
  /// true: a linked process exited; false: an explicit exit(pid, reason).
  bool link = true;
  friend bool operator==(const Exit&, const Exit&) = default;
};

/// Link heartbeat: the receiver answers Pong with the same seq.
struct Ping {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::ping;
  /// Echoed by the Pong.
  uint64_t seq = 0;
  friend bool operator==(const Ping&, const Ping&) = default;
};

/// The answer to a Ping.
struct Pong {
  /// Its wire id (what type_of returns).
  static constexpr MessageType kType = MessageType::pong;
  /// The Ping's seq.
  uint64_t seq = 0;
  friend bool operator==(const Pong&, const Pong&) = default;
};

}  // namespace otp::protocol
