// Printing and construction of the value types: Message, Pid, Ref, ServerRef (Reason and Error
// are protocol/src/error.cpp's).
#include <cxxabi.h>

#include <atomic>
#include <cstdlib>
#include <memory>

#include "envelope.hpp"
#include "otp/error.hpp"
#include "otp/message.hpp"
#include "otp/pid.hpp"
#include "otp/reason.hpp"
#include "otp/server_ref.hpp"
#include "process_control.hpp"

namespace otp {

std::string type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  std::string name = status == 0 && demangled ? demangled.get() : type.name();
  if (name.rfind("std::__cxx11::basic_string<char", 0) == 0) return "std::string";
  if (name.rfind("nlohmann::json_abi", 0) == 0 && name.find("basic_json<") != std::string::npos)
    return "nlohmann::json";
  return name;
}

BadMessageType::BadMessageType(std::string expected, std::string actual)
    : what_("bad message type: expected " + expected + ", got " + actual) {}

std::string Message::type_name() const {
  return value_ ? otp::type_name(value_->type()) : std::string("empty");
}

Pid::Pid(std::shared_ptr<detail::Process> process) : process_(std::move(process)) {
  if (process_) {
    node_serial_ = process_->node_serial();
    id_ = process_->id();
  }
}

bool Pid::remote() const noexcept {
  return process_ && process_->is_remote();
}

std::string Pid::to_string() const {
  if (!process_) return "<invalid>";
  if (process_->is_remote()) return process_->label;  // "<b@host.42.0>", set by the proxy
  return "<" + std::to_string(node_serial_) + "." + std::to_string(id_) + ".0>";
}

Ref Ref::make() {
  static std::atomic<uint64_t> next{1};
  return Ref(next.fetch_add(1, std::memory_order_relaxed));
}

std::string ServerRef::to_string() const {
  if (const Pid* p = pid()) return p->to_string();
  if (const std::string* n = local_name()) return *n;
  if (const RemoteName* r = remote_name()) return "{" + r->name + ", " + r->node + "}";
  const ViaName& v = *via_name();
  return "{via, " + (v.registry ? v.registry->describe() : "Registry " + v.registry_name) + ", " +
         v.key + "}";
}

namespace detail {

Result<Message> to_result(std::optional<Envelope>&& e, const std::string& context) {
  if (!e) return Error(ErrorCode::timeout, context + ": no reply in time");
  switch (e->kind) {
    case EnvelopeKind::reply:
      return std::move(e->payload);
    case EnvelopeKind::reply_error:
      return e->payload.get<Error>();
    case EnvelopeKind::down:
      if (e->reason().kind() == Reason::Kind::noproc)
        return Error(ErrorCode::noproc, context + ": no such process");
      if (e->reason().kind() == Reason::Kind::noconnection)
        return Error(ErrorCode::nodedown, context + ": node down", e->reason());
      return Error(ErrorCode::exit, context + ": process exited", e->reason());
    default:
      return Error(ErrorCode::badarg, context + ": unexpected answer");
  }
}

}  // namespace detail
}  // namespace otp
