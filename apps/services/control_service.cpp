#include "services/control_service.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "otp/cluster/control_channel.hpp"
#include "otp/cluster/stats_snapshot.hpp"
#include "otp/remote_payload.hpp"

namespace services {
namespace {

using nlohmann::json;

/// {"type","value"} -> the wire payload otp-ctl sent; nullopt when the shape is wrong.
std::optional<otp::protocol::Payload> payload_of(const json& message) {
  if (!message.is_object() || !message.contains("type") || !message["type"].is_string())
    return std::nullopt;
  return otp::protocol::Payload{message["type"].get<std::string>(),
                                message.contains("value") ? message["value"] : json::object()};
}

class ControlServer : public otp::GenServer {
 public:
  explicit ControlServer(otp::cluster::Cluster* cluster) : cluster_(*cluster) {}

  otp::Action handle_call(const otp::Message& m, const otp::From&) override {
    return m.match(
        [&](const CtlMembers&) { return otp::reply(members()); },
        [&](const CtlNodes&) { return otp::reply(json(otp::distribution::nodes(node()))); },
        [&](const CtlNames&) { return otp::reply(names()); },
        [&](const CtlInfo&) { return otp::reply(info()); },
        [&](const CtlWhereis& w) {
          auto found = whereis(w.name);
          if (!found) return otp::reply(unknown_name(w.name));
          return otp::reply(*found);
        },
        [&](const CtlCall& c) { return call(c); },
        [&](const CtlCast& c) { return otp::reply(cast(c)); });
  }

 private:
  json members() {
    json out = json::array();
    for (const auto& m : cluster_.members()) {
      out.push_back({{"name", m.id.full_name()},
                     {"address", m.meta.data.to_string()},
                     {"gossip", m.gossip.to_string()},
                     {"state", otp::membership::to_string(m.state)},
                     {"incarnation", m.incarnation}});
    }
    std::sort(out.begin(), out.end(),
              [](const json& a, const json& b) { return a["name"] < b["name"]; });
    return out;
  }

  json names() {
    json out = json::array();
    for (const auto& name : otp::global::registered_names(node())) {
      auto owner = otp::global::whereis_name(node(), name);
      if (!owner) continue;  // unregistered since the list was taken
      out.push_back({{"name", name},
                     {"pid", otp::cluster::pid_text(node(), *owner)},
                     {"node", otp::distribution::node_of(node(), *owner)}});
    }
    return out;
  }

  json info() {
    const auto s = otp::cluster::take_snapshot(node(), cluster_);
    json links = json::array();
    for (const auto& l : s.transport.links) {
      links.push_back({{"peer", l.peer.full_name()},
                       {"hidden", l.hidden},
                       {"bytes_in", l.bytes_in},
                       {"bytes_out", l.bytes_out},
                       {"queued_bytes", l.queued_bytes},
                       {"queued_messages", l.queued_messages}});
    }
    return {{"node", s.node},
            {"processes", s.runtime.processes},
            {"messages_handled", s.runtime.messages_handled},
            {"calls_handled", s.runtime.calls_handled},
            {"run_queue", s.runtime.run_queue},
            {"scheduler_threads", node()->scheduler_threads()},
            {"memory_bytes", s.resident_bytes},
            {"links_up", s.transport.links_up},
            {"hidden_nodes", otp::distribution::hidden_nodes(node())},
            {"links", links},
            {"link_queued_bytes", s.transport.queued_bytes},
            {"messages_sent", s.transport.messages_sent},
            {"messages_received", s.transport.messages_received},
            {"members", cluster_.members().size()},
            {"global_names", s.global_names.names}};
  }

  /// The global owner of name, else the process registered as name here.
  std::optional<json> whereis(const std::string& name) {
    std::string scope = "global";
    auto pid = otp::global::whereis_name(node(), name);
    if (!pid) {
      scope = "local";
      pid = node()->whereis(name);
    }
    if (!pid) return std::nullopt;
    return json{{"name", name},
                {"pid", otp::cluster::pid_text(node(), *pid)},
                {"node", otp::distribution::node_of(node(), *pid)},
                {"scope", scope}};
  }
  std::optional<otp::Pid> resolve(const std::string& name) {
    if (auto pid = otp::global::whereis_name(node(), name)) return pid;
    return node()->whereis(name);
  }

  otp::Error unknown_name(const std::string& name) {
    return otp::Error(otp::ErrorCode::noproc,
                      "unknown name '" + name +
                          "': no global name and nothing registered as it on " +
                          cluster_.self().full_name());
  }

  /// The message otp-ctl sent, decoded as the node decodes one from another node.
  otp::Result<otp::Message> message_of(const json& message) {
    auto payload = payload_of(message);
    if (!payload)
      return otp::Error(otp::ErrorCode::bad_call,
                        R"(the message must be {"type": "<registered type>", "value": ...})");
    return otp::decode_payload(node(), *payload);
  }

  otp::Action call(const CtlCall& c) {
    auto target = resolve(c.name);
    if (!target) return otp::reply(unknown_name(c.name));
    auto request = message_of(c.message);
    if (!request) return otp::reply(request.error());
    return await_call(
        *target, std::move(request).value(),
        [this](otp::Result<otp::Message> answer) {
          if (!answer) return otp::reply(answer.error());
          auto payload = otp::encode_payload(node(), *answer);
          if (!payload) return otp::reply(payload.error());
          return otp::reply(json{{"type", payload->type}, {"value", payload->value}});
        },
        std::chrono::milliseconds(c.timeout_ms));
  }

  otp::Message cast(const CtlCast& c) {
    auto target = resolve(c.name);
    if (!target) return unknown_name(c.name);
    auto request = message_of(c.message);
    if (!request) return request.error();
    otp::gen_server::cast(node(), *target, std::move(request).value());
    return json::object();
  }

  otp::cluster::Cluster& cluster_;
};

}  // namespace

void register_control_types() {
  otp::register_remote_type<CtlMembers>("ctl.members");
  otp::register_remote_type<CtlNodes>("ctl.nodes");
  otp::register_remote_type<CtlNames>("ctl.names");
  otp::register_remote_type<CtlInfo>("ctl.info");
  otp::register_remote_type<CtlWhereis>("ctl.whereis");
  otp::register_remote_type<CtlCall>("ctl.call");
  otp::register_remote_type<CtlCast>("ctl.cast");
}

otp::ChildSpec control_service(otp::cluster::Cluster& cluster) {
  return otp::worker<ControlServer>(kControlName, &cluster).named(kControlName);
}

}  // namespace services
