// Internal machinery of otp/message.hpp: how a Message holds its value, and how match finds a
// handler's parameter type. Read otp/message.hpp instead; nothing here is API.
#pragma once

#include <memory>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace otp {

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

/// What Message::match returns unless told: the first clause's result type that every other
/// clause's result converts to (else their common type), leaving out the clauses that return void
/// (a clause that only throws). void when every clause does.
template <class A, class B>
struct CombineResults {
  using type = typename std::conditional_t<
      std::is_convertible_v<B, A>, std::type_identity<A>,
      std::conditional_t<std::is_convertible_v<A, B>, std::type_identity<std::decay_t<B>>,
                         std::common_type<A, B>>>::type;
};
template <class A>
struct CombineResults<A, void> {
  using type = A;
};
template <class B>
struct CombineResults<void, B> {
  using type = std::decay_t<B>;
};
template <>
struct CombineResults<void, void> {
  using type = void;
};
template <class Acc, class... Ts>
struct MatchResult {
  using type = Acc;
};
template <class Acc, class T, class... Ts>
struct MatchResult<Acc, T, Ts...> {
  using type = typename MatchResult<typename CombineResults<Acc, T>::type, Ts...>::type;
};
template <class... Fs>
using match_result_t =
    typename MatchResult<void, std::invoke_result_t<Fs, const first_arg_t<Fs>&>...>::type;

/// Message::match's result type when not given explicitly.
struct DeduceResult {};

/// Thrown when a match clause that returns void returns (see Message::match).
[[noreturn]] void throw_void_clause(const std::type_info& type);

}  // namespace detail

}  // namespace otp
