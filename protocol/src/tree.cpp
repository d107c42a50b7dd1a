// Wire structs <-> json trees, driven by the field lists in describe.hpp.
#include "tree.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "describe.hpp"
#include "enum_names.hpp"

namespace otp::protocol::detail {
namespace {

using nlohmann::json;
using Bytes32 = std::array<uint8_t, 32>;
using ReplyResult = std::variant<Payload, CallError>;

template <class T>
inline constexpr bool kIsEnum = std::is_enum_v<T>;

/// A list field (NameSync's claims): an array in both layouts.
template <class T>
inline constexpr bool kIsVector = false;
template <class T>
inline constexpr bool kIsVector<std::vector<T>> = true;

/// otp::ErrorCode is its numeric wire id in both codecs: its names are for people, and a renamed
/// code must not break a remote error. The protocol's own enums are names in JSON.
template <class T>
inline constexpr bool kIdInBothLayouts = std::is_same_v<T, ErrorCode>;

template <class T>
std::optional<T> enum_from_id(uint64_t id) {
  if constexpr (std::is_same_v<T, ErrorCode>) {
    // A code appended after this build is still an error for the caller, not a dropped reply
    // (which would leave the caller to time out): it reads as unknown_error.
    if (id > std::numeric_limits<std::underlying_type_t<ErrorCode>>::max()) return std::nullopt;
    return error_code_from_id(id).value_or(ErrorCode::unknown_error);
  } else {
    return from_id<T>(id);
  }
}

// -- writing --------------------------------------------------------------------------------

std::string to_hex(const Bytes32& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    s[2 * i] = kDigits[bytes[i] >> 4];
    s[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return s;
}

template <class T>
json to_tree(const T& x, Layout layout);

struct FieldWriter {
  json& out;
  Layout layout;

  template <class F>
  void field(const char* name, const F& value) {
    if (layout == Layout::positional) {
      out.push_back(to_tree(value, layout));
    } else {
      out[name] = to_tree(value, layout);
    }
  }
  template <class F>
  void optional_field(const char* name, const F& value) {
    field(name, value);
  }
};

template <class T>
json to_tree(const T& x, Layout layout) {
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string> ||
                std::is_same_v<T, json>) {
    return json(x);
  } else if constexpr (std::is_same_v<T, uint32_t> || std::is_same_v<T, uint64_t>) {
    return json(static_cast<uint64_t>(x));
  } else if constexpr (std::is_same_v<T, Bytes32>) {
    return json(to_hex(x));
  } else if constexpr (kIsEnum<T>) {
    if constexpr (kIdInBothLayouts<T>) {
      return json(static_cast<uint64_t>(x));
    } else {
      if (layout == Layout::positional) return json(static_cast<uint64_t>(x));
      return json(name_of(x));
    }
  } else if constexpr (kIsVector<T>) {
    json out = json::array();
    for (const auto& e : x) out.push_back(to_tree(e, layout));
    return out;
  } else if constexpr (std::is_same_v<T, Target>) {
    if (const auto* name = std::get_if<std::string>(&x)) return json(*name);
    return to_tree(std::get<Pid>(x), layout);
  } else if constexpr (std::is_same_v<T, ReplyResult>) {
    const bool ok = x.index() == 0;
    json inner =
        ok ? to_tree(std::get<Payload>(x), layout) : to_tree(std::get<CallError>(x), layout);
    if (layout == Layout::positional) return json::array({ok ? 0 : 1, std::move(inner)});
    return json::object({{ok ? "ok" : "error", std::move(inner)}});
  } else {
    static_assert(Described<T>, "no wire form for this type");
    json out = layout == Layout::positional ? json::array() : json::object();
    FieldWriter w{out, layout};
    describe(w, x);
    return out;
  }
}

// -- writing MessagePack directly ---------------------------------------------------------
// Mirrors to_tree(x, Layout::positional) followed by nlohmann's MessagePack writer, byte for
// byte (the encodings nlohmann picks: the smallest integer, fixstr/str8/16/32, fixarray/16/32).

struct FieldCounter {
  size_t n = 0;
  template <class F>
  void field(const char*, const F&) {
    ++n;
  }
  template <class F>
  void optional_field(const char*, const F&) {
    ++n;
  }
};

class MsgpackWriter {
 public:
  explicit MsgpackWriter(std::vector<uint8_t>& out) : out_(out) {}

