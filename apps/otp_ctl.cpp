// otp-ctl: operates a running cluster from the command line. It links to one node with the
// cluster's cookie through the TCP transport alone (no Node: it joins no membership and owns no
// global names) and asks that node's control service (apps/services/control_service.hpp,
// registered as "otp_ctl") what the command needs, in Calls whose payloads it writes as JSON by
// type name. Its transport is hidden (the handshake says so): the node lists it in no `nodes`,
// reports no nodeup / nodedown for it and shares no global names with it.
//
//   otp-ctl --node 127.0.0.1:7001 --cookie secret ping           # pong a@127.0.0.1
//   otp-ctl members                                              # a table, one member a line
//   otp-ctl call counter '{"type":"svc.add","value":{"by":5}}'   # 5
//
// Exit status: 0 ok; 1 the command failed (one line on stderr says why: unreachable, wrong
// cookie, unknown name, unknown message type, timeout); 2 usage. Every wait is bounded by
// --timeout-ms (connect, handshake and the request together).
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cli/defaults.hpp"
#include "cli/parse.hpp"
#include "otp/cluster/transport.hpp"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace protocol = otp::protocol;

/// A failed command: its one line for stderr (exit status 1).
struct Failure {
  std::string why;
};

/// The transport's events, for the one thread waiting on them.
class Link final : public otp::cluster::TransportListener {
 public:
  void on_node_up(const protocol::NodeId& peer, bool /*hidden: always, we are*/) override {
    std::lock_guard<std::mutex> g(mx_);
    peer_ = peer;
    cv_.notify_all();
  }
  void on_node_down(const protocol::NodeId&, const std::string& reason) override {
    std::lock_guard<std::mutex> g(mx_);
    down_ = reason;
    cv_.notify_all();
  }
  void on_message(const protocol::NodeId&, protocol::Message&& message) override {
    if (auto* reply = std::get_if<protocol::Reply>(&message)) {
      std::lock_guard<std::mutex> g(mx_);
      reply_ = std::move(*reply);
      cv_.notify_all();
    }
  }
  /// The transport's log: the last warning says why a dial failed.
  void log(std::string_view level, std::string_view text) {
    if (level != "warning" && level != "error") return;
    std::lock_guard<std::mutex> g(mx_);
    last_warning_ = text;
  }

  std::string last_warning() {
    std::lock_guard<std::mutex> g(mx_);
    return last_warning_;
  }

  /// Waits until pred() (under the lock), the deadline, or `every` passes; true when pred() held.
  template <class Pred>
  bool wait(Clock::time_point deadline, std::chrono::milliseconds every, Pred pred) {
    std::unique_lock<std::mutex> g(mx_);
    return cv_.wait_until(g, std::min(deadline, Clock::now() + every), [&] { return pred(); });
  }

  std::optional<protocol::NodeId> peer_;
  std::optional<std::string> down_;
  std::optional<protocol::Reply> reply_;

 private:
  std::string last_warning_;
  std::mutex mx_;
  std::condition_variable cv_;
};

struct Options {
  std::string node = "127.0.0.1:7000";
  std::string cookie;
  std::string cookie_file;
  std::string cluster = "otp";
  long timeout_ms = 5000;
  bool json_output = false;
  std::string command;
  std::string name;     // whereis / call / cast
  std::string message;  // call / cast
};

/// A session with one node: connect() links to it, request() calls its control service.
class Session {
 public:
  Session(const Options& o, Clock::time_point deadline) : options_(o), deadline_(deadline) {}
  ~Session() {
    if (transport_) transport_->stop();
  }

  protocol::NodeId connect() {
    otp::cluster::TransportOptions t;
    t.cluster = options_.cluster;
    t.cookie = options_.cookie;
    t.self = {"otp-ctl-" + std::to_string(::getpid()), cli::default_name(),
              protocol::new_creation()};
    t.hidden = true;              // a tool, not a member
    t.listen_host = "127.0.0.1";  // nobody dials otp-ctl: the port only exists
    t.handshake_timeout = std::max(std::chrono::milliseconds(1), remaining());
    t.log = [this](std::string_view level, std::string_view text) { link_.log(level, text); };
    auto started = otp::cluster::Transport::start(std::move(t), link_);
    if (!started) throw Failure{"cannot start a transport: " + started.error().to_string()};
    transport_ = std::move(started).value();
    if (auto dialing = transport_->connect(options_.node); !dialing)
      throw Failure{"bad --node " + options_.node + ": " + dialing.error().context()};
    const auto rejected = [&](protocol::RejectReason r) {
      return transport_->stats().rejected[static_cast<size_t>(r)] > 0;
    };
    while (true) {
      if (link_.wait(deadline_, std::chrono::milliseconds(10),
                     [&] { return link_.peer_.has_value(); }))
        return *link_.peer_;
      const auto s = transport_->stats();
      if (rejected(protocol::RejectReason::bad_mac))
        throw Failure{"wrong cookie: " + options_.node + " refused our proof (bad_mac)"};
      if (rejected(protocol::RejectReason::cluster_mismatch))
        throw Failure{"wrong cluster: " + options_.node + " is not in cluster '" +
                      options_.cluster + "' (--cluster)"};
      if (rejected(protocol::RejectReason::version_mismatch))
        throw Failure{"protocol version mismatch with " + options_.node};
      if (s.dial_failures > 0) throw Failure{"unreachable: " + last_warning()};
      if (Clock::now() >= deadline_)
        throw Failure{"timeout: no handshake with " + options_.node + " within " +
                      std::to_string(options_.timeout_ms) + " ms"};
    }
  }

