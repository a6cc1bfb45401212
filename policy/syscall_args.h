// The numeric-argument syscalls (PG_REC_ARGS): each argument's Falco name
// (evt.arg.NAME) and how Falco prints it, per pg_args_kind. The descriptor
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

inline constexpr std::array<NumericSyscall, PG_AK__END> kNumericSyscalls = [] {
  using F = ArgFormat;
  return std::array<NumericSyscall, PG_AK__END>{{
      {"", {}},
      {"socket", {{{"domain", 0, F::SocketDomain}, {"type", 1, F::Int}, {"proto", 2, F::Int}}}},
      {"ptrace",
       {{{"request", 0, F::PtraceRequest},
         {"pid", 1, F::Int},
         {"addr", 2, F::Long},
         {"data", 3, F::Long}}}},
      {"setns", {{{"fd", 0, F::Int}, {"nstype", 1, F::CloneFlags}}}},
      {"unshare", {{{"flags", 0, F::CloneFlags}}}},
      {"setuid", {{{"uid", 0, F::Uid}}}},
      {"setgid", {{{"gid", 0, F::Gid}}}},
      {"bpf", {{{"cmd", 0, F::Int}}}},
      {"listen", {{{"fd", 0, F::Int}, {"backlog", 1, F::Int}}}},
      {"fchmod", {{{"fd", 0, F::Int}, {"mode", 1, F::Mode}}}},
      {"dup", {{{"oldfd", 0, F::Int}}}},
      {"dup2", {{{"oldfd", 0, F::Int}, {"newfd", 1, F::Int}}}},
      {"dup3", {{{"oldfd", 0, F::Int}, {"newfd", 1, F::Int}, {"flags", 2, F::Int}}}},
      {"accept", {{{"fd", 0, F::Int}}}},
      {"accept4", {{{"fd", 0, F::Int}, {"flags", 3, F::Int}}}},
      {"sendto", {{{"fd", 0, F::Int}, {"size", 2, F::Long}}}},
      {"sendmsg", {{{"fd", 0, F::Int}}}},
      {"setresuid", {{{"ruid", 0, F::Uid}, {"euid", 1, F::Uid}, {"suid", 2, F::Uid}}}},
      {"setresgid", {{{"rgid", 0, F::Gid}, {"egid", 1, F::Gid}, {"sgid", 2, F::Gid}}}},
      {"setreuid", {{{"ruid", 0, F::Uid}, {"euid", 1, F::Uid}}}},
      {"setregid", {{{"rgid", 0, F::Gid}, {"egid", 1, F::Gid}}}},
      {"capset",
       {{{"cap_inheritable", 0, F::CapInheritable},
         {"cap_permitted", 0, F::CapPermitted},
         {"cap_effective", 0, F::CapEffective}}}},
      {"prctl",
       {{{"option", 0, F::PrctlOption}, {"arg2_str", 1, F::PrctlName}, {"arg2_int", 1, F::Long}}}},
      {"userfaultfd", {{{"flags", 0, F::Int}}}},
      {"kill", {{{"pid", 0, F::Int}, {"sig", 1, F::Signal}}}},
      {"tkill", {{{"tid", 0, F::Int}, {"sig", 1, F::Signal}}}},
      {"tgkill", {{{"pid", 0, F::Int}, {"tid", 1, F::Int}, {"sig", 2, F::Signal}}}},
      {"process_vm_readv", {{{"pid", 0, F::Int}}}},
      {"process_vm_writev", {{{"pid", 0, F::Int}}}},
      {"fchdir", {{{"fd", 0, F::Int}}}},
      {"init_module", {{{"length", 1, F::Long}}}},
      {"finit_module", {{{"fd", 0, F::Int}, {"flags", 2, F::Int}}}},
      {"socketpair", {{{"domain", 0, F::SocketDomain}, {"type", 1, F::Int}, {"proto", 2, F::Int}}}},
      {"bind", {{{"fd", 0, F::Int}}}},
  }};
}();

// pg_args_kind of a syscall name; 0 when it is not one of these.
constexpr uint16_t numeric_kind_of(std::string_view syscall) {
  for (uint16_t k = 1; k < PG_AK__END; ++k)
    if (kNumericSyscalls[k].name == syscall) return k;
  return 0;
}

// The argument `name` of a kind (format None: no such argument).
constexpr NumericArg numeric_arg(uint16_t kind, std::string_view name) {
  if (kind == 0 || kind >= PG_AK__END) return {};
  for (const auto& a : kNumericSyscalls[kind].args)
    if (!a.name.empty() && a.name == name) return a;
  return {};
}

}  // namespace pg::policy
