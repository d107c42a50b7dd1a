// otp::Message: an immutable, type-erased value that processes exchange, like an Erlang term.
//
// Any copyable C++ type can be a message. Empty structs play the role of atoms:
//
// clang-format off
//   struct Increment {};
//   otp::Message m = Increment{};
//   if (m.is<Increment>()) ...
//   if (const auto* put = m.get_if<Put>()) use(put->key);
//   return m.match([&](const Get&) { return otp::reply(value_); },
//                  [&](const Put& p) { value_ = p.v; return otp::reply(Ok{}); });
// clang-format on
//
// Copies share the value (one allocation per message, never per copy; none at all for an empty
// struct), so a message can be sent to many processes cheaply. Local messages are never serialized.
#pragma once

#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "otp/detail/message.hpp"

namespace otp {

/// Returns a readable name for a C++ type ("Increment", "std::string").
std::string type_name(const std::type_info& type);

/// Thrown by Message::get<T>() when the message holds another type.
class BadMessageType : public std::bad_cast {
 public:
  /// "bad message type: expected <expected>, got <actual>".
  BadMessageType(std::string expected, std::string actual);
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string what_;
};

/// A value of any copyable type, shared between copies (see the header comment).
class Message {
 public:
  /// An empty message (holds nothing; `empty()` is true).
  Message() = default;

  /// Wraps any copyable value; `Message m = Increment{};`.
  template <class T, class = std::enable_if_t<!std::is_same_v<std::decay_t<T>, Message>>>
  Message(T&& value)  // NOLINT: implicit on purpose, messages are values
      : value_(detail::make_message_value<std::decay_t<T>>(std::forward<T>(value))) {}

  /// Builds a message holding a T constructed in place.
  template <class T, class... Args>
  static Message make(Args&&... args) {
    Message m;
    m.value_ = detail::make_message_value<T>(std::forward<Args>(args)...);
    return m;
  }

  /// True for a default-constructed message.
  bool empty() const noexcept { return value_ == nullptr; }

  /// Whether the held value is exactly a T (no conversions, no base classes).
  template <class T>
  bool is() const noexcept {
    return value_ != nullptr && value_->type() == typeid(T);
  }

  /// The held T, or nullptr when the message holds something else.
  template <class T>
  const T* get_if() const noexcept {
    return is<T>() ? &static_cast<const detail::TypedMessageValue<T>*>(value_.get())->value
                   : nullptr;
  }

  /// The held T; throws BadMessageType naming both types otherwise.
  template <class T>
  const T& get() const {
    if (const T* p = get_if<T>()) return *p;
    throw BadMessageType(otp::type_name(typeid(T)), type_name());
  }

  /// Calls the first handler whose parameter type matches the held value and returns its result.
  /// When none matches, returns `R(otp::Unmatched{*this})`: the result type R must be
  /// constructible from otp::Unmatched (otp::Action is; the runtime then treats the message as
  /// unmatched, see otp/gen_server.hpp). R is the common type of the handlers' results (so a
  /// handler may return anything that converts to the others', an otp::Action); handlers that
  /// return void are left out of it: they must throw (one that returns throws
  /// std::logic_error). match<R>(...) names R when no handler's result gives it.
  template <class R = detail::DeduceResult, class... Fs>
  auto match(Fs&&... fs) const;

  /// The held type's readable name, or "empty".
  std::string type_name() const;

  /// The held type, or typeid(void) when empty.
  const std::type_info& type() const noexcept { return value_ ? value_->type() : typeid(void); }

 private:
  std::shared_ptr<const detail::MessageValue> value_;
};

/// What Message::match returns when no handler takes the message.
struct Unmatched {
  Message message;
};

/// The reply of servers that only say "done" (Elixir's :ok); crosses nodes as "ok".
struct Ok {
  friend bool operator==(const Ok&, const Ok&) = default;
};

template <class Given, class... Fs>
auto Message::match(Fs&&... fs) const {
  using R = std::conditional_t<std::is_same_v<Given, detail::DeduceResult>,
                               detail::match_result_t<Fs...>, Given>;
  static_assert(!std::is_void_v<R>,
                "every match clause returns void: name the result type, match<otp::Action>(...)");
  R result = R(Unmatched{*this});
  bool done = false;
  auto try_one = [&](auto&& f) {
    using A = detail::first_arg_t<decltype(f)>;
    if (!done) {
      if (const A* v = get_if<A>()) {
        if constexpr (std::is_void_v<std::invoke_result_t<decltype(f), const A&>>) {
          f(*v);
          detail::throw_void_clause(typeid(A));
        } else {
          result = f(*v);
        }
        done = true;
      }
    }
  };
  (try_one(std::forward<Fs>(fs)), ...);
  return result;
}

}  // namespace otp
