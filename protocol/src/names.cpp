// to_string / from_string of the protocol's enums and ids.
#include <chrono>
#include <string>

#include "enum_names.hpp"
#include "otp/error.hpp"
#include "otp/protocol/codec.hpp"
#include "otp/protocol/ids.hpp"
#include "otp/protocol/message.hpp"

namespace otp::protocol {

const char* to_string(ReasonKind kind) {
  return detail::name_of(kind);
}
std::optional<ReasonKind> reason_kind_from_string(std::string_view name) {
  return detail::from_name<ReasonKind>(name);
}

const char* to_string(MessageType type) {
  return detail::name_of(type);
}

const char* to_string(CallErrorCode code) {
  return detail::name_of(code);
}
std::optional<CallErrorCode> call_error_code_from_string(std::string_view name) {
  return detail::from_name<CallErrorCode>(name);
}

const char* to_string(RejectReason reason) {
  return detail::name_of(reason);
}
std::optional<RejectReason> reject_reason_from_string(std::string_view name) {
  return detail::from_name<RejectReason>(name);
}

const char* to_string(Codec codec) {
  return codec == Codec::msgpack ? "msgpack" : "json";
}

std::string ExitReason::to_string() const {
  if (kind == ReasonKind::shutdown && !detail.empty()) return "{shutdown, " + detail + "}";
  if (kind == ReasonKind::error) return "error: " + detail;
  std::string s = protocol::to_string(kind);
  return detail.empty() ? s : s + ": " + detail;
}

std::string NodeId::full_name() const {
  return name + "@" + host;
}
std::string NodeId::to_string() const {
  return full_name() + "#" + std::to_string(creation);
}

uint64_t new_creation() {
  using namespace std::chrono;
  // Two runs started in the same microsecond on one host would share a creation; a node's
  // restart takes far longer than that.
  const auto us = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  return us > 0 ? static_cast<uint64_t>(us) : 1;
}

std::string Pid::to_string() const {
  return "<" + node.to_string() + "." + std::to_string(id) + ">";
}
std::string Ref::to_string() const {
  return "#Ref<" + node.to_string() + "." + std::to_string(id) + ">";
}

std::string to_string(const Target& target) {
  if (const auto* pid = std::get_if<Pid>(&target)) return pid->to_string();
  return std::get<std::string>(target);
}

MessageType type_of(const Message& message) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kType; }, message);
}

}  // namespace otp::protocol
