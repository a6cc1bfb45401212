#include "user/trace_format.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <cstring>
#include <ctime>

#include "user/path.h"

namespace pg::user {

using nlohmann::ordered_json;

std::string format_rfc3339_ns(uint64_t time_ns) {
  time_t secs = time_t(time_ns / 1'000'000'000);
  struct tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09}Z", buf, time_ns % 1'000'000'000);
}

std::string format_open_flags(uint64_t flags) {
  std::string out;
  switch (flags & O_ACCMODE) {
    case O_WRONLY: out = "O_WRONLY"; break;
    case O_RDWR: out = "O_RDWR"; break;
    default: out = "O_RDONLY"; break;
  }
  static constexpr std::pair<uint64_t, const char*> kBits[] = {
      {O_CREAT, "O_CREAT"},         {O_EXCL, "O_EXCL"},       {O_NOCTTY, "O_NOCTTY"},
      {O_TRUNC, "O_TRUNC"},         {O_APPEND, "O_APPEND"},   {O_NONBLOCK, "O_NONBLOCK"},
      {O_DSYNC, "O_DSYNC"},         {O_DIRECT, "O_DIRECT"},   {O_LARGEFILE, "O_LARGEFILE"},
      {O_NOFOLLOW, "O_NOFOLLOW"},   {O_NOATIME, "O_NOATIME"}, {O_CLOEXEC, "O_CLOEXEC"},
      {04000000 /* __O_SYNC: O_SYNC without O_DSYNC */, "O_SYNC"},         {O_PATH, "O_PATH"},
  };
  // O_TMPFILE contains O_DIRECTORY's bit; report whichever is set as a whole.
  if ((flags & O_TMPFILE) == O_TMPFILE) {
    out += "|O_TMPFILE";
  } else if (flags & O_DIRECTORY) {
    out += "|O_DIRECTORY";
  }
  for (auto [bit, name] : kBits)
    if (flags & bit) out += fmt::format("|{}", name);
  return out;
}

std::string format_res(int64_t ret) {
  if (ret >= 0) return "SUCCESS";
  const char* name = strerrorname_np(int(-ret));
  return name ? name : fmt::format("E{}", -ret);
}

namespace {

void add_process_fields(ordered_json& j, const Event& e, const ProcessTable& procs) {
  const Process* p = procs.find(e.task.tgid);
  j["proc.pid"] = e.task.tgid;
  j["thread.tid"] = e.task.tid;
  j["proc.ppid"] = e.task.ppid;
  j["proc.name"] = e.task.comm;
  if (p && !p->exepath.empty()) j["proc.exepath"] = p->exepath; else j["proc.exepath"] = nullptr;
  if (p && !p->argv.empty()) j["proc.exe"] = p->argv[0]; else j["proc.exe"] = nullptr;
  if (p) {
    j["proc.args"] = render_args(*p);
    Process view = *p;
    view.comm = e.task.comm;
    j["proc.cmdline"] = render_cmdline(view);
  } else {
    j["proc.args"] = nullptr;
    j["proc.cmdline"] = nullptr;
  }
  if (p && !p->cwd.empty()) j["proc.cwd"] = p->cwd + (p->cwd == "/" ? "" : "/"); else j["proc.cwd"] = nullptr;
  j["proc.tty"] = p ? ordered_json(p->tty) : ordered_json(nullptr);
  j["proc.sid"] = p ? ordered_json(p->sid) : ordered_json(nullptr);
  const Process* parent = procs.find(e.task.ppid);
  j["proc.pname"] = parent ? ordered_json(parent->comm) : ordered_json(nullptr);
  j["user.uid"] = e.task.uid;
  j["user.loginuid"] = e.task.loginuid == UINT32_MAX ? int64_t(-1) : int64_t(e.task.loginuid);
  j["group.gid"] = e.task.gid;
  j["proc.cgroup_id"] = e.task.cgroup_id;
}

void add_path_fields(ordered_json& j, const PathValue& path) {
  if (path.incomplete || path.abs.empty()) {
    j["fd.name"] = nullptr;
    j["fd.directory"] = nullptr;
    j["fd.filename"] = nullptr;
    return;
  }
  j["fd.name"] = path.abs;
  j["fd.directory"] = std::string(path_dirname(path.abs));
  j["fd.filename"] = std::string(path_basename(path.abs));
}

const char* l4proto_name(uint16_t type, uint16_t protocol) {
  if (protocol == IPPROTO_TCP || (protocol == 0 && type == SOCK_STREAM)) return "tcp";
  if (protocol == IPPROTO_UDP || (protocol == 0 && type == SOCK_DGRAM)) return "udp";
  if (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6) return "icmp";
  if (type == SOCK_RAW) return "raw";
  return nullptr;
}

void add_connect_fields(ordered_json& j, const Event& e) {
  j["fd.num"] = e.fd;
  const uint16_t fam = e.remote.family;
  if (fam == AF_INET || fam == AF_INET6) {
    const bool v4 = fam == AF_INET;
    j["fd.type"] = v4 ? "ipv4" : "ipv6";
    j["fd.typechar"] = v4 ? "4" : "6";
    const char* l4 = l4proto_name(e.sock_type, e.protocol);
    j["fd.l4proto"] = l4 ? ordered_json(l4) : ordered_json(nullptr);
    std::string sip = e.remote.to_ip();
    // The client side exists once the kernel bound the socket.
    bool have_local = e.local.family == fam && e.local.port != 0;
    std::string cip = have_local ? e.local.to_ip() : std::string();
    j["fd.sip"] = sip;
    j["fd.sport"] = e.remote.port;
    j["fd.rip"] = sip;
    j["fd.rport"] = e.remote.port;
    j["fd.cip"] = have_local ? ordered_json(cip) : ordered_json(nullptr);
    j["fd.cport"] = have_local ? ordered_json(e.local.port) : ordered_json(nullptr);
    j["fd.lip"] = j["fd.cip"];
    j["fd.lport"] = j["fd.cport"];
    auto ep = [&](const std::string& ip, uint16_t port) {
      return v4 ? fmt::format("{}:{}", ip, port) : fmt::format("[{}]:{}", ip, port);
    };
    j["fd.name"] = have_local ? ep(cip, e.local.port) + "->" + ep(sip, e.remote.port)
                              : ep(sip, e.remote.port);
  } else if (fam == AF_UNIX) {
    j["fd.type"] = "unix";
    j["fd.typechar"] = "u";
    j["fd.name"] = e.path.incomplete ? ordered_json(nullptr) : ordered_json(e.path.abs);
  } else {
    j["fd.type"] = nullptr;
    j["evt.arg.family"] = fam;
  }
}

}  // namespace

ordered_json event_to_json(const Event& e, const ProcessTable& procs, uint64_t num) {
  ordered_json j;
  j["evt.num"] = num;
  j["evt.type"] = e.type_name();
  j["evt.time"] = format_rfc3339_ns(e.time_ns);
  j["evt.rawtime"] = e.time_ns;
  j["evt.res"] = format_res(e.ret);
  j["evt.rawres"] = e.ret;
  j["evt.failed"] = e.ret < 0;
  add_process_fields(j, e, procs);
  switch (e.kind) {
    case EventKind::Exec:
      j["evt.arg.exe"] = e.exe.incomplete ? ordered_json(nullptr) : ordered_json(e.exe.abs);
      break;
    case EventKind::Fork:
      j["evt.arg.child_pid"] = e.child_tgid;
      break;
    case EventKind::Exit:
      j["evt.arg.status"] = e.exit_code;
      break;
    case EventKind::Open:
      add_path_fields(j, e.path);
      j["fd.num"] = e.ret >= 0 ? ordered_json(e.ret) : ordered_json(nullptr);
      j["fd.typechar"] = "f";
      j["fd.type"] = "file";
      j["evt.arg.name"] = e.path.raw;
      j["evt.arg.flags"] = format_open_flags(e.open_flags);
      j["evt.arg.mode"] = fmt::format("0{:o}", e.open_mode);
      if (e.open_kind != PG_OPEN_OPEN && e.open_kind != PG_OPEN_CREAT)
        j["evt.arg.dirfd"] = e.dirfd == PG_AT_FDCWD ? ordered_json("AT_FDCWD") : ordered_json(e.dirfd);
      j["evt.is_open_read"] = (e.open_flags & O_ACCMODE) != O_WRONLY;
      j["evt.is_open_write"] = (e.open_flags & O_ACCMODE) != O_RDONLY || (e.open_flags & O_TRUNC);
      break;
    case EventKind::Connect:
      add_connect_fields(j, e);
      break;
  }
  return j;
}

std::string event_to_text(const ordered_json& f) {
  auto str = [&](const char* key) -> std::string {
    auto it = f.find(key);
    if (it == f.end() || it->is_null()) return "<NA>";
    return it->is_string() ? it->get<std::string>() : it->dump();
  };
  std::string t = str("evt.time");
  // Time of day only, as Falco prints it on a terminal.
  std::string hms = t.size() > 11 ? t.substr(11, t.size() - 12) : t;
  std::string out = fmt::format("{} {} {}({}) uid={} res={}", hms, str("evt.type"), str("proc.name"),
                                str("proc.pid"), str("user.uid"), str("evt.res"));
  for (const char* key : {"fd.name", "evt.arg.flags", "proc.cmdline"}) {
    if (f.contains(key)) out += fmt::format(" {}={}", key, str(key));
  }
  return out;
}

}  // namespace pg::user
