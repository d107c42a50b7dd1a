// otp::RegistryKey: a key of otp::Registry and of any via name (otp::via) — a string, or a value
// of any hashable, equality-comparable type, std::tuple and std::pair of such included, kept as
// it is (never formatted into a string). The seed's `{:user_session, id}`:
//
// clang-format off
//   otp::via("MyApp.Registry", std::tuple{"user_session", 42})
//   registry->lookup(std::tuple{"user_session", 42});          // the same key
//   registry->lookup("user_session:42");                       // a string key: another key
// clang-format on
//
// Two keys are equal when they hold the same type and its == says so: the int 42 and the long 42
// are different keys, as 42 and "42" are. Character pointers and string_views are stored as
// std::string (inside tuples and pairs too), so "user_session" compares by its characters, never
// by address, and no key points into a caller's buffer.
// A type is hashable when std::hash<K> is defined for it; tuples and pairs of hashable types
// are hashed by otp::KeyHash (std::hash has no form for them).
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>

namespace otp {

/// std::hash<K>, and for std::tuple / std::pair a combination of their elements' KeyHash.
template <class K>
struct KeyHash;

/// Whether otp::KeyHash<K> exists (std::hash<K>, or a tuple or pair of such).
template <class K>
concept KeyHashable = requires(const K& k) {
  { KeyHash<K>{}(k) } -> std::convertible_to<size_t>;
};

template <class K>
requires requires(const K& k) {
  { std::hash<K>{}(k) } -> std::convertible_to<size_t>;
}
struct KeyHash<K> {
  size_t operator()(const K& k) const { return std::hash<K>{}(k); }
};

namespace detail {
/// boost::hash_combine's mixing: order matters, so {1, 2} and {2, 1} hash apart.
inline size_t combine_hash(size_t seed, size_t h) {
  return seed ^ (h + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}
}  // namespace detail

template <class... Ts>
requires(KeyHashable<Ts>&&...) struct KeyHash<std::tuple<Ts...>> {
  size_t operator()(const std::tuple<Ts...>& t) const {
    return std::apply(
        [](const Ts&... e) {
          size_t seed = sizeof...(Ts);
          ((seed = detail::combine_hash(seed, KeyHash<Ts>{}(e))), ...);
          return seed;
        },
        t);
  }
};

template <class A, class B>
requires KeyHashable<A> && KeyHashable<B>
struct KeyHash<std::pair<A, B>> {
  size_t operator()(const std::pair<A, B>& p) const {
    return detail::combine_hash(KeyHash<A>{}(p.first), KeyHash<B>{}(p.second));
  }
};

namespace detail {

/// The type a key value is stored as: character pointers become std::string, inside tuples and
/// pairs too; everything else stays as it is.
template <class K>
struct StoredKey {
  using type = K;
};
template <>
struct StoredKey<const char*> {
  using type = std::string;
};
template <>
struct StoredKey<char*> {
  using type = std::string;
};
template <>
struct StoredKey<std::string_view> {
  using type = std::string;
};
template <class... Ts>
struct StoredKey<std::tuple<Ts...>> {
  using type = std::tuple<typename StoredKey<Ts>::type...>;
};
template <class A, class B>
struct StoredKey<std::pair<A, B>> {
  using type = std::pair<typename StoredKey<A>::type, typename StoredKey<B>::type>;
};
template <class K>
using stored_key_t = typename StoredKey<std::decay_t<K>>::type;

/// A key for errors and logs: strings as they are, numbers in decimal, tuples and pairs as
/// {a, b}, anything else that an ostream prints as it prints, else its type's name.
template <class K>
std::string describe_key(const K& k) {
  if constexpr (std::is_same_v<K, std::string>) {
    return k;
  } else if constexpr (std::is_same_v<K, bool>) {
    return k ? "true" : "false";
  } else if constexpr (std::is_arithmetic_v<K>) {
    return std::to_string(k);
  } else if constexpr (requires { std::tuple_size<K>::value; }) {
    std::string out = "{";
    std::apply(
        [&](const auto&... e) {
          size_t i = 0;
          ((out += (i++ ? ", " : "") + describe_key(e)), ...);
        },
        k);
    return out + "}";
  } else if constexpr (requires(std::ostream & os) { os << k; }) {
    std::ostringstream os;
    os << k;
    return os.str();
  } else {
    return typeid(K).name();
  }
}

}  // namespace detail

/// Whether values of K can be registry keys: hashable (see KeyHash) and equality-comparable,
/// once character pointers are taken as strings.
template <class K>
concept RegistryKeyType = std::equality_comparable<detail::stored_key_t<K>> &&
    KeyHashable<detail::stored_key_t<K>> && std::copy_constructible<detail::stored_key_t<K>>;

/// A key of any RegistryKeyType (see the header comment). A string key is held as a string (no
/// allocation beyond the string's own, as the string keys of old); any other key is shared and
/// immutable, cheap to copy.
class RegistryKey {
 public:
  /// The key of a string (std::string, a string literal, anything that converts to std::string).
  RegistryKey(std::string s) : v_(std::move(s)) {}             // NOLINT: implicit on purpose
  RegistryKey(const char* s) : RegistryKey(std::string(s)) {}  // NOLINT: implicit on purpose

