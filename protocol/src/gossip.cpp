// The gossip packet layout (see gossip.hpp): a varint writer and a bounds-checked reader, one
// function pair per struct, and the envelope (magic, version, cluster, HMAC).
#include "otp/protocol/gossip.hpp"

#include <algorithm>
#include <exception>
#include <limits>
#include <optional>
#include <string_view>

#include "crypto.hpp"

namespace otp::protocol::gossip {
namespace {

constexpr uint8_t kMagic0 = 'O';
constexpr uint8_t kMagic1 = 'G';
// Longest string accepted anywhere in a packet: far above names, hosts and tags in practice,
// small enough that a hostile length can not make the decoder allocate much.
constexpr uint64_t kMaxString = 64 * 1024;

// -- writing -----------------------------------------------------------------------------------

size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

size_t string_size(const std::string& s) {
  return varint_size(s.size()) + s.size();
}

class Writer {
 public:
  explicit Writer(Bytes& out) : out_(out) {}

  void u8(uint8_t v) { out_.push_back(v); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<uint8_t>(v));
  }
  void string(std::string_view s) {
    varint(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }

 private:
  Bytes& out_;
};

void write(Writer& w, const NodeId& n) {
  w.string(n.name);
  w.string(n.host);
  w.varint(n.creation);
}
size_t size_of(const NodeId& n) {
  return string_size(n.name) + string_size(n.host) + varint_size(n.creation);
}

void write(Writer& w, const Address& a) {
  w.string(a.host);
  w.varint(a.port);
}
size_t size_of(const Address& a) {
  return string_size(a.host) + varint_size(a.port);
}

void write(Writer& w, const MemberMeta& m) {
  write(w, m.data);
  w.string(m.version);
  w.varint(m.tags.size());
  for (const auto& [k, v] : m.tags) {
    w.string(k);
    w.string(v);
  }
}
size_t size_of(const MemberMeta& m) {
  size_t n = size_of(m.data) + string_size(m.version) + varint_size(m.tags.size());
  for (const auto& [k, v] : m.tags) n += string_size(k) + string_size(v);
  return n;
}

// flags byte of an update
constexpr uint8_t kHasInfo = 1;
constexpr uint8_t kHasAccuser = 2;

void write(Writer& w, const Update& u) {
  w.u8(static_cast<uint8_t>(u.kind));
  w.u8(static_cast<uint8_t>((u.has_info ? kHasInfo : 0) | (u.accuser.empty() ? 0 : kHasAccuser)));
  write(w, u.node);
  w.varint(u.incarnation);
  if (u.has_info) {
    write(w, u.gossip);
    write(w, u.meta);
  }
  if (!u.accuser.empty()) w.string(u.accuser);
}

void write_body(Writer& w, const Body& body) {
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, Ping>) {
          w.varint(b.seq);
          write(w, b.target);
          write(w, b.source);
        } else if constexpr (std::is_same_v<T, PingReq>) {
          w.varint(b.seq);
          write(w, b.target);
          write(w, b.target_address);
          w.u8(b.want_nack ? 1 : 0);
        } else if constexpr (std::is_same_v<T, Ack> || std::is_same_v<T, Nack>) {
          w.varint(b.seq);
        } else if constexpr (std::is_same_v<T, PushPull>) {
          w.u8(static_cast<uint8_t>((b.reply ? 1 : 0) | (b.join ? 2 : 0)));
          write(w, b.source);
          w.varint(b.members.size());
          for (const auto& m : b.members) write(w, m);
        }
      },
      body);
}

size_t body_size(const Body& body) {
  return std::visit(
      [](const auto& b) -> size_t {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, Ping>) {
          return varint_size(b.seq) + size_of(b.target) + size_of(b.source);
        } else if constexpr (std::is_same_v<T, PingReq>) {
          return varint_size(b.seq) + size_of(b.target) + size_of(b.target_address) + 1;
        } else if constexpr (std::is_same_v<T, Ack> || std::is_same_v<T, Nack>) {
          return varint_size(b.seq);
        } else if constexpr (std::is_same_v<T, PushPull>) {
          size_t n = 1 + size_of(b.source) + varint_size(b.members.size());
          for (const auto& m : b.members) n += encoded_size(m);
          return n;
        } else {
          return 0;
        }
      },
      body);
}

size_t header_size(const Key& key) {
  return 2 + 1 + string_size(key.cluster) + 1;
}

// -- reading -----------------------------------------------------------------------------------