  /// Calls the node's control service with {type, value}; its answer's JSON value.
  json request(const std::string& type, json value) {
    const protocol::NodeId self = transport_->self();
    protocol::Call call{.from = {self, 1},
                        .to = std::string("otp_ctl"),
                        .ref = {self, 1},
                        .request = {type, std::move(value)}};
    if (auto error = transport_->send(*link_.peer_, call))
      throw Failure{"cannot send to " + options_.node + ": " + otp::to_string(*error)};
    while (!link_.wait(deadline_, std::chrono::milliseconds(50),
                       [&] { return link_.reply_.has_value() || link_.down_.has_value(); })) {
      if (Clock::now() >= deadline_)
        throw Failure{"timeout: no answer from " + link_.peer_->full_name() + " within " +
                      std::to_string(options_.timeout_ms) + " ms"};
    }
    if (!link_.reply_) throw Failure{"the link to " + options_.node + " closed: " + *link_.down_};
    auto& result = link_.reply_->result;
    if (auto* payload = std::get_if<protocol::Payload>(&result)) return std::move(payload->value);
    throw Failure{failure_text(std::get<protocol::CallError>(result))};
  }

  /// What is left of the timeout, at least 1 ms (a service call needs a positive bound).
  std::chrono::milliseconds remaining() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    return std::max(std::chrono::milliseconds(1), left);
  }

 private:
  std::string last_warning() {
    std::string w = link_.last_warning();
    // "dialing h:p failed: Connection refused; retrying in 93 ms": the retry is not ours.
    if (auto cut = w.find("; retrying"); cut != std::string::npos) w.resize(cut);
    return w.empty() ? options_.node : w;
  }

  std::string failure_text(const protocol::CallError& e) {
    using C = protocol::CallErrorCode;
    switch (e.code) {
      case C::noproc:
        return "no control service on " + link_.peer_->full_name() + " (" + e.detail + ")";
      case C::unknown_type:
        return "unknown message type: " + e.detail;
      case C::bad_payload:
        return "bad request: " + e.detail;
      case C::shutting_down:
        return "the node is stopping: " + e.detail;
      default:
        break;
    }
    // An error the control service answered (code error): its ErrorCode says which.
    switch (e.error_code) {
      case otp::ErrorCode::noproc:
        return e.detail;  // "unknown name 'x': ..."
      case otp::ErrorCode::timeout:
        return "timeout: " + e.detail;
      case otp::ErrorCode::bad_call:
        return e.detail.find("is not registered") != std::string::npos
                   ? "unknown message type: " + e.detail
                   : "bad message: " + e.detail;
      default:
        return otp::to_string(e.error_code) + std::string(": ") + e.detail;
    }
  }

  const Options& options_;
  Clock::time_point deadline_;
  Link link_;
  std::unique_ptr<otp::cluster::Transport> transport_;
};

/// Rows of cells as left-aligned columns separated by two spaces.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string text_of(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

/// {"type","value"} from the command line's JSON; a Failure when it is not that.
json message_arg(const std::string& text) {
  json m = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (m.is_discarded()) throw Failure{"bad JSON: " + text};
  if (!m.is_object() || !m.contains("type") || !m["type"].is_string())
    throw Failure{R"(bad message: expected {"type": "<registered type>", "value": ...}, got )" +
                  text};
  if (!m.contains("value")) m["value"] = json::object();
  return m;
}

