// The path operations' arguments by Falco's names (evt.arg.NAME), per
// pg_pathop_kind: what the decoder, the field extractors and the kernel
// filter's lowering agree on, as the catalogue's rows (kern/api/syscalls.h)
// say.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "kern/api/records.h"

namespace pg::policy {

// Where an argument's value is in a path-operation record.
enum class PathOpArg : uint8_t {
  None,
  Path1,
  Path2,
  Dirfd1,
  Dirfd2,
  Flags,
  Mode,
  Extra,  // the third string (mount's filesystem type)
  Ret,    // the value returned (memfd_create's fd)
};

struct PathOpSyscall {
  std::string_view name;
  std::array<std::pair<std::string_view, PathOpArg>, 5> args;
};

// From the catalogue's rows (kern/api/syscalls.h), indexed by pg_pathop_kind.
#define PG_PO_ARG(name, where) \
  std::pair<std::string_view, PathOpArg> { #name, PathOpArg::where }
#define PG_PATHOP_ROW(name, NAME, tp, flags, d1, p1, d2, p2, fl, mode, extra, args) \
  PathOpSyscall{#name, {{PG_SC_UNPAREN args}}},
inline constexpr std::array<PathOpSyscall, PG_PO__END> kPathOps{
    {PathOpSyscall{"", {}}, PG_PATHOP_SYSCALLS(PG_PATHOP_ROW)}};
#undef PG_PATHOP_ROW
#undef PG_PO_ARG

// pg_pathop_kind of a syscall name; 0 when it is not a path operation.
constexpr uint16_t pathop_kind_of(std::string_view syscall) {
  for (uint16_t k = PG_PO_SYMLINK; k < PG_PO__END; ++k)
    if (kPathOps[k].name == syscall) return k;
  return 0;
}

// Which argument `name` is for a kind (None: the syscall has no such argument).
constexpr PathOpArg pathop_arg(uint16_t kind, std::string_view name) {
  if (kind == 0 || kind >= PG_PO__END) return PathOpArg::None;
  for (const auto& [n, a] : kPathOps[kind].args)
    if (!n.empty() && n == name) return a;
  return PathOpArg::None;
}

// A symlink's target (and the like) is a string kept as passed; other
// paths name files.
constexpr bool pathop_arg1_as_is(uint16_t kind) { return pg_pathop_arg1_as_is(kind); }

}  // namespace pg::policy
