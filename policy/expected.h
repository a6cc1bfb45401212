// pg::Expected / pg::Unexpected: the error-return type used across module
// boundaries (STYLE.md rule 6).
//
// With g++ 12 this is exactly std::expected. The libFuzzer builds (`make
// fuzz`) must use clang 14, whose concepts level (201907L) makes libstdc++ 12
// hide <expected>; for that compiler only, a minimal stand-in with the same
// surface we use is provided. Production builds never take that branch.
#pragma once

#include <utility>
#include <version>

#if defined(__cpp_lib_expected)
#include <expected>
namespace pg {
template <class T, class E>
using Expected = std::expected<T, E>;
template <class E>
using Unexpected = std::unexpected<E>;
}  // namespace pg
#else
#include <cstdlib>
#include <optional>
#include <variant>
namespace pg {
template <class E>
class Unexpected {
 public:
  explicit Unexpected(E e) : error_(std::move(e)) {}
  E& error() & { return error_; }
  const E& error() const& { return error_; }
  E&& error() && { return std::move(error_); }

 private:
  E error_;
};
template <class E>
Unexpected(E) -> Unexpected<E>;

template <class T, class E>
class Expected {
 public:
  Expected() requires std::is_default_constructible_v<T> : v_(std::in_place_index<0>) {}
  template <class U = T>
  Expected(
      U&& value) requires std::is_constructible_v<T, U&&>  // NOLINT: implicit like std::expected
      : v_(std::in_place_index<0>, std::forward<U>(value)) {}
  template <class G>
  Expected(Unexpected<G> u) : v_(std::in_place_index<1>, std::move(u).error()) {}  // NOLINT
  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & {
    check();
    return std::get<0>(v_);
  }
  const T& value() const& {
    check();
    return std::get<0>(v_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  E& error() & { return std::get<1>(v_); }
  const E& error() const& { return std::get<1>(v_); }

 private:
  void check() const {
    if (!has_value()) std::abort();
  }
  std::variant<T, E> v_;
};

template <class E>
class Expected<void, E> {
 public:
  Expected() = default;
  template <class G>
  Expected(Unexpected<G> u) : e_(std::move(u).error()) {}  // NOLINT
  bool has_value() const { return !e_.has_value(); }
  explicit operator bool() const { return has_value(); }
  void value() const {
    if (e_) std::abort();
  }
  E& error() & { return *e_; }
  const E& error() const& { return *e_; }

 private:
  std::optional<E> e_;
};
}  // namespace pg
#endif