int run(const Options& o) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(o.timeout_ms);
  Session session(o, deadline);
  // The message is checked before any connection: a typo fails without touching the node.
  json message;
  if (o.command == "call" || o.command == "cast") message = message_arg(o.message);
  const protocol::NodeId peer = session.connect();
  auto emit = [&](const json& value, auto&& print_text) {
    if (o.json_output) {
      std::cout << value.dump() << "\n";
    } else {
      print_text(value);
    }
  };
  if (o.command == "ping") {
    emit(json{{"pong", peer.full_name()}},
         [&](const json&) { std::cout << "pong " << peer.full_name() << "\n"; });
  } else if (o.command == "members") {
    emit(session.request("ctl.members", json::object()), [](const json& members) {
      std::vector<std::vector<std::string>> rows{{"NAME", "ADDRESS", "STATE", "INCARNATION"}};
      for (const auto& m : members) {
        rows.push_back({text_of(m["name"]), text_of(m["address"]), text_of(m["state"]),
                        text_of(m["incarnation"])});
      }
      print_table(rows);
    });
  } else if (o.command == "nodes") {
    emit(session.request("ctl.nodes", json::object()), [](const json& nodes) {
      for (const auto& n : nodes) std::cout << text_of(n) << "\n";
    });
  } else if (o.command == "names") {
    emit(session.request("ctl.names", json::object()), [](const json& names) {
      for (const auto& n : names)
        std::cout << text_of(n["name"]) << " " << text_of(n["pid"]) << " " << text_of(n["node"])
                  << "\n";
    });
  } else if (o.command == "whereis") {
    emit(session.request("ctl.whereis", {{"name", o.name}}), [](const json& w) {
      std::cout << text_of(w["pid"]) << " " << text_of(w["node"]) << "\n";
    });
  } else if (o.command == "call") {
    // The service's own call gets what is left of the timeout minus a margin for the answer
    // to travel back, so it is the service that reports a slow server, not our deadline.
    const auto left = session.remaining().count();
    const auto inner = std::max<long>(1, left - std::min<long>(left / 5, 500));
    emit(session.request("ctl.call", {{"name", o.name},
                                      {"message", message},
                                      {"timeout_ms", static_cast<uint64_t>(inner)}}),
         [](const json& reply) { std::cout << reply["value"].dump() << "\n"; });
  } else if (o.command == "cast") {
    emit(session.request("ctl.cast", {{"name", o.name}, {"message", message}}),
         [](const json&) { std::cout << "ok\n"; });
  } else if (o.command == "info") {
    emit(session.request("ctl.info", json::object()), [](const json& info) {
      for (const auto& [key, value] : info.items()) {
        if (key == "links") {  // one line per link: its peer, bytes and queue
          for (const auto& l : value) {
            std::cout << "link " << text_of(l["peer"]) << " bytes_in=" << l["bytes_in"]
                      << " bytes_out=" << l["bytes_out"] << " queued_bytes=" << l["queued_bytes"]
                      << " queued_messages=" << l["queued_messages"]
                      << (l.value("hidden", false) ? " hidden" : "") << "\n";
          }
        } else if (value.is_array()) {
          std::string items;
          for (const auto& v : value) items += (items.empty() ? "" : " ") + text_of(v);
          std::cout << key << " " << items << "\n";
        } else {
          std::cout << key << " " << text_of(value) << "\n";
        }
      }
    });
  }
  return 0;
}

const char* kFooter =
    "The cookie: --cookie, else --cookie-file, else $OTP_COOKIE_FILE, else $OTP_COOKIE.\n"
    "--node defaults to $OTP_NODE, else 127.0.0.1:7000 (a node's --listen port).\n"
    "Exit status: 0 ok, 1 the command failed (stderr says why), 2 usage.\n";

/// Parses the command line; a usage error prints one line saying why and exits with 2.
Options parse(int argc, char** argv) {
  Options o;
  if (const char* node = std::getenv("OTP_NODE"); node && *node) o.node = node;
  CLI::App app("otp-ctl: operate an otp-cluster node.", "otp-ctl");
  app.footer(kFooter);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.get_formatter()->column_width(30);
  app.add_option("--node", o.node, "the node to talk to (its TCP data port)")
      ->type_name("HOST:PORT")
      ->default_str(o.node);
  auto* cookie = app.add_option("--cookie", o.cookie, "the cluster secret")->type_name("SECRET");
  app.add_option("--cookie-file", o.cookie_file, "a file whose first line is the cookie")
      ->type_name("FILE")
      ->excludes(cookie);
  app.add_option("--cluster", o.cluster, "the cluster's name")->default_str(o.cluster);
  app.add_option("--timeout-ms", o.timeout_ms, "bound on connect, handshake and request")
      ->type_name("MS")
      ->default_str("5000")
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", o.json_output, "print JSON (one value a line) for scripts");
  app.require_subcommand(1);
  app.fallthrough();
  auto command = [&](const char* name, const char* what) {
    auto* sub = app.add_subcommand(name, what);
    sub->fallthrough();
    sub->final_callback([&o, name] { o.command = name; });
    return sub;
  };
  command("ping", "check the node answers: pong NAME@HOST");
  command("members", "the membership: name, address, state, incarnation");
  command("nodes", "the nodes the node is linked to");
  command("names", "the global name table: NAME PID NODE lines");
  command("whereis", "where NAME runs: PID NODE")
      ->add_option("NAME", o.name, "a global name, else one registered on the node")
      ->required();
  for (const char* verb : {"call", "cast"}) {
    auto* sub = command(verb, std::string(verb) == "call"
                                  ? "call NAME with a JSON message; prints the reply as JSON"
                                  : "cast a JSON message to NAME");
    sub->add_option("NAME", o.name, "a global name, else one registered on the node")->required();
    sub->add_option("JSON", o.message, R"(the message: {"type":"<registered type>","value":...})")
        ->required();
  }
  command("info", "the node's processes, run queue, memory and links");
  cli::parse_or_exit(app, argc, argv);
  auto cookie_value = cli::resolve_cookie(o.cookie, o.cookie_file);
  if (!cookie_value) cli::usage_error(app, cookie_value.error().context());
  o.cookie = std::move(cookie_value).value();
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  try {
    return run(options);
  } catch (const Failure& f) {
    std::cerr << "otp-ctl: " << f.why << "\n";
    return 1;
  }
}
