// otp::Message: an immutable, type-erased value that processes exchange, like an Erlang term.
//
// Any copyable C++ type can be a message. Empty structs play the role of atoms:
//
//   struct Increment {};
//   otp::Message m = Increment{};
//   if (m.is<Increment>()) ...
//   if (const auto* put = m.get_if<Put>()) use(put->key);
//   return m.match([&](const Get&) { return otp::reply(value_); },
//                  [&](const Put& p) { value_ = p.v; return otp::reply(Ok{}); });
//
// Copies share the value (one allocation per message, never per copy; none at all for an empty
// struct), so a message can be sent to many processes cheaply. Local messages are never serialized.
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace otp {

/// Returns a readable name for a C++ type ("Increment", "std::string").
std::string type_name(const std::type_info& type);

class Message;

namespace detail {

struct MessageValue {
  virtual ~MessageValue() = default;
  virtual const std::type_info& type() const noexcept = 0;
};

template <class T>
struct TypedMessageValue final : MessageValue {
  template <class... Args>
  explicit TypedMessageValue(Args&&... args) : value(std::forward<Args>(args)...) {}
  const std::type_info& type() const noexcept override { return typeid(T); }
  T value;
};

/// Types that carry no data (`struct Increment {};`): Erlang's atoms. All their messages share
/// one value, so making and copying them allocates nothing and touches no reference count.
template <class T>
inline constexpr bool is_atom_v =
    std::is_empty_v<T>&& std::is_trivially_default_constructible_v<T>&&
        std::is_trivially_copyable_v<T>&& std::is_trivially_destructible_v<T>;

template <class T, class... Args>
std::shared_ptr<const MessageValue> make_message_value(Args&&... args) {
  if constexpr (is_atom_v<T>) {
    // Never freed, so a message outliving static destruction (a detached thread) stays valid.
    ((void)args, ...);  // the value carries nothing
    static const MessageValue* const atom = new TypedMessageValue<T>();
    // An empty owner: the shared_ptr points at the value and counts no references.
    return std::shared_ptr<const MessageValue>(std::shared_ptr<void>(), atom);
  } else {
    return std::make_shared<TypedMessageValue<T>>(std::forward<Args>(args)...);
  }
}

template <class F>
struct FirstArg;
template <class R, class C, class A>
struct FirstArg<R (C::*)(A) const> {
  using type = std::remove_cvref_t<A>;
};
template <class R, class C, class A>
struct FirstArg<R (C::*)(A)> {
  using type = std::remove_cvref_t<A>;
};
template <class F>
using first_arg_t = typename FirstArg<decltype(&std::remove_cvref_t<F>::operator())>::type;

}  // namespace detail

/// Thrown by Message::get<T>() when the message holds another type.
class BadMessageType : public std::bad_cast {
 public:
  BadMessageType(std::string expected, std::string actual);
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string what_;
};

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

  bool empty() const noexcept { return value_ == nullptr; }

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
  /// When none matches, returns `R(otp::unhandled)`-style default: the handlers' result type must
  /// be constructible from `Unmatched{*this}` (otp::Action is).
  template <class... Fs>
  auto match(Fs&&... fs) const;

  /// The held type's readable name, or "empty".
  std::string type_name() const;

  const std::type_info& type() const noexcept { return value_ ? value_->type() : typeid(void); }

 private:
  std::shared_ptr<const detail::MessageValue> value_;
};

/// What Message::match returns when no handler takes the message.
struct Unmatched {
  Message message;
};

template <class... Fs>
auto Message::match(Fs&&... fs) const {
  using First = std::tuple_element_t<0, std::tuple<Fs...>>;
  using R = std::invoke_result_t<First, const detail::first_arg_t<First>&>;
  R result = R(Unmatched{*this});
  bool done = false;
  auto try_one = [&](auto&& f) {
    using A = detail::first_arg_t<decltype(f)>;
    if (!done) {
      if (const A* v = get_if<A>()) {
        result = f(*v);
        done = true;
      }
    }
  };
  (try_one(std::forward<Fs>(fs)), ...);
  return result;
}

}  // namespace otp
