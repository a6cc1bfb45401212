// Force-included into the libFuzzer builds of user/ files (scripts/fuzz.mk):
// clang 14 hides libstdc++ 12's std::expected (see policy/expected.h), which
// the daemon's modules use across their edges. This maps the names onto the
// stand-in there, for the fuzz build only; production code never sees it.
#pragma once

#include <version>

#if !defined(__cpp_lib_expected)
#include "policy/expected.h"
namespace std {
template <class E>
class unexpected : public pg::Unexpected<E> {
 public:
  using pg::Unexpected<E>::Unexpected;
};
template <class E>
unexpected(E) -> unexpected<E>;
template <class T, class E>
class expected : public pg::Expected<T, E> {
 public:
  using pg::Expected<T, E>::Expected;
  expected() = default;
  expected(const pg::Expected<T, E>& e) : pg::Expected<T, E>(e) {}  // NOLINT
};
}  // namespace std
#endif
