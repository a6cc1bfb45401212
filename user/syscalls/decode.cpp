#include "user/syscalls/decode.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>

#include <cstring>

#include "policy/pathop_args.h"
#include "policy/syscall_args.h"
#include "user/path.h"
#include "user/text.h"

namespace pg::user {

namespace {

int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

template <class T>
std::expected<T, std::string> read_fixed(std::span<const std::byte> rec, std::string_view what) {
  if (rec.size() < sizeof(T))
    return std::unexpected(fmt::format("{} record of {} bytes is shorter than its fixed part ({})",
                                       what, rec.size(), sizeof(T)));
  T v;
  std::memcpy(&v, rec.data(), sizeof(T));
  return v;
}

// The bytes a pg_str points at, checked against the record bounds.
std::expected<std::string_view, std::string> str_at(std::span<const std::byte> rec,
                                                    const pg_str& s) {
  if (s.off == 0) return std::string_view{};
  if (size_t(s.off) + s.len > rec.size())
    return std::unexpected(
        fmt::format("string at {}+{} runs past the record end ({})", s.off, s.len, rec.size()));
  return std::string_view(reinterpret_cast<const char*>(rec.data()) + s.off, s.len);
}

bool str_incomplete(const pg_str& s) { return s.flags & (PG_SF_TRUNCATED | PG_SF_FAILED); }

void fill_task(const pg_task& t, TaskInfo& out) {
  out.tgid = t.tgid;
  out.tid = t.tid;
  out.ppid = t.ppid;
  out.uid = t.uid;
  out.gid = t.gid;
  out.loginuid = t.loginuid;
  out.cgroup_id = t.cgroup_id;
  out.comm.assign(t.comm, strnlen(t.comm, sizeof(t.comm)));
  out.pcomm.assign(t.pcomm, strnlen(t.pcomm, sizeof(t.pcomm)));
  out.cap_effective = t.cap_effective;
  out.cap_permitted = t.cap_permitted;
  out.cap_inheritable = t.cap_inheritable;
}

void fill_verdict(const pg_verdict& v, Event& e) {
  e.filtered = v.flags & PG_VF_FILTERED;
  e.filter_gen = v.gen;
  e.slots = v.slots;
}

void fill_walk(std::string_view components, const pg_str& s, PathValue& out) {
  out.raw.clear();
  out.incomplete = str_incomplete(s) || s.off == 0;
  out.abs = out.incomplete ? std::string() : path_from_components(components);
}

#define PG_TRY(var, expr)                                \
  auto var##_r = (expr);                                 \
  if (!var##_r) return std::unexpected(var##_r.error()); \
  auto var = *var##_r

// A path argument: raw as passed; absolute and normalised when it is
// absolute, or relative to a base directory the kernel walked.
std::expected<void, std::string> fill_path(std::span<const std::byte> rec, const pg_str& p,
                                           const pg_str& b, PathValue& out) {
  PG_TRY(path, str_at(rec, p));
  PG_TRY(base, str_at(rec, b));
  out.raw.assign(path);
  out.incomplete = str_incomplete(p) || p.off == 0;
  if (out.incomplete) {
    out.abs.clear();
  } else if (!path.empty() && path.front() == '/') {
    out.abs = normalize_path(path);
  } else if (b.off != 0 && !str_incomplete(b)) {
    out.abs = resolve_path(path_from_components(base), path);
  } else {
    // The base directory could not be walked: the name stays unknown
    // rather than being guessed from a possibly stale cwd.
    out.abs.clear();
    out.incomplete = true;
  }
  return {};
}

void fill_sockaddr(const pg_sockaddr& s, SockAddr& out) {
  out.family = s.family;
  out.port = s.port;
  std::memcpy(out.addr.data(), s.addr, sizeof(s.addr));
}

std::expected<void, std::string> decode_exec(std::span<const std::byte> rec, Event& e) {
  PG_TRY(r, read_fixed<pg_exec_rec>(rec, "exec"));
  fill_task(r.task, e.task);
  e.start_ns = r.start_ns;
  e.tty = r.tty;
  e.sid = r.sid;
  e.exe_flags = r.exe_flags;
  e.syscall_nr = r.syscall_nr;
  e.vpid = r.vpid;
  e.image = r.image;
  e.ret = 0;
  PG_TRY(exe, str_at(rec, r.exe));
  PG_TRY(args, str_at(rec, r.args));
  PG_TRY(cwd, str_at(rec, r.cwd));
  PG_TRY(env, str_at(rec, r.env));
  fill_walk(exe, r.exe, e.exe);
  if ((r.exe_flags & PG_EXE_FROM_MEMFD) && !exe.empty()) {
    // A memfd lives on an internal mount no task can reach: Falco names
    // it by its file name alone ("memfd:NAME").
    e.exe.abs.assign(exe.substr(0, exe.find('\0')));
    e.exe.incomplete = false;
  }
  fill_walk(cwd, r.cwd, e.cwd);
  e.argv = split_argv(args);
  e.env.assign(env);
  e.env_known = !(r.env.flags & PG_SF_OMITTED);
  return {};
}

std::expected<void, std::string> decode_fork(std::span<const std::byte> rec, Event& e) {
  PG_TRY(r, read_fixed<pg_fork_rec>(rec, "fork"));
  fill_task(r.task, e.task);
  e.child_tgid = r.child_tgid;
  e.child_start_ns = r.child_start_ns;
  e.syscall_nr = r.syscall_nr;
  e.vpid = r.child_vpid;
  e.ret = r.child_tgid;
  return {};
}

std::expected<void, std::string> decode_exit(std::span<const std::byte> rec, Event& e) {
  PG_TRY(r, read_fixed<pg_exit_rec>(rec, "exit"));
  fill_task(r.task, e.task);
  e.exit_code = r.exit_code;
  e.ret = 0;
  return {};
}

std::expected<void, std::string> decode_open(std::span<const std::byte> rec, Event& e) {
  PG_TRY(r, read_fixed<pg_open_rec>(rec, "open"));
  fill_task(r.task, e.task);
  fill_verdict(r.verdict, e);
  e.ret = r.ret;
  e.open_kind = r.kind;
  e.open_flags = r.flags;
  e.open_mode = r.mode;
  e.dirfd = r.dirfd;
  if (auto ok = fill_path(rec, r.path, r.base, e.path); !ok) return ok;
  // A successful open is named by the file it opened (the kernel walked
  // it from the descriptor's struct file); the argument stays in raw.
  PG_TRY(name, str_at(rec, r.name));
  if (r.name.off != 0 && !str_incomplete(r.name)) {
    e.path.abs = path_from_components(name);
    e.path.incomplete = false;
  }
  return {};
}

std::expected<void, std::string> decode_pathop(std::span<const std::byte> rec, Event& e) {
  PG_TRY(r, read_fixed<pg_pathop_rec>(rec, "path operation"));
  if (r.kind < PG_PO_SYMLINK || r.kind >= PG_PO__END)
    return std::unexpected(fmt::format("path operation record of unknown kind {}", r.kind));
  fill_task(r.task, e.task);
  fill_verdict(r.verdict, e);
  e.ret = r.ret;
  e.pathop_kind = r.kind;
  e.dirfd = r.dirfd1;
  e.dirfd2 = r.dirfd2;
  e.op_flags = r.flags;
  e.op_mode = r.mode;
  if (auto ok = fill_path(rec, r.path1, r.base1, e.path); !ok) return ok;
  if (policy::pathop_arg1_as_is(r.kind)) {
    // A symlink's target (a mount's source, a memfd's name) is a string,
    // not a file name.
    e.path.abs = e.path.raw;
    e.path.incomplete = str_incomplete(r.path1) || r.path1.off == 0;
  }
  PG_TRY(extra, str_at(rec, r.extra));
  e.extra.assign(extra);
  e.extra_incomplete = str_incomplete(r.extra) || r.extra.off == 0;
  e.path2 = {};
  if (r.path2.off == 0 && !str_incomplete(r.path2)) return {};  // one path
  return fill_path(rec, r.path2, r.base2, e.path2);
}

std::expected<void, std::string> decode_args(std::span<const std::byte> rec, Event& e) {
  PG_TRY(r, read_fixed<pg_args_rec>(rec, "syscall arguments"));
  if (r.kind < 1 || r.kind >= PG_AK__END)
    return std::unexpected(fmt::format("syscall arguments record of unknown kind {}", r.kind));
  fill_task(r.task, e.task);
  fill_verdict(r.verdict, e);
  e.ret = r.ret;
  e.args_kind = r.kind;
  std::copy(std::begin(r.args), std::end(r.args), e.args.begin());
  e.fd = r.fd.num;
  e.fd_mode = r.fd.mode;
  e.sock_family = r.fd.sock_family;
  e.fd_flags = r.fd.flags;
  e.sock_type = r.fd.sock_type;
  e.protocol = r.fd.protocol;
  fill_sockaddr(r.fd.local, e.local);
  fill_sockaddr(r.fd.remote, e.remote);
  e.path = {};
  if (r.fd.mode == 0) return {};
  if ((r.fd.mode & PG_S_IFMT) == PG_S_IFSOCK) {  // a unix socket's name, as is
    PG_TRY(name, str_at(rec, r.fd.path));
    e.path.raw.assign(name);
    e.path.abs.assign(name);
    e.path.incomplete = str_incomplete(r.fd.path);
    return {};
  }
  PG_TRY(walk, str_at(rec, r.fd.path));
  fill_walk(walk, r.fd.path, e.path);
  return {};
}

std::expected<void, std::string> decode_connect(std::span<const std::byte> rec, Event& e) {
  PG_TRY(r, read_fixed<pg_connect_rec>(rec, "connect"));
  fill_task(r.task, e.task);
  fill_verdict(r.verdict, e);
  e.ret = r.ret;
  e.fd = r.fd;
  e.sock_type = r.sock_type;
  e.protocol = r.protocol;
  fill_sockaddr(r.remote, e.remote);
  fill_sockaddr(r.local, e.local);
  PG_TRY(upath, str_at(rec, r.unix_path));
  e.path.raw.assign(upath);
  e.path.abs.assign(upath);
  e.path.incomplete = str_incomplete(r.unix_path);
  return {};
}

}  // namespace

Clock::Clock() { refresh(); }

void Clock::refresh() { offset_ns_ = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME); }

std::expected<void, std::string> decode_record(std::span<const std::byte> rec, const Clock& clock,
                                               Event& out) {
  if (rec.size() < sizeof(pg_hdr))
    return std::unexpected(fmt::format("record of {} bytes has no header", rec.size()));
  pg_hdr h;
  std::memcpy(&h, rec.data(), sizeof(h));
  if (h.size > rec.size() || h.size < sizeof(pg_hdr))
    return std::unexpected(
        fmt::format("record header claims {} bytes but {} arrived", h.size, rec.size()));
  rec = rec.first(h.size);
  out.flags = h.flags;
  out.filtered = false;
  out.boot_ns = h.ts_ns;
  out.time_ns = clock.to_realtime(h.ts_ns);
  // One row per record type (enum pg_rec_type): its event kind and decoder.
  using Decoder = std::expected<void, std::string> (*)(std::span<const std::byte>, Event&);
  struct Row {
    uint16_t type;
    EventKind kind;
    Decoder decode;
  };
  static constexpr Row kRows[] = {
      {PG_REC_EXEC, EventKind::Exec, decode_exec},
      {PG_REC_FORK, EventKind::Fork, decode_fork},
      {PG_REC_EXIT, EventKind::Exit, decode_exit},
      {PG_REC_OPEN, EventKind::Open, decode_open},
      {PG_REC_CONNECT, EventKind::Connect, decode_connect},
      {PG_REC_PATHOP, EventKind::PathOp, decode_pathop},
      {PG_REC_ARGS, EventKind::Args, decode_args},
  };
  for (const Row& row : kRows)
    if (row.type == h.type) {
      out.kind = row.kind;
      return row.decode(rec, out);
    }
  return std::unexpected(fmt::format("unknown record type {}", h.type));
}

std::string SockAddr::to_ip() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET) return inet_ntop(AF_INET, addr.data(), buf, sizeof(buf)) ? buf : "";
  if (family == AF_INET6) return inet_ntop(AF_INET6, addr.data(), buf, sizeof(buf)) ? buf : "";
  return "";
}

