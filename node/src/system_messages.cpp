// The runtime's requests inside process messages (system_messages.hpp): their remote codecs.
#include "system_messages.hpp"

#include <mutex>
#include <stdexcept>

#include "distribution.hpp"
#include "remote_types.hpp"

namespace otp::detail {

void register_system_messages() {
  static std::once_flag once;
  std::call_once(once, [] {
    RemoteTypeCodec stop;
    stop.name = kStopRequestType;
    stop.encode = [](const Message& m) {
      const auto wire = reason_to_wire(m.get<StopRequest>().reason);
      return nlohmann::json{{"kind", protocol::to_string(wire.kind)}, {"detail", wire.detail}};
    };
    stop.decode = [](const nlohmann::json& j) {
      const auto kind = protocol::reason_kind_from_string(j.at("kind").get<std::string>());
      if (!kind) throw std::invalid_argument("unknown exit reason kind " + j.at("kind").dump());
      return Message(StopRequest{
          reason_from_wire(protocol::ExitReason{*kind, j.at("detail").get<std::string>()})});
    };
    register_remote_codec(typeid(StopRequest), std::move(stop));

    RemoteTypeCodec whereis;
    whereis.name = kWhereisRequestType;
    whereis.encode = [](const Message&) { return nlohmann::json::object(); };
    whereis.decode = [](const nlohmann::json&) { return Message(WhereisRequest{}); };
    register_remote_codec(typeid(WhereisRequest), std::move(whereis));
  });
}

}  // namespace otp::detail