  /// The key of any other hashable, comparable value: an int, a std::tuple, a std::pair, an
  /// enum with a std::hash, a struct of one's own with std::hash and ==...
  template <class K>
  requires(!std::is_same_v<std::decay_t<K>, RegistryKey> &&
           !std::is_convertible_v<K, std::string> && RegistryKeyType<K>)
      RegistryKey(K&& k)  // NOLINT: implicit on purpose
  {
    using Stored = detail::stored_key_t<K>;
    if constexpr (std::is_same_v<Stored, std::string>)
      v_ = Stored(std::forward<K>(k));
    else
      v_ = std::make_shared<Holder<Stored>>(Stored(std::forward<K>(k)));
  }

  /// The value, when the key holds a K (as stored: a string for a character pointer).
  template <class K>
  const K* get_if() const {
    if constexpr (std::is_same_v<K, std::string>) {
      return std::get_if<std::string>(&v_);
    } else {
      auto* held = std::get_if<std::shared_ptr<const Base>>(&v_);
      auto* h = held ? dynamic_cast<const Holder<K>*>(held->get()) : nullptr;
      return h ? &h->value : nullptr;
    }
  }
  /// The key's hash (KeyHash of the value it holds).
  size_t hash() const {
    if (auto* s = std::get_if<std::string>(&v_)) return std::hash<std::string>{}(*s);
    return std::get<1>(v_)->hash();
  }
  /// The key in words, for errors and logs (see detail::describe_key).
  std::string to_string() const {
    if (auto* s = std::get_if<std::string>(&v_)) return *s;
    return std::get<1>(v_)->describe();
  }

  /// Same type, and equal by that type's ==. A member, not a friend: a hidden friend would be
  /// a candidate of every K == K whose K names RegistryKey, and checking whether K converts to
  /// a key would then ask again whether K == K.
  bool operator==(const RegistryKey& other) const {
    if (v_.index() != other.v_.index()) return false;
    if (auto* s = std::get_if<std::string>(&v_)) return *s == std::get<std::string>(other.v_);
    auto& a = std::get<1>(v_);
    auto& b = std::get<1>(other.v_);
    return a == b || a->equals(*b);
  }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual size_t hash() const = 0;
    virtual bool equals(const Base& other) const = 0;
    virtual std::string describe() const = 0;
  };
  template <class K>
  struct Holder final : Base {
    explicit Holder(K v) : value(std::move(v)) {}
    size_t hash() const override { return KeyHash<K>{}(value); }
    bool equals(const Base& other) const override {
      auto* o = dynamic_cast<const Holder*>(&other);
      return o && o->value == value;
    }
    std::string describe() const override { return detail::describe_key(value); }
    K value;
  };

  std::variant<std::string, std::shared_ptr<const Base>> v_;
};

}  // namespace otp

template <>
struct std::hash<otp::RegistryKey> {
  size_t operator()(const otp::RegistryKey& k) const { return k.hash(); }
};
