// Which C++ message types may cross nodes, and how. Local messages are never serialized; a
// message sent to a process on another node is turned into JSON with the type's nlohmann
// to_json, sent with the name registered here, and rebuilt on the receiver with from_json:
//
// clang-format off
//   struct Increment { int by = 1; };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Increment, by)
//   struct Get {};                                   // empty structs (atoms) need no to_json
// clang-format on
//
// clang-format off
//   otp::register_remote_type<Increment>("counter.increment");   // on every node, at start-up
//   otp::register_remote_type<Get>("counter.get");
// clang-format on
//
// Both nodes must register the same name for a type. int, int64_t, uint64_t, double, bool,
// std::string, nlohmann::json, otp::Pid and otp::Ok come registered. A message whose type is not
// registered is refused on the sending node (a call returns badarg naming the type); a name the
// receiving node does not know is refused there (the caller gets a bad_call error naming it) and
// the receiver keeps serving. Pids inside registered messages cross nodes too (to_json below).
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <typeinfo>

#include "otp/message.hpp"
#include "otp/pid.hpp"

namespace otp {

namespace detail {
struct RemoteTypeCodec {
  std::string name;
  std::function<nlohmann::json(const Message&)> encode;
  std::function<Message(const nlohmann::json&)> decode;
};
/// Throws std::logic_error when name is taken by another type or type has another name.
void register_remote_codec(const std::type_info& type, RemoteTypeCodec codec);
}  // namespace detail

/// Lets messages of type T cross nodes under `name` (process-wide). T needs nlohmann
/// to_json/from_json (found by ADL), unless it is an empty struct. Registering the same type
/// under the same name again does nothing; a conflicting registration throws std::logic_error.
template <class T>
void register_remote_type(std::string name) {
  detail::RemoteTypeCodec codec;
  codec.name = std::move(name);
  if constexpr (std::is_empty_v<T>) {
    codec.encode = [](const Message&) { return nlohmann::json::object(); };
    codec.decode = [](const nlohmann::json&) { return Message(T{}); };
  } else {
    codec.encode = [](const Message& m) { return nlohmann::json(m.get<T>()); };
    codec.decode = [](const nlohmann::json& j) { return Message(j.get<T>()); };
  }
  detail::register_remote_codec(typeid(T), std::move(codec));
}

/// Pids inside messages: encoded as the node identity plus the process number, so the receiver
/// gets a pid it can send to, call, monitor and link. Only valid while a message crosses nodes
/// (inside the distribution's encode/decode); elsewhere they throw nlohmann::json::other_error.
void to_json(nlohmann::json& j, const Pid& pid);
void from_json(const nlohmann::json& j, Pid& pid);

}  // namespace otp
