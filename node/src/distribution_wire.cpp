// Wire conversions of distribution: exit reasons <-> protocol::ExitReason, user messages <->
// payloads (through the registered remote types), and Pids inside those messages (to_json /
// from_json, which need the distribution doing the encoding). See distribution.hpp.
#include "distribution.hpp"
#include "remote_types.hpp"

namespace otp {
namespace detail {

namespace {

/// The distribution encoding or decoding a payload on this thread: Pids inside user messages
/// need it (to_json / from_json below).
thread_local Distribution* codec_context = nullptr;

struct CodecScope {
  explicit CodecScope(Distribution* d) : saved(codec_context) { codec_context = d; }
  ~CodecScope() { codec_context = saved; }
  Distribution* saved;
};

}  // namespace

// -- reasons -------------------------------------------------------------------------------------

Reason reason_from_wire(const protocol::ExitReason& r) {
  using K = protocol::ReasonKind;
  switch (r.kind) {
    case K::normal:
      return Reason::normal();
    case K::shutdown:
      return Reason::shutdown(r.detail);
    case K::kill:
      return Reason::kill();
    case K::killed:
      return Reason::killed();
    case K::noproc:
      return Reason::noproc();
    case K::noconnection:
      return Reason::noconnection();
    case K::error:
      break;
  }
  return Reason::error(r.detail);
}

protocol::ExitReason reason_to_wire(const Reason& r) {
  using K = protocol::ReasonKind;
  switch (r.kind()) {
    case Reason::Kind::normal:
      return {K::normal, {}};
    case Reason::Kind::shutdown:
      return {K::shutdown, r.detail()};
    case Reason::Kind::kill:
      return {K::kill, {}};
    case Reason::Kind::killed:
      return {K::killed, {}};
    case Reason::Kind::noproc:
      return {K::noproc, {}};
    case Reason::Kind::noconnection:
      return {K::noconnection, {}};
    case Reason::Kind::error:
      break;
  }
  return {K::error, r.detail()};
}

// -- payloads ------------------------------------------------------------------------------------

Result<protocol::Payload> Distribution::encode(const Message& message, const Context& context) {
  if (message.empty()) return protocol::Payload{"", nullptr};
  auto codec = remote_codec(message.type());
  if (!codec)
    return Error(ErrorCode::badarg, context() + ": message type " + message.type_name() +
                                        " has no remote name (otp::register_remote_type)");
  CodecScope scope(this);
  try {
    return protocol::Payload{codec->name, codec->encode(message)};
  } catch (const std::exception& e) {
    return Error(ErrorCode::badarg,
                 context() + ": to_json of " + message.type_name() + " failed: " + e.what());
  }
}

Result<Message> Distribution::decode(const protocol::Payload& payload, const Context& context) {
  if (payload.type.empty()) return Message();
  auto codec = remote_codec(payload.type);
  if (!codec)
    return Error(ErrorCode::bad_call, context() + ": message type '" + payload.type +
                                          "' is not registered on node " + self_.full_name());
  CodecScope scope(this);
  try {
    return codec->decode(payload.value);
  } catch (const std::exception& e) {
    return Error(ErrorCode::bad_call, context() + ": the value of a '" + payload.type +
                                          "' does not decode on node " + self_.full_name() + ": " +
                                          e.what());
  }
}

}  // namespace detail

// -- Pids inside messages ------------------------------------------------------------------------

void to_json(nlohmann::json& j, const Pid& pid) {
  auto* d = detail::codec_context;
  if (!d)
    throw nlohmann::json::other_error::create(599, "a Pid is only encoded when it crosses nodes",
                                              nullptr);
  auto w = d->to_wire(pid);
  if (!w) {
    j = nullptr;  // an invalid pid, or one of a node that is not distributed
    return;
  }
  j = nlohmann::json{
      {"node", {{"name", w->node.name}, {"host", w->node.host}, {"creation", w->node.creation}}},
      {"id", w->id}};
}

void from_json(const nlohmann::json& j, Pid& pid) {
  auto* d = detail::codec_context;
  if (!d)
    throw nlohmann::json::other_error::create(599, "a Pid is only decoded when it crosses nodes",
                                              nullptr);
  if (j.is_null()) {
    pid = Pid();
    return;
  }
  protocol::Pid w;
  const auto& n = j.at("node");
  w.node.name = n.at("name").get<std::string>();
  w.node.host = n.at("host").get<std::string>();
  w.node.creation = n.at("creation").get<uint64_t>();
  w.id = j.at("id").get<uint64_t>();
  pid = d->from_wire(w);
}

}  // namespace otp