/// Reads from a span; the first failure sticks and every later read returns a default.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}

  bool failed() const { return error_.has_value(); }
  bool at_end() const { return pos_ == in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }
  Error take_error() { return std::move(*error_); }

  void fail(ErrorCode code, std::string what) {
    if (!error_) error_ = Error{code, std::move(what) + " at byte " + std::to_string(pos_)};
  }

  uint8_t u8() {
    if (failed()) return 0;
    if (pos_ >= in_.size()) {
      fail(ErrorCode::malformed, "truncated");
      return 0;
    }
    return in_[pos_++];
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const uint8_t b = u8();
      if (failed()) return 0;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    fail(ErrorCode::malformed, "varint longer than 64 bits");
    return 0;
  }
  template <class T>
  T bounded(const char* what) {
    const uint64_t v = varint();
    if (v > std::numeric_limits<T>::max()) {
      fail(ErrorCode::bad_field, std::string(what) + " out of range");
      return 0;
    }
    return static_cast<T>(v);
  }
  std::string string() {
    const uint64_t len = varint();
    if (failed()) return {};
    if (len > kMaxString || len > remaining()) {
      fail(ErrorCode::malformed, "string length beyond the input");
      return {};
    }
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), len);
    pos_ += len;
    return s;
  }
  /// A count of elements that each take at least one byte: never more than the bytes left.
  size_t count() {
    const uint64_t n = varint();
    if (n > remaining()) {
      fail(ErrorCode::malformed, "count beyond the input");
      return 0;
    }
    return static_cast<size_t>(n);
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  std::optional<Error> error_;
};

void read(Reader& r, NodeId& n) {
  n.name = r.string();
  n.host = r.string();
  n.creation = r.bounded<uint64_t>("creation");
}

void read(Reader& r, Address& a) {
  a.host = r.string();
  a.port = r.bounded<uint16_t>("port");
}

void read(Reader& r, MemberMeta& m) {
  read(r, m.data);
  m.version = r.string();
  const size_t n = r.count();
  for (size_t i = 0; i < n && !r.failed(); ++i) {
    std::string k = r.string();
    std::string v = r.string();
    m.tags.insert_or_assign(std::move(k), std::move(v));
  }
}

void read(Reader& r, Update& u) {
  const uint8_t kind = r.u8();
  if (kind > static_cast<uint8_t>(UpdateKind::left)) {
    r.fail(ErrorCode::bad_field, "unknown update kind " + std::to_string(kind));
    return;
  }
  u.kind = static_cast<UpdateKind>(kind);
  const uint8_t flags = r.u8();
  if ((flags & ~(kHasInfo | kHasAccuser)) != 0) {
    r.fail(ErrorCode::bad_field, "unknown update flags");
    return;
  }
  read(r, u.node);
  u.incarnation = r.bounded<uint32_t>("incarnation");
  u.has_info = (flags & kHasInfo) != 0;
  if (u.has_info) {
    read(r, u.gossip);
    read(r, u.meta);
  }
  if ((flags & kHasAccuser) != 0) {
    u.accuser = r.string();
    if (u.accuser.empty()) r.fail(ErrorCode::bad_field, "empty accuser");
  }
}

Body read_body(Reader& r, uint8_t type) {
  switch (static_cast<PacketType>(type)) {
    case PacketType::ping: {
      Ping p;
      p.seq = r.bounded<uint32_t>("seq");
      read(r, p.target);
      read(r, p.source);
      return p;
    }
    case PacketType::ping_req: {
      PingReq p;
      p.seq = r.bounded<uint32_t>("seq");
      read(r, p.target);
      read(r, p.target_address);
      const uint8_t nack = r.u8();
      if (nack > 1) r.fail(ErrorCode::bad_field, "want_nack is not a bool");
      p.want_nack = nack == 1;
      return p;
    }
    case PacketType::ack:
      return Ack{r.bounded<uint32_t>("seq")};
    case PacketType::nack:
      return Nack{r.bounded<uint32_t>("seq")};
    case PacketType::gossip:
      return Gossip{};
    case PacketType::push_pull: {
      PushPull p;
      const uint8_t flags = r.u8();
      if (flags > 3) r.fail(ErrorCode::bad_field, "unknown push_pull flags");
      p.reply = (flags & 1) != 0;
      p.join = (flags & 2) != 0;
      read(r, p.source);
      const size_t n = r.count();
      p.members.reserve(std::min<size_t>(n, 4096));
      for (size_t i = 0; i < n && !r.failed(); ++i) read(r, p.members.emplace_back());
      return p;
    }
  }
  r.fail(ErrorCode::bad_field, "unknown packet type " + std::to_string(type));
  return Gossip{};
}

}  // namespace

std::string Address::to_string() const {
  const std::string p = std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + p;
  return host + ":" + p;
}

