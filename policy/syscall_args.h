// The numeric-argument syscalls (PG_REC_ARGS): each argument's Falco name
// (evt.arg.NAME) and how Falco prints it, per pg_args_kind, as the
// catalogue's rows (kern/api/syscalls.h) say. The descriptor
// such a syscall names is resolved by the kernel and described by fd.*.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "kern/api/records.h"

namespace pg::policy {

enum class ArgFormat : uint8_t {
  None,           // no such argument
  Int,            // a C int (fds, pids, flags): the register's low 32 bits, signed
  Long,           // a 64-bit value (addresses, ptrace data)
  Uid,            // a user id, printed as the user's name when it has one
  Gid,            // a group id, likewise
  SocketDomain,   // AF_INET, AF_PACKET, ...
  PtraceRequest,  // PTRACE_ATTACH, PTRACE_TRACEME, ...
  CloneFlags,     // CLONE_NEWNS|CLONE_NEWUSER|...
  Mode,           // S_IRUSR|... (as for chmod)
  Signal,         // SIGKILL, SIGTERM, ...
  PrctlOption,    // PR_SET_NAME, PR_SET_DUMPABLE, ...
  PrctlName,      // prctl's name argument (PR_SET_NAME): the comm it set
  // capset's sets: the thread's capabilities after the call, as Falco
  // prints them (the arguments are pointers to them)
  CapInheritable,
  CapPermitted,
  CapEffective,
};

struct NumericArg {
  std::string_view name;
  uint8_t index = 0;  // which syscall argument
  ArgFormat format = ArgFormat::None;
};

struct NumericSyscall {
  std::string_view name;
  std::array<NumericArg, 4> args;
};

// From the catalogue's rows (kern/api/syscalls.h), indexed by pg_args_kind.
#define PG_AK_ARG(name, index, format) \
  NumericArg { #name, index, ArgFormat::format }
#define PG_NUMERIC_ROW(name, NAME, family, fds, flags, args) \
  NumericSyscall{#name, {{PG_SC_UNPAREN args}}},
inline constexpr std::array<NumericSyscall, PG_AK__END> kNumericSyscalls{
    {NumericSyscall{"", {}}, PG_ARGS_SYSCALLS(PG_NUMERIC_ROW)}};
#undef PG_NUMERIC_ROW
#undef PG_AK_ARG

// The argument `name` of a kind (format None: no such argument).
constexpr NumericArg numeric_arg(uint16_t kind, std::string_view name) {
  if (kind == 0 || kind >= PG_AK__END) return {};
  for (const auto& a : kNumericSyscalls[kind].args)
    if (!a.name.empty() && a.name == name) return a;
  return {};
}

}  // namespace pg::policy
