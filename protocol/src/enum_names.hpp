// Name tables of the protocol's enums: the JSON codec writes names, MessagePack writes the ids.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string_view>

#include "otp/protocol/envelope.hpp"
#include "otp/protocol/global_names.hpp"
#include "otp/protocol/handshake_messages.hpp"
#include "otp/protocol/reason.hpp"

namespace otp::protocol::detail {

template <class E>
struct EnumName {
  E value;
  const char* name;
};

inline constexpr std::array<EnumName<ReasonKind>, 7> kReasonKindNames{{
    {ReasonKind::normal, "normal"},
    {ReasonKind::shutdown, "shutdown"},
    {ReasonKind::kill, "kill"},
    {ReasonKind::killed, "killed"},
    {ReasonKind::noproc, "noproc"},
    {ReasonKind::noconnection, "noconnection"},
    {ReasonKind::error, "error"},
}};

inline constexpr std::array<EnumName<MessageType>, 17> kMessageTypeNames{{
    {MessageType::hello, "hello"},
    {MessageType::proof, "proof"},
    {MessageType::reject, "reject"},
    {MessageType::send, "send"},
    {MessageType::call, "call"},
    {MessageType::reply, "reply"},
    {MessageType::cast, "cast"},
    {MessageType::monitor, "monitor"},
    {MessageType::demonitor, "demonitor"},
    {MessageType::down, "down"},
    {MessageType::link, "link"},
    {MessageType::unlink, "unlink"},
    {MessageType::exit, "exit"},
    {MessageType::ping, "ping"},
    {MessageType::pong, "pong"},
    {MessageType::name_update, "name_update"},
    {MessageType::name_sync, "name_sync"},
}};

inline constexpr std::array<EnumName<NameUpdateKind>, 2> kNameUpdateKindNames{{
    {NameUpdateKind::add, "add"},
    {NameUpdateKind::remove, "remove"},
}};

inline constexpr std::array<EnumName<CallErrorCode>, 7> kCallErrorCodeNames{{
    {CallErrorCode::noproc, "noproc"},
    {CallErrorCode::exit, "exit"},
    {CallErrorCode::bad_call, "bad_call"},
    {CallErrorCode::unknown_type, "unknown_type"},
    {CallErrorCode::bad_payload, "bad_payload"},
    {CallErrorCode::shutting_down, "shutting_down"},
    {CallErrorCode::error, "error"},
}};

inline constexpr std::array<EnumName<RejectReason>, 5> kRejectReasonNames{{
    {RejectReason::version_mismatch, "version_mismatch"},
    {RejectReason::cluster_mismatch, "cluster_mismatch"},
    {RejectReason::bad_mac, "bad_mac"},
    {RejectReason::malformed, "malformed"},
    {RejectReason::internal_error, "internal_error"},
}};

inline std::span<const EnumName<ReasonKind>> names_of(ReasonKind) {
  return kReasonKindNames;
}
inline std::span<const EnumName<MessageType>> names_of(MessageType) {
  return kMessageTypeNames;
}
inline std::span<const EnumName<CallErrorCode>> names_of(CallErrorCode) {
  return kCallErrorCodeNames;
}
inline std::span<const EnumName<NameUpdateKind>> names_of(NameUpdateKind) {
  return kNameUpdateKindNames;
}
inline std::span<const EnumName<RejectReason>> names_of(RejectReason) {
  return kRejectReasonNames;
}

template <class E>
const char* name_of(E value) {
  for (const auto& e : names_of(E{})) {
    if (e.value == value) return e.name;
  }
  return "unknown";
}

template <class E>
std::optional<E> from_name(std::string_view name) {
  for (const auto& e : names_of(E{})) {
    if (name == e.name) return e.value;
  }
  return std::nullopt;
}

template <class E>
std::optional<E> from_id(uint64_t id) {
  for (const auto& e : names_of(E{})) {
    if (static_cast<uint64_t>(e.value) == id) return e.value;
  }
  return std::nullopt;
}

}  // namespace otp::protocol::detail
