// render_metrics: the Prometheus text format, one family at a time (HELP, TYPE, samples).
#include "otp/cluster/metrics.hpp"

#include <cstdint>
#include <initializer_list>
#include <utility>

#include "otp/protocol/handshake_messages.hpp"

namespace otp::cluster {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

/// Writes families: family() starts one (HELP and TYPE), sample() adds its values.
class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  /// A sample of the current family, with one label or none (empty label name).
  void sample(uint64_t value, std::string_view label = {}, std::string_view label_value = {}) {
    out_ += name_;
    if (!label.empty()) {
      out_ += '{';
      out_ += label;
      out_ += "=\"";
      out_ += escape_label_value(label_value);
      out_ += "\"}";
    }
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
  }
  /// A family of one unlabelled sample.
  void single(std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    family(name, type, help);
    sample(value);
  }
  /// A family with one sample per (label value, value).
  void by(std::string_view name, std::string_view type, std::string_view help,
          std::string_view label,
          std::initializer_list<std::pair<std::string_view, uint64_t>> values) {
    family(name, type, help);
    for (const auto& [label_value, value] : values) sample(value, label, label_value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::string_view name_;
};

void runtime(Writer& w, const StatsSnapshot& s) {
  w.family("otp_node_info", "gauge", "This node run (name@host); always 1.");
  w.sample(1, "node", s.node);
  w.single("otp_leaving", "gauge", "1 while the node leaves the cluster (stopping), else 0.",
           s.leaving ? 1 : 0);
  w.single("otp_processes", "gauge", "Live processes on this node.", s.runtime.processes);
  w.single("otp_run_queue", "gauge",
           "Processes ready to run and waiting for a scheduler thread (the run queue).",
           s.runtime.run_queue);
  w.single("otp_messages_handled_total", "counter",
           "Envelopes processes took from their mailboxes (messages, calls, replies, signals).",
           s.runtime.messages_handled);
  w.single("otp_calls_handled_total", "counter", "gen_server calls handled (handle_call runs).",
           s.runtime.calls_handled);
  w.single("otp_resident_memory_bytes", "gauge", "Resident memory of the OS process.",
           s.resident_bytes);
}

void transport(Writer& w, const TransportStats& t) {
  w.single("otp_links_up", "gauge", "Links to other nodes that are up.", t.links_up);
  w.single("otp_connections", "gauge", "Open TCP connections: handshaking, up or closing.",
           t.connections);
  w.single("otp_connections_accepted_total", "counter", "Incoming TCP connections accepted.",
           t.accepted);
  w.single("otp_connections_dialed_total", "counter", "Outgoing TCP connections established.",
           t.dialed);
  w.single("otp_dial_failures_total", "counter", "Outgoing connection attempts that failed.",
           t.dial_failures);
  w.single("otp_dialers", "gauge", "Addresses this node keeps dialing (linked or not).", t.dialers);

  w.family("otp_link_bytes_received_total", "counter",
           "Bytes read from the link to a peer since it opened, frame headers included.");
  for (const LinkStats& l : t.links) w.sample(l.bytes_in, "peer", l.peer.full_name());
  w.family("otp_link_bytes_sent_total", "counter",
           "Bytes written to the link to a peer since it opened, frame headers included.");
  for (const LinkStats& l : t.links) w.sample(l.bytes_out, "peer", l.peer.full_name());
  w.family("otp_link_queued_bytes", "gauge",
           "Memory held by messages queued for a peer and not yet written.");
  for (const LinkStats& l : t.links) w.sample(l.queued_bytes, "peer", l.peer.full_name());
  w.family("otp_link_queued_messages", "gauge", "Messages waiting for the link to a peer.");
  for (const LinkStats& l : t.links) w.sample(l.queued_messages, "peer", l.peer.full_name());

  w.family("otp_handshakes_rejected_total", "counter",
           "Link handshakes refused (by either side) or timed out, by reason.");
  for (uint8_t r = 0; r <= static_cast<uint8_t>(protocol::RejectReason::internal_error); ++r) {
    w.sample(t.rejected[r], "reason", protocol::to_string(static_cast<protocol::RejectReason>(r)));
  }
  w.sample(t.handshake_timeouts, "reason", "timeout");
  w.by("otp_frames_rejected_total", "counter",
       "Frames refused on established links, by reason (too_large closes the link).", "reason",
       {{"too_large", t.frames_too_large}, {"undecodable", t.frames_dropped}});
  w.by("otp_links_closed_total", "counter",
       "Links closed by this node for a reason other than a peer's own close.", "reason",
       {{"heartbeat_timeout", t.heartbeat_timeouts}, {"duplicate", t.duplicate_links}});
  w.single("otp_send_overloads_total", "counter",
           "Sends refused because the peer's queue was full (overload).", t.overloads);
  w.single("otp_transport_messages_sent_total", "counter", "Messages queued to other nodes.",
           t.messages_sent);
  w.single("otp_transport_messages_received_total", "counter",
           "Messages received from other nodes.", t.messages_received);
}

void membership_metrics(Writer& w, const StatsSnapshot& s) {
  using membership::MemberState;
  const auto& m = s.membership;
  w.by("otp_members", "gauge", "Members known to gossip membership, self included, by state.",
       "state",
       {{"alive", s.members(MemberState::alive)},
        {"suspect", s.members(MemberState::suspect)},
        {"failed", s.members(MemberState::failed)},
        {"left", s.members(MemberState::left)}});
  w.single("otp_suspicions_total", "counter",
           "Suspicions started here (this node's failed probes and gossiped ones).",
           m.suspicions_started);
  w.single("otp_suspicions_raised_total", "counter",
           "Suspicions this node's own failed probes raised.", m.suspicions_raised);
  w.single("otp_members_declared_failed_total", "counter",
           "Suspicion timeouts that expired here (members declared failed).", m.declared_failed);
  w.single("otp_refutations_total", "counter", "Times this node refuted a suspicion of itself.",
           m.refutations);
  w.single("otp_probes_total", "counter", "Direct probes started.", m.probes);
  w.single("otp_probes_failed_total", "counter", "Probes that got no ack at all.", m.probes_failed);
  w.single("otp_awareness", "gauge", "Local health (Lifeguard): 0 is healthy.", m.awareness);
  w.single("otp_gossip_packets_received_total", "counter",
           "Gossip packets received (UDP and push-pull), dropped ones included.",
           m.packets_received);
  w.single("otp_gossip_packets_sent_total", "counter", "Gossip packets sent (UDP and push-pull).",
           m.packets_sent);
  w.by("otp_gossip_packets_dropped_total", "counter", "Gossip packets dropped, by reason.",
       "reason",
       {{"oversized", m.dropped_oversized},
        {"malformed", m.dropped_malformed},
        {"unsupported_version", m.dropped_unsupported_version},
        {"other_cluster", m.dropped_other_cluster},
        {"bad_mac", m.dropped_bad_mac},
        {"wrong_channel", m.dropped_wrong_channel},
        {"wrong_target", m.dropped_wrong_target}});
  const DriverStats& d = s.membership_driver;
  w.by("otp_gossip_errors_total", "counter",
       "Gossip socket and push-pull failures, by kind (each is logged, throttled).", "kind",
       {{"send", d.send_errors},
        {"receive", d.receive_errors},
        {"unresolved", d.unresolved_drops},
        {"stream", d.stream_failures},
        {"stream_refused", d.streams_refused},
        {"seed_resolve", d.seed_resolve_failures}});
}

void global_names(Writer& w, const global::RegistryStats& g) {
  w.single("otp_global_names", "gauge", "Global names with an owner, as this node's replica knows.",
           g.names);
  w.single("otp_global_local_names", "gauge", "Global names held by this node's processes.",
           g.local_names);
  w.single("otp_global_conflicts_total", "counter",
           "Global name conflicts resolved (reported) here.", g.counters.conflicts);
  w.single("otp_global_conflicts_lost_total", "counter",
           "Conflicts a process of this node lost (it was exited).", g.counters.local_losses);
  w.by("otp_global_updates_total", "counter", "Global name table updates, by direction.",
       "direction", {{"sent", g.counters.updates_sent}, {"received", g.counters.updates_received}});
  w.by("otp_global_dropped_total", "counter", "Global name messages dropped, by reason.", "reason",
       {{"unlinked", g.counters.dropped_unlinked}, {"foreign", g.counters.dropped_foreign}});
}

}  // namespace

std::string render_metrics(const StatsSnapshot& snapshot) {
  Writer w;
  runtime(w, snapshot);
  transport(w, snapshot.transport);
  membership_metrics(w, snapshot);
  global_names(w, snapshot.global_names);
  return w.take();
}

}  // namespace otp::cluster
