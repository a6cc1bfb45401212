// Domain names for fd.sip.name, fd.cip.name, fd.rip.name and fd.lip.name.
//
// As in Falco, these fields do not reverse-resolve addresses: the names a
// rule compares them with are resolved forwards, in the background and
// again every refresh interval, and an address "is" every watched name that
// resolved to it. A rule loaded before its names resolve sees them only once
// they have (the first resolution starts as the rule is compiled).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pg::user::engine {

class DnsNames {
 public:
  // The process-wide instance; its resolver thread starts with the first
  // watched name.
  static DnsNames& instance();

  // Resolve `name` from now on (a no-op for a name already watched).
  void watch(std::string_view name);
  // The watched names that resolved to `ip` (textual, as inet_ntop writes
  // it), appended to `out`.
  void names_of(std::string_view ip, std::vector<std::string>& out) const;
  // Wait until every watched name has been resolved once (tests).
  void wait_resolved() const;

 private:
  DnsNames() = default;
  struct State;
  State& state() const;
};

}  // namespace pg::user::engine