  template <class T>
  void write(const T& x);

  template <class F>
  void field(const char*, const F& value) {
    write(value);
  }
  template <class F>
  void optional_field(const char*, const F& value) {
    write(value);
  }

  void array_header(size_t n) {
    if (n <= 15) {
      out_.push_back(static_cast<uint8_t>(0x90 | n));
    } else if (n <= 0xffff) {
      out_.push_back(0xdc);
      big_endian(static_cast<uint16_t>(n));
    } else {
      out_.push_back(0xdd);
      big_endian(static_cast<uint32_t>(n));
    }
  }
  void unsigned_int(uint64_t v) {
    if (v < 128) {
      out_.push_back(static_cast<uint8_t>(v));
    } else if (v <= 0xff) {
      out_.push_back(0xcc);
      out_.push_back(static_cast<uint8_t>(v));
    } else if (v <= 0xffff) {
      out_.push_back(0xcd);
      big_endian(static_cast<uint16_t>(v));
    } else if (v <= 0xffffffffu) {
      out_.push_back(0xce);
      big_endian(static_cast<uint32_t>(v));
    } else {
      out_.push_back(0xcf);
      big_endian(v);
    }
  }
  void string(std::string_view s) {
    const size_t n = s.size();
    if (n <= 31) {
      out_.push_back(static_cast<uint8_t>(0xa0 | n));
    } else if (n <= 0xff) {
      out_.push_back(0xd9);
      out_.push_back(static_cast<uint8_t>(n));
    } else if (n <= 0xffff) {
      out_.push_back(0xda);
      big_endian(static_cast<uint16_t>(n));
    } else {
      out_.push_back(0xdb);
      big_endian(static_cast<uint32_t>(n));
    }
    out_.insert(out_.end(), s.begin(), s.end());
  }

 private:
  template <class U>
  void big_endian(U v) {
    for (int shift = static_cast<int>(sizeof(U) * 8) - 8; shift >= 0; shift -= 8) {
      out_.push_back(static_cast<uint8_t>(v >> shift));
    }
  }

  std::vector<uint8_t>& out_;
};

template <class T>
void MsgpackWriter::write(const T& x) {
  if constexpr (std::is_same_v<T, bool>) {
    out_.push_back(x ? 0xc3 : 0xc2);
  } else if constexpr (std::is_same_v<T, std::string>) {
    string(x);
  } else if constexpr (std::is_same_v<T, json>) {
    json::to_msgpack(x, nlohmann::detail::output_adapter<uint8_t>(out_));
  } else if constexpr (std::is_same_v<T, uint32_t> || std::is_same_v<T, uint64_t>) {
    unsigned_int(x);
  } else if constexpr (std::is_same_v<T, Bytes32>) {
    string(to_hex(x));
  } else if constexpr (kIsEnum<T>) {
    unsigned_int(static_cast<uint64_t>(x));
  } else if constexpr (kIsVector<T>) {
    array_header(x.size());
    for (const auto& e : x) write(e);
  } else if constexpr (std::is_same_v<T, Target>) {
    if (const auto* name = std::get_if<std::string>(&x)) return string(*name);
    write(std::get<Pid>(x));
  } else if constexpr (std::is_same_v<T, ReplyResult>) {
    array_header(2);
    unsigned_int(x.index() == 0 ? 0 : 1);
    if (x.index() == 0) {
      write(std::get<Payload>(x));
    } else {
      write(std::get<CallError>(x));
    }
  } else {
    static_assert(Described<T>, "no wire form for this type");
    FieldCounter c;
    describe(c, x);
    array_header(c.n);
    describe(*this, x);
  }
}

// -- reading --------------------------------------------------------------------------------

/// Reads a tree into a struct; remembers the first error with the path of the field. The tree
/// is the caller's to give away (message_from_tree takes it by rvalue): strings and payload
/// values are moved out of it.
class Reader {
 public:
  explicit Reader(Layout layout) : layout_(layout) {}