std::string_view pathop_name(uint16_t kind) {
  return kind >= PG_PO_SYMLINK && kind < PG_PO__END ? policy::kPathOps[kind].name : "unknown";
}

std::string_view numeric_syscall_name(uint16_t kind) {
  return kind >= 1 && kind < PG_AK__END ? policy::kNumericSyscalls[kind].name : "unknown";
}

std::string_view Event::type_name() const {
  switch (kind) {
    case EventKind::Exec:
      return syscall_nr == SYS_execveat ? "execveat" : "execve";
    // Processes the kernel starts itself are reported as clone.
    case EventKind::Fork:
      switch (syscall_nr) {
        case SYS_fork:
          return "fork";
        case SYS_vfork:
          return "vfork";
        case SYS_clone3:
          return "clone3";
        default:
          return "clone";
      }
    case EventKind::Exit:
      return "procexit";
    case EventKind::Connect:
      return "connect";
    case EventKind::PathOp:
      return pathop_name(pathop_kind);
    case EventKind::Args:
      return numeric_syscall_name(args_kind);
    case EventKind::Open:
      switch (open_kind) {
        case PG_OPEN_OPEN:
          return "open";
        case PG_OPEN_OPENAT2:
          return "openat2";
        case PG_OPEN_CREAT:
          return "creat";
        default:
          return "openat";
      }
  }
  return "unknown";
}

}  // namespace pg::user
