// The typed event a ring-buffer record decodes into: what every consumer
// (trace output, process table, and later the rule engine) reads.
//
// One Event object is reused for every record, so its strings keep their
// capacity and steady-state decoding does not allocate.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kern/api/records.h"

namespace pg::user {

enum class EventKind : uint16_t {
  Exec = PG_REC_EXEC,
  Fork = PG_REC_FORK,
  Exit = PG_REC_EXIT,
  Open = PG_REC_OPEN,
  Connect = PG_REC_CONNECT,
  PathOp = PG_REC_PATHOP,
  Args = PG_REC_ARGS,
};

struct TaskInfo {
  uint32_t tgid = 0;
  uint32_t tid = 0;
  uint32_t ppid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t loginuid = UINT32_MAX;
  uint64_t cgroup_id = 0;
  std::string comm;
  std::string pcomm;           // the parent process's comm, read with comm
  uint64_t cap_effective = 0;  // capability sets, bit N = capability N
  uint64_t cap_permitted = 0;
  uint64_t cap_inheritable = 0;
};

struct SockAddr {
  uint16_t family = 0;  // AF_*
  uint16_t port = 0;
  std::array<uint8_t, 16> addr{};
  std::string to_ip() const;  // "" when not AF_INET/AF_INET6
};

// A path as an event reports it: the normalised absolute form when it could
// be computed, and whether any piece was cut short or unreadable.
struct PathValue {
  std::string raw;  // as the caller passed it
  std::string abs;  // absolute and normalised; empty if unknown
  bool incomplete = false;
};

// Falco's evt.type for a pg_pathop_kind ("symlinkat", "unlink", ...).
std::string_view pathop_name(uint16_t kind);
// Falco's evt.type for a pg_args_kind ("socket", "ptrace", ...).
std::string_view numeric_syscall_name(uint16_t kind);

struct Event {
  EventKind kind = EventKind::Exec;
  uint16_t flags = 0;    // pg_rec_flags
  uint64_t boot_ns = 0;  // CLOCK_BOOTTIME
  uint64_t time_ns = 0;  // CLOCK_REALTIME, nanoseconds since the epoch
  TaskInfo task;
  int64_t ret = 0;

  // Exec
  PathValue exe;
  std::vector<std::string> argv;
  std::string env;        // NUL-separated NAME=value entries, as in /proc/PID/environ
  bool env_known = true;  // false: not captured (no loaded rule read it)
  PathValue cwd;
  uint64_t start_ns = 0;
  uint32_t tty = 0;
  uint32_t sid = 0;
  uint32_t exe_flags = 0;  // pg_exe_flags
  uint32_t vpid = 0;       // exec: the pid in its own namespace; fork: the child's
  uint64_t image = 0;      // exec: the image id the kernel gave it (pg_exec_rec.image)
  // Exec and fork: the syscall (execve/execveat; clone/clone3/fork/vfork),
  // -1 when the kernel itself started the process.
  int32_t syscall_nr = -1;
  // Fork
  uint32_t child_tgid = 0;
  uint64_t child_start_ns = 0;
  // Exit
  int32_t exit_code = 0;
  // Open
  uint16_t open_kind = 0;  // pg_open_kind
  uint64_t open_flags = 0;
  uint32_t open_mode = 0;
  int32_t dirfd = PG_AT_FDCWD;
  PathValue path;
  // Path operations (symlink, link, unlink, rename, mkdir, rmdir, chmod and
  // their *at forms, chdir, mount, umount2, memfd_create, failed execs):
  // the first path argument is `path` (relative to
  // `dirfd`), the second `path2` (relative to `dirfd2`).
  uint16_t pathop_kind = 0;  // pg_pathop_kind
  PathValue path2;
  int32_t dirfd2 = PG_AT_FDCWD;
  uint32_t op_flags = 0;
  uint32_t op_mode = 0;
  std::string extra;  // a third string argument (mount: the filesystem type)
  bool extra_incomplete = false;
  // Numeric-argument syscalls (socket, ptrace, setns, ...): the raw
  // arguments, named and formatted by policy/syscall_args.h.
  uint16_t args_kind = 0;  // pg_args_kind
  std::array<uint64_t, 6> args{};
  // The descriptor the event is about. Connect: the socket. Numeric-argument
  // syscalls that name one (dup's oldfd, accept's result, sendto's fd):
  // resolved by the kernel, with `fd_mode` its inode mode (0: not open),
  // and the socket fields or `path` below describing it.
  int32_t fd = -1;
  uint32_t fd_mode = 0;
  uint16_t sock_type = 0;
  uint16_t protocol = 0;
  SockAddr remote;
  SockAddr local;
  uint16_t sock_family = 0;  // numeric-argument syscalls: the socket's own family
  uint16_t fd_flags = 0;     // pg_fdinfo_flags

  // The kernel filter's verdict (open, connect, path operations): when `filtered`, only
  // rules owning a slot in `slots` (under generation `filter_gen`) can match.
  bool filtered = false;
  uint32_t filter_gen = 0;
  pg_slots slots{};

  // Falco's evt.type for this event ("openat", "connect", "execve", ...).
  std::string_view type_name() const;
};

}  // namespace pg::user