  Layout layout() const noexcept { return layout_; }
  bool failed() const noexcept { return error_.has_value(); }
  Error take_error() { return std::move(*error_); }

  void fail(const std::string& what) {
    if (error_) return;
    std::string path;
    for (const auto& p : path_) {
      if (!path.empty()) path += '.';
      path += p;
    }
    error_ = Error{ErrorCode::bad_field, (path.empty() ? "message" : path) + ": " + what};
  }
  void push(std::string name) { path_.push_back(std::move(name)); }
  void pop() { path_.pop_back(); }

  template <class T>
  void read(const json& j, T& out);

 private:
  Layout layout_;
  std::vector<std::string> path_;
  std::optional<Error> error_;
};

struct FieldReader {
  const json& in;
  Reader& r;
  size_t index = 0;  // next array element (positional)

  template <class F>
  void field(const char* name, F& value) {
    if (r.failed()) return;
    r.push(name);
    if (r.layout() == Layout::positional) {
      if (index < in.size()) {
        r.read(in[index], value);
      } else {
        r.fail("missing (array has " + std::to_string(in.size()) + " elements)");
      }
      ++index;
    } else if (auto it = in.find(name); it != in.end()) {
      r.read(*it, value);
    } else {
      r.fail("missing");
    }
    r.pop();
  }
  /// A field an older version did not send: absent, value keeps its default.
  template <class F>
  void optional_field(const char* name, F& value) {
    const bool present = r.layout() == Layout::positional ? index < in.size() : in.contains(name);
    if (present) {
      field(name, value);
    } else {
      ++index;
    }
  }
};

std::optional<Bytes32> from_hex(const std::string& s) {
  if (s.size() != 64) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  Bytes32 out{};
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = digit(s[2 * i]);
    const int lo = digit(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

template <class T>
void Reader::read(const json& j, T& out) {
  if (failed()) return;
  if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) return fail("expected a boolean");
    out = j.get<bool>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string()) return fail("expected a string");
    out = std::move(const_cast<json&>(j).get_ref<std::string&>());
  } else if constexpr (std::is_same_v<T, json>) {
    out = std::move(const_cast<json&>(j));
  } else if constexpr (std::is_same_v<T, uint32_t> || std::is_same_v<T, uint64_t>) {
    if (!j.is_number_unsigned()) return fail("expected an unsigned integer");
    const auto v = j.get<uint64_t>();
    if (v > std::numeric_limits<T>::max()) return fail("out of range: " + std::to_string(v));
    out = static_cast<T>(v);
  } else if constexpr (std::is_same_v<T, Bytes32>) {
    if (!j.is_string()) return fail("expected 64 hex digits");
    auto bytes = from_hex(j.get_ref<const std::string&>());
    if (!bytes) return fail("expected 64 lowercase hex digits");
    out = *bytes;
  } else if constexpr (kIsEnum<T>) {
    std::optional<T> v;
    if (layout_ == Layout::positional || kIdInBothLayouts<T>) {
      if (!j.is_number_unsigned()) return fail("expected an enum id");
      v = enum_from_id<T>(j.get<uint64_t>());
    } else if constexpr (!kIdInBothLayouts<T>) {
      if (!j.is_string()) return fail("expected an enum name");
      v = from_name<T>(j.get_ref<const std::string&>());
    }
    if (!v) return fail("unknown value " + j.dump(-1, ' ', false, json::error_handler_t::replace));
    out = *v;
  } else if constexpr (kIsVector<T>) {
    if (!j.is_array()) return fail("expected an array");
    out.clear();
    // Bounded: a frame of a million tiny elements must not reserve room for a million claims.
    out.reserve(std::min<size_t>(j.size(), 1024));
    for (size_t i = 0; i < j.size() && !failed(); ++i) {
      push(std::to_string(i));
      read(j[i], out.emplace_back());
      pop();
    }
  } else if constexpr (std::is_same_v<T, Target>) {
    if (j.is_string()) {
      out = std::move(const_cast<json&>(j).get_ref<std::string&>());
    } else {
      Pid pid;
      read(j, pid);
      out = std::move(pid);
    }
  } else if constexpr (std::is_same_v<T, ReplyResult>) {
    bool ok = false;
    const json* inner = nullptr;
    if (layout_ == Layout::positional) {
      if (!j.is_array() || j.size() < 2 || !j[0].is_number_unsigned() || j[0].get<uint64_t>() > 1) {
        return fail("expected [0, value] or [1, error]");
      }
      ok = j[0].get<uint64_t>() == 0;
      inner = &j[1];
    } else {
      if (!j.is_object() || j.size() != 1 || (!j.contains("ok") && !j.contains("error"))) {
        return fail(R"(expected {"ok": value} or {"error": error})");
      }
      ok = j.contains("ok");
      inner = &j.begin().value();
    }
    if (ok) {
      Payload p;
      read(*inner, p);
      out = std::move(p);
    } else {
      CallError e;
      read(*inner, e);
      out = std::move(e);
    }
  } else {
    static_assert(Described<T>, "no wire form for this type");
    if (layout_ == Layout::positional && !j.is_array()) return fail("expected an array");
    if (layout_ == Layout::named && !j.is_object()) return fail("expected an object");
    FieldReader fr{j, *this};
    describe(fr, out);
  }
}

/// Decodes the fields of alternative I of Message when its kType matches `type`.
template <size_t I = 0>
std::optional<Message> read_alternative(MessageType type, const json& tree, Reader& r,
                                        size_t first_field) {
  if constexpr (I == std::variant_size_v<Message>) {
    return std::nullopt;
  } else {
    using M = std::variant_alternative_t<I, Message>;
    if (M::kType != type) return read_alternative<I + 1>(type, tree, r, first_field);
    M m;
    r.push(to_string(type));
    FieldReader fr{tree, r, first_field};
    describe(fr, m);
    r.pop();
    return Message{std::move(m)};
  }
}

}  // namespace

