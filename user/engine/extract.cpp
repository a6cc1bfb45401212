#include "user/engine/extract.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <ctime>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "policy/pathop_args.h"
#include "policy/syscall_args.h"
#include "user/engine/arg_format.h"
#include "user/engine/extract_call.h"
#include "user/engine/extract_container.h"
#include "user/engine/extract_fd.h"
#include "user/engine/extract_misc.h"
#include "user/host.h"
#include "user/path.h"

namespace pg::user::engine {

namespace {

using V = Value;
using K = EventKind;

const Process* ancestor(const EventView& v, int n) {
  const Process* p = v.proc;
  for (int i = 0; i < n && p; ++i)
    p = (p->ppid && p->ppid != p->pid) ? v.procs.find(p->ppid) : nullptr;
  return p;
}

bool is_open(const Event& e) { return e.kind == K::Open; }
// ---- evt.* ---------------------------------------------------------------
V evt_num(const EventView& v, const FieldArg&, std::string&) { return V::of_int(int64_t(v.num)); }
V evt_type(const EventView& v, const FieldArg&, std::string&) { return V::of(v.evt.type_name()); }
V evt_dir(const EventView&, const FieldArg&, std::string&) { return V::of("<"); }
V evt_source(const EventView&, const FieldArg&, std::string&) { return V::of("syscall"); }
V evt_hostname(const EventView& v, const FieldArg&, std::string&) { return V::of(v.hostname); }
V evt_rawtime(const EventView& v, const FieldArg&, std::string&) {
  return V::of_int(int64_t(v.evt.time_ns));
}
V evt_rawtime_s(const EventView& v, const FieldArg&, std::string&) {
  return V::of_int(int64_t(v.evt.time_ns / 1'000'000'000));
}
V evt_rawtime_ns(const EventView& v, const FieldArg&, std::string&) {
  return V::of_int(int64_t(v.evt.time_ns % 1'000'000'000));
}
V evt_time(const EventView& v, const FieldArg&, std::string& s) {
  time_t secs = time_t(v.evt.time_ns / 1'000'000'000);
  struct tm tm {};
  localtime_r(&secs, &tm);
  s = fmt::format("{:02}:{:02}:{:02}.{:09}", tm.tm_hour, tm.tm_min, tm.tm_sec,
                  v.evt.time_ns % 1'000'000'000);
  return V::of(s);
}
V evt_time_iso(const EventView& v, const FieldArg&, std::string& s) {
  s = format_rfc3339_ns(v.evt.time_ns);
  return V::of(s);
}
V evt_res(const EventView& v, const FieldArg&, std::string& s) {
  s = format_res(v.evt.ret);
  return V::of(s);
}
V evt_rawres(const EventView& v, const FieldArg&, std::string&) { return V::of_int(v.evt.ret); }
V evt_failed(const EventView& v, const FieldArg&, std::string&) {
  return V::of_bool(v.evt.ret < 0);
}
V evt_is_open_read(const EventView& v, const FieldArg&, std::string&) {
  if (!is_open(v.evt)) return V::of_bool(false);
  return V::of_bool((v.evt.open_flags & O_ACCMODE) != O_WRONLY);
}
V evt_is_open_write(const EventView& v, const FieldArg&, std::string&) {
  if (!is_open(v.evt)) return V::of_bool(false);
  return V::of_bool((v.evt.open_flags & O_ACCMODE) != O_RDONLY);
}
V evt_is_open_exec(const EventView& v, const FieldArg&, std::string&) {
  if (!is_open(v.evt)) return V::of_bool(false);
  // Falco reports files opened for execution (O_EXEC is O_PATH on Linux).
  return V::of_bool(v.evt.open_flags & O_PATH);
}
V evt_is_compat(const EventView& v, const FieldArg&, std::string&) {
  return V::of_bool(v.evt.flags & PG_RF_COMPAT);
}
V evt_is_io_uring(const EventView& v, const FieldArg&, std::string&) {
  return V::of_bool(v.evt.flags & PG_RF_IO_URING);
}
V evt_is_open_create(const EventView& v, const FieldArg&, std::string&) {
  if (!is_open(v.evt)) return V::of_bool(false);
  return V::of_bool(v.evt.open_flags & O_CREAT);
}

// A path argument of a path operation as Falco shows it: resolved against
// its directory when that was known, else as passed.
V path_arg(const PathValue& p) { return p.abs.empty() ? str_or_na(p.raw) : V::of(p.abs); }

// evt.arg.NAME / evt.arg[NAME], formatted as Falco prints arguments.
V evt_arg(const EventView& v, const FieldArg& a, std::string& s) {
  const Event& e = v.evt;
  const std::string& k = a.key;
  if (k == "res" || (k == "fd" && is_open(e))) return V::of_int(e.ret);
  switch (e.kind) {
    case K::Open:
      if (k == "name" || k == "pathname" || k == "path") return V::of(e.path.raw);
      if (k == "flags") {
        s = format_open_flags(e.open_flags);
        return V::of(s);
      }
      if (k == "mode") {
        s = fmt::format("0{:o}", e.open_mode);
        return V::of(s);
      }
      if (k == "dirfd") return V::of_int(e.dirfd);
      break;
    case K::PathOp:
      switch (policy::pathop_arg(e.pathop_kind, k)) {
        case policy::PathOpArg::Path1:
          return path_arg(e.path);
        case policy::PathOpArg::Path2:
          return path_arg(e.path2);
        case policy::PathOpArg::Dirfd1:
          return V::of_int(e.dirfd);
        case policy::PathOpArg::Dirfd2:
          return V::of_int(e.dirfd2);
        case policy::PathOpArg::Flags:
          s = format_at_flags(e.pathop_kind, e.op_flags);
          return V::of(s);
        case policy::PathOpArg::Mode:
          s = format_mode(e.op_mode);
          return V::of(s);
        case policy::PathOpArg::Extra:
          return e.extra_incomplete ? V::na() : V::of(e.extra);
        case policy::PathOpArg::Ret:
          return V::of_int(e.ret);
        case policy::PathOpArg::None:
          break;
      }
      break;
    case K::Args: {
      const policy::NumericArg na = policy::numeric_arg(e.args_kind, k);
      if (na.format == policy::ArgFormat::None) break;
      const uint64_t raw = e.args[na.index];
      switch (na.format) {
        case policy::ArgFormat::Int:
          return V::of_int(int32_t(uint32_t(raw)));
        case policy::ArgFormat::Long:
          return V::of_int(int64_t(raw));
        case policy::ArgFormat::Uid: {
          // As Falco renders ids: the name when the host knows one.
          std::string_view n = user_name(uint32_t(raw));
          return n.empty() ? V::of_int(uint32_t(raw)) : V::of(n);
        }
        case policy::ArgFormat::Gid: {
          std::string_view n = group_name(uint32_t(raw));
          return n.empty() ? V::of_int(uint32_t(raw)) : V::of(n);
        }
        case policy::ArgFormat::SocketDomain:
          s = format_socket_domain(uint32_t(raw));
          return V::of(s);
        case policy::ArgFormat::PtraceRequest:
          s = format_ptrace_request(raw);
          return V::of(s);
        case policy::ArgFormat::CloneFlags:
          s = format_clone_flags(raw);
          return V::of(s);
        case policy::ArgFormat::Mode:
          s = format_mode(uint32_t(raw));
          return V::of(s);
        case policy::ArgFormat::Signal:
          s = format_signal(raw);
          return V::of(s);
        case policy::ArgFormat::PrctlOption:
          s = format_prctl_option(e.args[0]);
          return V::of(s);
        case policy::ArgFormat::PrctlName:
          // PR_SET_NAME's argument is the new comm, which the record's task
          // already carries (cut to 15 characters as the kernel does).
          return e.args[0] == PR_SET_NAME && e.ret == 0 ? V::of(e.task.comm) : V::na();
        case policy::ArgFormat::CapInheritable:
          s = format_capabilities(e.task.cap_inheritable);
          return V::of(s);
        case policy::ArgFormat::CapPermitted:
          s = format_capabilities(e.task.cap_permitted);
          return V::of(s);
        case policy::ArgFormat::CapEffective:
          s = format_capabilities(e.task.cap_effective);
          return V::of(s);
        case policy::ArgFormat::None:
          break;
      }
      break;
    }
    case K::Connect:
      if (k == "fd") return V::of_int(e.fd);
      if (k == "addr" || k == "tuple") {
        if (e.remote.family == AF_UNIX) return V::of(e.path.abs);
        s = fmt::format("{}:{}", e.remote.to_ip(), e.remote.port);
        return V::of(s);
      }
      break;
    case K::Exec:
      if (k == "exe") return v.proc && !v.proc->argv.empty() ? V::of(v.proc->argv[0]) : V::na();
      if (k == "filename" || k == "exepath") return str_or_na(e.exe.abs);
      if (k == "cwd") return str_or_na(e.cwd.abs);
      break;
    case K::Fork:
      if (k == "pid" || k == "child_pid") return V::of_int(e.child_tgid);
      break;
    case K::Exit:
      if (k == "status") return V::of_int(e.exit_code);
      break;
  }
  return V::na();
}

// evt.args: every argument as "name=value", in the syscall's order.
V evt_args(const EventView& v, const FieldArg&, std::string& s) {
  const Event& e = v.evt;
  std::vector<std::string_view> names;
  switch (e.kind) {
    case K::Open:
      names = {"fd", "dirfd", "name", "flags", "mode"};
      break;
    case K::Connect:
      names = {"fd", "tuple"};
      break;
    case K::PathOp:
      if (e.pathop_kind < PG_PO__END)
        for (const auto& [n, _] : policy::kPathOps[e.pathop_kind].args)
          if (!n.empty()) names.push_back(n);
      break;
    case K::Args:
      if (e.args_kind < PG_AK__END)
        for (const auto& a : policy::kNumericSyscalls[e.args_kind].args)
          if (!a.name.empty()) names.push_back(a.name);
      break;
    case K::Exec:
      names = {"filename"};
      break;
    case K::Fork:
      names = {"child_pid"};
      break;
    case K::Exit:
      names = {"status"};
      break;
  }
  std::string out = e.kind == K::Open ? "" : fmt::format("res={}", e.ret);
  std::string scratch;
  for (auto n : names) {
    FieldArg a;
    a.key = std::string(n);
    V val = evt_arg(v, a, scratch);
    if (!out.empty()) out += ' ';
    out += fmt::format("{}={}", n, render_value(val));
  }
  s = std::move(out);
  return V::of(s);
}

V evt_rawarg(const EventView& v, const FieldArg& a, std::string& s) {
  const Event& e = v.evt;
  if (is_open(e) && a.key == "flags") return V::of_int(int64_t(e.open_flags));
  if (is_open(e) && a.key == "mode") return V::of_int(e.open_mode);
  if (e.kind == K::Args) {
    const policy::NumericArg na = policy::numeric_arg(e.args_kind, a.key);
    if (na.format != policy::ArgFormat::None) return V::of_int(int64_t(e.args[na.index]));
  }
  if (e.kind == K::PathOp) {
    const auto which = policy::pathop_arg(e.pathop_kind, a.key);
    if (which == policy::PathOpArg::Flags) return V::of_int(e.op_flags);
    if (which == policy::PathOpArg::Mode) return V::of_int(e.op_mode);
  }
  return evt_arg(v, a, s);
}

// ---- proc.*, thread.*, user.*, group.* -----------------------------------
V proc_pid(const EventView& v, const FieldArg&, std::string&) { return V::of_int(v.evt.task.tgid); }
V thread_tid(const EventView& v, const FieldArg&, std::string&) {
  return V::of_int(v.evt.task.tid);
}
V proc_ppid(const EventView& v, const FieldArg&, std::string&) {
  return V::of_int(v.evt.task.ppid);
}
V proc_name(const EventView& v, const FieldArg&, std::string&) { return V::of(v.evt.task.comm); }
V proc_exe(const EventView& v, const FieldArg&, std::string&) {
  return v.proc && !v.proc->argv.empty() ? V::of(v.proc->argv[0]) : V::na();
}
V proc_exepath(const EventView& v, const FieldArg&, std::string&) {
  return v.proc ? str_or_na(v.proc->exepath) : V::na();
}
V proc_args(const EventView& v, const FieldArg& a, std::string& s) {
  if (!v.proc) return V::na();
  if (a.index >= 0) {  // proc.args[N]: argv[N + 1], as libs counts
    if (size_t(a.index) + 1 >= v.proc->argv.size()) return V::na();
    return V::of(v.proc->argv[size_t(a.index) + 1]);
  }
  s = render_args(*v.proc);
  return V::of(s);
}
// proc.env: every NAME=value entry, space-joined, as Falco prints it;
// proc.env[NAME]: that variable's value.
V proc_env(const EventView& v, const FieldArg& a, std::string& s) {
  if (!v.proc || !v.proc->env_known) return V::na();
  s.clear();
  std::string_view env = v.proc->env;
  while (!env.empty()) {
    const size_t end = env.find('\0');
    std::string_view entry = env.substr(0, end);
    env.remove_prefix(end == std::string_view::npos ? env.size() : end + 1);
    if (entry.empty()) continue;
    if (a.key.empty()) {
      if (!s.empty()) s += ' ';
      s.append(entry);
    } else if (entry.size() > a.key.size() && entry.starts_with(a.key) &&
               entry[a.key.size()] == '=') {
      s.assign(entry.substr(a.key.size() + 1));
      return V::of(s);
    }
  }
  return a.key.empty() ? V::of(s) : V::na();
}
V proc_cmdline(const EventView& v, const FieldArg&, std::string& s) {
  if (!v.proc) return V::na();
  std::string args = render_args(*v.proc);
  s = args.empty() ? v.evt.task.comm : v.evt.task.comm + " " + args;
  return V::of(s);
}
V proc_cwd(const EventView& v, const FieldArg&, std::string& s) {
  if (!v.proc || v.proc->cwd.empty()) return V::na();
  s = v.proc->cwd == "/" ? "/" : v.proc->cwd + "/";
  return V::of(s);
}
V proc_tty(const EventView& v, const FieldArg&, std::string&) {
  return v.proc ? V::of_int(v.proc->tty) : V::na();
}
template <uint64_t TaskInfo::*Set>
V thread_caps(const EventView& v, const FieldArg&, std::string& s) {
  s = format_capabilities(v.evt.task.*Set);
  return V::of(s);
}
template <uint32_t Flag>
V proc_exe_flag(const EventView& v, const FieldArg&, std::string&) {
  return v.proc ? V::of_bool(v.proc->exe_flags & Flag) : V::na();
}
V proc_vpid(const EventView& v, const FieldArg&, std::string&) {
  if (v.proc && v.proc->vpid) return V::of_int(v.proc->vpid);
  return V::of_int(v.evt.task.tgid);
}
V proc_sid(const EventView& v, const FieldArg&, std::string&) {
  return v.proc ? V::of_int(v.proc->sid) : V::na();
}
// The session leader's name: the process whose pid is the session id, or
// else the eldest ancestor still in the session (as Falco looks it up).
V proc_sname(const EventView& v, const FieldArg&, std::string&) {
  if (!v.proc || !v.proc->sid) return V::na();
  const Process* eldest = nullptr;
  const Process* p = v.proc;
  for (int depth = 0; p && p->sid == v.proc->sid && depth < 64; ++depth) {
    if (p->pid == p->sid) return V::of(p->comm);
    eldest = p;
    p = (p->ppid && p->ppid != p->pid) ? v.procs.find(p->ppid) : nullptr;
  }
  return eldest ? V::of(eldest->comm) : V::na();
}
V proc_loginuid(const EventView& v, const FieldArg&, std::string&) {
  return V::of_int(v.evt.task.loginuid == UINT32_MAX ? -1 : int64_t(v.evt.task.loginuid));
}
V proc_duration(const EventView& v, const FieldArg&, std::string&) {
  if (!v.proc || !v.proc->start_ns || v.evt.boot_ns < v.proc->start_ns) return V::na();
  return V::of_int(int64_t(v.evt.boot_ns - v.proc->start_ns));
}
V thread_ismain(const EventView& v, const FieldArg&, std::string&) {
  return V::of_bool(v.evt.task.tid == v.evt.task.tgid);
}

// Ancestors: proc.aname[0] is the process, [1] its parent, ...; without an
// index the value is every ancestor (parent upwards).
template <Value (*Of)(const Process&, std::string&)>
V ancestor_field(const EventView& v, const FieldArg& a, std::string& s) {
  if (a.index >= 0) {
    const Process* p = ancestor(v, a.index);
    return p ? Of(*p, s) : V::na();
  }
  thread_local std::vector<std::string> all;
  all.clear();
  std::string tmp;
  for (const Process* p = ancestor(v, 1); p && all.size() < 64;) {
    Value x = Of(*p, tmp);
    if (x.kind == Value::Kind::Str)
      all.emplace_back(x.str);
    else if (x.kind == Value::Kind::Int)
      all.push_back(std::to_string(x.num));
    const Process* up = (p->ppid && p->ppid != p->pid) ? v.procs.find(p->ppid) : nullptr;
    p = up;
  }
  return all.empty() ? V::na() : V::of_list(&all);
}
V of_name(const Process& p, std::string&) { return V::of(p.comm); }
V of_pid(const Process& p, std::string&) { return V::of_int(p.pid); }
V of_exe(const Process& p, std::string&) { return p.argv.empty() ? V::na() : V::of(p.argv[0]); }
V of_exepath(const Process& p, std::string&) { return str_or_na(p.exepath); }
V of_cmdline(const Process& p, std::string& s) {
  s = render_cmdline(p);
  return V::of(s);
}

template <Value (*Of)(const Process&, std::string&)>
V parent_field(const EventView& v, const FieldArg&, std::string& s) {
  const Process* p = v.procs.find(v.evt.task.ppid);
  return p ? Of(*p, s) : V::na();
}

// Read by the kernel with the event (as the kernel filter judges it), so a
// parent renamed with prctl is seen as it is named now.
V proc_pname(const EventView& v, const FieldArg&, std::string&) {
  return v.evt.task.pcomm.empty() ? V::na() : V::of(v.evt.task.pcomm);
}

V user_uid(const EventView& v, const FieldArg&, std::string&) { return V::of_int(v.evt.task.uid); }
V user_name_f(const EventView& v, const FieldArg&, std::string&) {
  return str_or_na(user_name(v.evt.task.uid));
}
V user_loginname(const EventView& v, const FieldArg&, std::string&) {
  if (v.evt.task.loginuid == UINT32_MAX) return V::na();
  return str_or_na(user_name(v.evt.task.loginuid));
}
V group_gid(const EventView& v, const FieldArg&, std::string&) { return V::of_int(v.evt.task.gid); }
V group_name_f(const EventView& v, const FieldArg&, std::string&) {
  return str_or_na(group_name(v.evt.task.gid));
}

V thread_cgroup(const EventView& v, const FieldArg&, std::string&) {
  if (!v.cgroups) return V::na();
  const std::string* p = v.cgroups->path(v.evt.task.cgroup_id);
  return p ? V::of(*p) : V::na();
}

// The syscall extractors take the syscall view; SysEntry::fn is that typed
// function, and as_generic() below gives every table row an ExtractFn.
using SysFn = Value (*)(const EventView&, const FieldArg&, std::string&);
struct Entry {
  std::string_view name;
  SysFn fn;
};

constexpr Entry kExtractors[] = {
    {"evt.num", evt_num},
    {"evt.type", evt_type},
    {"syscall.type", evt_type},
    {"evt.dir", evt_dir},
    {"evt.source", evt_source},
    {"evt.hostname", evt_hostname},
    {"evt.time", evt_time},
    {"evt.time.iso8601", evt_time_iso},
    {"evt.rawtime", evt_rawtime},
    {"evt.rawtime.s", evt_rawtime_s},
    {"evt.rawtime.ns", evt_rawtime_ns},
    {"evt.res", evt_res},
    {"evt.rawres", evt_rawres},
    {"evt.failed", evt_failed},
    {"evt.is_open_read", evt_is_open_read},
    {"evt.is_open_write", evt_is_open_write},
    {"evt.is_open_exec", evt_is_open_exec},
    {"evt.is_open_create", evt_is_open_create},
    {"evt.is_compat", evt_is_compat},
    {"evt.is_io_uring", evt_is_io_uring},
    {"evt.arg", evt_arg},
    {"evt.args", evt_args},
    {"evt.rawarg", evt_rawarg},
    {"proc.pid", proc_pid},
    {"proc.vpid", proc_vpid},
    {"thread.tid", thread_tid},
    {"thread.vtid", thread_tid},
    {"thread.ismain", thread_ismain},
    {"proc.ppid", proc_ppid},
    {"proc.name", proc_name},
    {"proc.exe", proc_exe},
    {"proc.exepath", proc_exepath},
    {"proc.args", proc_args},
    {"proc.env", proc_env},
    {"proc.cmdline", proc_cmdline},
    {"proc.cwd", proc_cwd},
    {"proc.tty", proc_tty},
    {"proc.is_exe_from_memfd", proc_exe_flag<PG_EXE_FROM_MEMFD>},
    {"proc.is_exe_upper_layer", proc_exe_flag<PG_EXE_UPPER_LAYER>},
    {"thread.cap_effective", thread_caps<&TaskInfo::cap_effective>},
    {"thread.cap_permitted", thread_caps<&TaskInfo::cap_permitted>},
    {"thread.cap_inheritable", thread_caps<&TaskInfo::cap_inheritable>},
    {"proc.sid", proc_sid},
    {"proc.sname", proc_sname},
    {"proc.loginuid", proc_loginuid},
    {"proc.duration", proc_duration},
    {"proc.pname", proc_pname},
    {"proc.pexe", parent_field<of_exe>},
    {"proc.pexepath", parent_field<of_exepath>},
    {"proc.pcmdline", parent_field<of_cmdline>},
    {"proc.aname", ancestor_field<of_name>},
    {"proc.apid", ancestor_field<of_pid>},
    {"proc.aexe", ancestor_field<of_exe>},
    {"proc.aexepath", ancestor_field<of_exepath>},
    {"proc.acmdline", ancestor_field<of_cmdline>},
    {"user.uid", user_uid},
    {"user.name", user_name_f},
    {"user.loginuid", proc_loginuid},
    {"user.loginname", user_loginname},
    {"group.gid", group_gid},
    {"group.name", group_name_f},
    {"thread.cgroup", thread_cgroup},
};

// Row I of kExtractors as an ExtractFn. Safe because syscall rules are only
// ever evaluated against syscall views (the engine keeps rules per source).
template <size_t I>
V as_generic(const View& v, const FieldArg& a, std::string& s) {
  return kExtractors[I].fn(static_cast<const EventView&>(v), a, s);
}
template <size_t... I>
constexpr auto generic_table(std::index_sequence<I...>) {
  return std::array<ExtractFn, sizeof...(I)>{as_generic<I>...};
}
constexpr auto kGeneric = generic_table(std::make_index_sequence<std::size(kExtractors)>{});

}  // namespace

ExtractFn find_syscall_extractor(std::string_view name) {
  for (size_t i = 0; i < std::size(kExtractors); ++i)
    if (kExtractors[i].name == name) return kGeneric[i];
  if (ExtractFn fn = find_fd_extractor(name)) return fn;
  if (ExtractFn fn = find_misc_extractor(name)) return fn;
  return find_container_extractor(name);
}

}  // namespace pg::user::engine