const char* to_string(UpdateKind kind) {
  switch (kind) {
    case UpdateKind::alive:
      return "alive";
    case UpdateKind::suspect:
      return "suspect";
    case UpdateKind::dead:
      return "dead";
    case UpdateKind::left:
      return "left";
  }
  return "unknown";
}

PacketType type_of(const Body& body) {
  return static_cast<PacketType>(body.index());
}

const char* to_string(PacketType type) {
  switch (type) {
    case PacketType::ping:
      return "ping";
    case PacketType::ping_req:
      return "ping_req";
    case PacketType::ack:
      return "ack";
    case PacketType::nack:
      return "nack";
    case PacketType::gossip:
      return "gossip";
    case PacketType::push_pull:
      return "push_pull";
  }
  return "unknown";
}

const char* to_string(Rejection r) {
  switch (r) {
    case Rejection::none:
      return "none";
    case Rejection::oversized:
      return "oversized";
    case Rejection::malformed:
      return "malformed";
    case Rejection::unsupported_version:
      return "unsupported_version";
    case Rejection::other_cluster:
      return "other_cluster";
    case Rejection::bad_mac:
      return "bad_mac";
  }
  return "unknown";
}

size_t encoded_size(const Update& u) {
  size_t n = 2 + size_of(u.node) + varint_size(u.incarnation);
  if (u.has_info) n += size_of(u.gossip) + size_of(u.meta);
  if (!u.accuser.empty()) n += string_size(u.accuser);
  return n;
}

size_t encoded_size_without_updates(const Body& body, const Key& key) {
  return header_size(key) + body_size(body) + 1 + kMacSize;
}

Bytes encode(const Packet& packet, const Key& key) {
  Bytes out;
  size_t updates = varint_size(packet.updates.size());
  for (const auto& u : packet.updates) updates += encoded_size(u);
  out.reserve(header_size(key) + body_size(packet.body) + updates + kMacSize);
  Writer w(out);
  w.u8(kMagic0);
  w.u8(kMagic1);
  w.u8(kVersion);
  w.string(key.cluster);
  w.u8(static_cast<uint8_t>(type_of(packet.body)));
  write_body(w, packet.body);
  w.varint(packet.updates.size());
  for (const auto& u : packet.updates) write(w, u);
  // An HMAC failure is OpenSSL being broken; the zero MAC then makes every receiver drop it.
  const auto mac = detail::hmac_sha256(key.cookie, out).value_or(Mac{});
  out.insert(out.end(), mac.begin(), mac.end());
  return out;
}

Rejection authenticate(std::span<const uint8_t> bytes, const Key& key, size_t max_size) {
  if (bytes.size() > max_size) return Rejection::oversized;
  if (bytes.size() < 3 + kMacSize || bytes[0] != kMagic0 || bytes[1] != kMagic1) {
    return Rejection::malformed;
  }
  if (bytes[2] != kVersion) return Rejection::unsupported_version;
  Reader r(bytes.subspan(3, bytes.size() - 3 - kMacSize));
  const std::string cluster = r.string();
  if (r.failed()) return Rejection::malformed;
  if (cluster != key.cluster) return Rejection::other_cluster;
  const auto signed_part = bytes.first(bytes.size() - kMacSize);
  const auto expected = detail::hmac_sha256(key.cookie, signed_part);
  if (!expected) return Rejection::bad_mac;
  Mac got{};
  std::copy(bytes.end() - kMacSize, bytes.end(), got.begin());
  return detail::macs_equal(*expected, got) ? Rejection::none : Rejection::bad_mac;
}

Result<Packet> decode(std::span<const uint8_t> bytes) {
  try {
    if (bytes.size() < 3 + kMacSize || bytes[0] != kMagic0 || bytes[1] != kMagic1) {
      return Error{ErrorCode::malformed, "not a gossip packet"};
    }
    if (bytes[2] != kVersion) {
      return Error{ErrorCode::bad_field, "gossip version " + std::to_string(bytes[2])};
    }
    Reader r(bytes.subspan(3, bytes.size() - 3 - kMacSize));
    r.string();  // cluster: authenticate checked it
    const uint8_t type = r.u8();
    Packet p;
    p.body = read_body(r, type);
    const size_t n = r.count();
    p.updates.reserve(std::min<size_t>(n, 256));
    for (size_t i = 0; i < n && !r.failed(); ++i) read(r, p.updates.emplace_back());
    if (!r.failed() && !r.at_end()) r.fail(ErrorCode::malformed, "trailing bytes");
    if (r.failed()) return r.take_error();
    return p;
  } catch (const std::exception& e) {
    return Error{ErrorCode::internal, std::string("gossip decode: ") + e.what()};
  }
}

}  // namespace otp::protocol::gossip
