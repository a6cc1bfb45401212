// The path operations' arguments by Falco's names (evt.arg.NAME), per
// pg_pathop_kind: what the decoder, the field extractors and the kernel
// filter's lowering agree on. kern/api/records.h has the same table as a
// comment.
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

inline constexpr std::array<PathOpSyscall, PG_PO__END> kPathOps = [] {
  using A = PathOpArg;
  return std::array<PathOpSyscall, PG_PO__END>{{
    {"", {}},
    {"symlink", {{{"target", A::Path1}, {"linkpath", A::Path2}}}},
    {"symlinkat", {{{"target", A::Path1}, {"linkdirfd", A::Dirfd2}, {"linkpath", A::Path2}}}},
    {"link", {{{"oldpath", A::Path1}, {"newpath", A::Path2}}}},
    {"linkat",
     {{{"olddir", A::Dirfd1},
       {"oldpath", A::Path1},
       {"newdir", A::Dirfd2},
       {"newpath", A::Path2},
       {"flags", A::Flags}}}},
    {"unlink", {{{"path", A::Path1}}}},
    {"unlinkat", {{{"dirfd", A::Dirfd1}, {"name", A::Path1}, {"flags", A::Flags}}}},
    {"rename", {{{"oldpath", A::Path1}, {"newpath", A::Path2}}}},
    {"renameat",
     {{{"olddirfd", A::Dirfd1}, {"oldpath", A::Path1}, {"newdirfd", A::Dirfd2}, {"newpath", A::Path2}}}},
    {"renameat2",
     {{{"olddirfd", A::Dirfd1},
       {"oldpath", A::Path1},
       {"newdirfd", A::Dirfd2},
       {"newpath", A::Path2},
       {"flags", A::Flags}}}},
    {"mkdir", {{{"path", A::Path1}, {"mode", A::Mode}}}},
    {"mkdirat", {{{"dirfd", A::Dirfd1}, {"path", A::Path1}, {"mode", A::Mode}}}},
    {"rmdir", {{{"path", A::Path1}}}},
    {"chmod", {{{"filename", A::Path1}, {"mode", A::Mode}}}},
    {"fchmodat", {{{"dirfd", A::Dirfd1}, {"filename", A::Path1}, {"mode", A::Mode}}}},
    {"chdir", {{{"path", A::Path1}}}},
    {"mount",
     {{{"dev", A::Path1}, {"dir", A::Path2}, {"type", A::Extra}, {"flags", A::Flags}}}},
    {"umount2", {{{"name", A::Path1}, {"flags", A::Flags}}}},
    {"memfd_create", {{{"fd", A::Ret}, {"name", A::Path1}, {"flags", A::Flags}}}},
    // Only failed execs: a successful one is an exec record.
    {"execve", {{{"filename", A::Path1}}}},
    {"execveat", {{{"dirfd", A::Dirfd1}, {"pathname", A::Path1}, {"flags", A::Flags}}}},
  }};
}();

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
