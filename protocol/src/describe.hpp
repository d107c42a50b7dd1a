// The field lists of every wire struct, written once and used by both the tree writer and the
// tree reader (tree.hpp). Order matters: it is the MessagePack layout. ONLY APPEND fields.
// optional_field: always written; a reader that does not find it keeps the default (a field a
// newer version appended, read from an older peer's message: Hello's hidden).
#pragma once

#include <concepts>
#include <type_traits>

#include "otp/protocol/message.hpp"

namespace otp::protocol::detail {

/// S is T or const T: one describe() serves reading (T&) and writing (const T&).
template <class S, class T>
concept Is = std::same_as<std::remove_const_t<S>, T>;

template <class V, Is<NodeId> S>
void describe(V& v, S& x) {
  v.field("name", x.name);
  v.field("host", x.host);
  v.field("creation", x.creation);
}
template <class V, class S>
requires Is<S, Pid> || Is<S, Ref>
void describe(V& v, S& x) {
  v.field("node", x.node);
  v.field("id", x.id);
}
template <class V, Is<ExitReason> S>
void describe(V& v, S& x) {
  v.field("kind", x.kind);
  v.field("detail", x.detail);
}
template <class V, Is<Payload> S>
void describe(V& v, S& x) {
  v.field("type", x.type);
  v.field("value", x.value);
}
template <class V, Is<CallError> S>
void describe(V& v, S& x) {
  v.field("code", x.code);
  v.field("detail", x.detail);
  v.field("reason", x.reason);
  v.field("error_code", x.error_code);
}

// -- handshake --
template <class V, Is<Hello> S>
void describe(V& v, S& x) {
  v.field("min_version", x.min_version);
  v.field("max_version", x.max_version);
  v.field("cluster", x.cluster);
  v.field("node", x.node);
  v.field("challenge", x.challenge);
  v.optional_field("hidden", x.hidden);
}
template <class V, Is<Proof> S>
void describe(V& v, S& x) {
  v.field("mac", x.mac);
}
template <class V, Is<Reject> S>
void describe(V& v, S& x) {
  v.field("reason", x.reason);
  v.field("detail", x.detail);
}

// -- process envelopes --
template <class V, class S>
requires Is<S, Send> || Is<S, Cast>
void describe(V& v, S& x) {
  v.field("from", x.from);
  v.field("to", x.to);
  if constexpr (Is<S, Send>) {
    v.field("message", x.message);
  } else {
    v.field("request", x.request);
  }
}
template <class V, Is<Call> S>
void describe(V& v, S& x) {
  v.field("from", x.from);
  v.field("to", x.to);
  v.field("ref", x.ref);
  v.field("request", x.request);
}
template <class V, Is<Reply> S>
void describe(V& v, S& x) {
  v.field("to", x.to);
  v.field("ref", x.ref);
  v.field("result", x.result);
}
template <class V, class S>
requires Is<S, Monitor> || Is<S, Demonitor>
void describe(V& v, S& x) {
  v.field("watcher", x.watcher);
  v.field("target", x.target);
  v.field("ref", x.ref);
}
template <class V, Is<Down> S>
void describe(V& v, S& x) {
  v.field("watcher", x.watcher);
  v.field("ref", x.ref);
  v.field("process", x.process);
  v.field("reason", x.reason);
}
template <class V, class S>
requires Is<S, Link> || Is<S, Unlink>
void describe(V& v, S& x) {
  v.field("from", x.from);
  v.field("to", x.to);
}
template <class V, Is<Exit> S>
void describe(V& v, S& x) {
  v.field("from", x.from);
  v.field("to", x.to);
  v.field("reason", x.reason);
  v.field("link", x.link);
}
template <class V, class S>
requires Is<S, Ping> || Is<S, Pong>
void describe(V& v, S& x) {
  v.field("seq", x.seq);
}

// -- global names --
template <class V, Is<NameClaim> S>
void describe(V& v, S& x) {
  v.field("name", x.name);
  v.field("pid", x.pid);
  v.field("stamp_ms", x.stamp_ms);
  v.field("stamp_logical", x.stamp_logical);
  v.field("metadata", x.metadata);
}
template <class V, Is<NameUpdate> S>
void describe(V& v, S& x) {
  v.field("kind", x.kind);
  v.field("claim", x.claim);
}
template <class V, Is<NameSync> S>
void describe(V& v, S& x) {
  v.field("claims", x.claims);
  v.field("last", x.last);
}

/// A visitor that does nothing: used to detect which types have a describe().
struct DescribeProbe {
  template <class F>
  void field(const char*, F&) {}
  template <class F>
  void optional_field(const char*, F&) {}
};

template <class T>
concept Described = requires(DescribeProbe& p, T& x) {
  describe(p, x);
};

}  // namespace otp::protocol::detail