json message_to_tree(const Message& message, Layout layout) {
  return std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        json out;
        if (layout == Layout::positional) {
          out = json::array({static_cast<uint64_t>(M::kType)});
        } else {
          out = json::object({{"type", to_string(M::kType)}});
        }
        FieldWriter w{out, layout};
        describe(w, m);
        return out;
      },
      message);
}

void message_to_msgpack(const Message& message, std::vector<uint8_t>& out) {
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        FieldCounter c;
        describe(c, m);
        MsgpackWriter w(out);
        w.array_header(1 + c.n);
        w.unsigned_int(static_cast<uint64_t>(M::kType));
        describe(w, m);
      },
      message);
}

Result<Message> message_from_tree(json&& tree, Layout layout) {
  std::optional<MessageType> type;
  if (layout == Layout::positional) {
    if (!tree.is_array() || tree.empty() || !tree[0].is_number_unsigned()) {
      return Error{ErrorCode::bad_field, "message: expected an array [type id, fields...]"};
    }
    type = from_id<MessageType>(tree[0].get<uint64_t>());
    if (!type) {
      return Error{ErrorCode::unknown_message,
                   "message type id " + std::to_string(tree[0].get<uint64_t>())};
    }
  } else {
    auto it = tree.is_object() ? tree.find("type") : tree.end();
    if (it == tree.end() || !it->is_string()) {
      return Error{ErrorCode::bad_field, R"(message: expected an object with a "type" string)"};
    }
    type = from_name<MessageType>(it->get_ref<const std::string&>());
    if (!type) {
      return Error{ErrorCode::unknown_message,
                   "message type " + it->dump(-1, ' ', false, json::error_handler_t::replace)};
    }
  }
  Reader r(layout);
  auto m = read_alternative(*type, tree, r, layout == Layout::positional ? 1 : 0);
  if (r.failed()) return r.take_error();
  if (!m) return Error{ErrorCode::internal, "no alternative for a known message type"};
  return std::move(*m);
}

}  // namespace otp::protocol::detail
