#include "user/cli/trace_output.h"

#include <fmt/format.h>

#include <array>
#include <span>
#include <string_view>
#include <vector>

#include "policy/pathop_args.h"
#include "policy/syscall_args.h"
#include "user/engine/extract.h"
#include "user/io/output_file.h"

namespace pg::user {

using nlohmann::ordered_json;

namespace {

// What `trace` prints: Falco field names, extracted exactly as rules see
// them, so the trace of an event shows what a rule about it would match.
constexpr std::string_view kCommon[] = {
    "evt.num",       "evt.type",        "evt.time",      "evt.time.iso8601", "evt.rawtime",
    "evt.res",       "evt.rawres",      "evt.failed",    "proc.pid",         "thread.tid",
    "proc.ppid",     "proc.name",       "proc.exepath",  "proc.exe",         "proc.args",
    "proc.cmdline",  "proc.cwd",        "proc.tty",      "proc.sid",         "proc.pname",
    "user.uid",      "user.name",       "user.loginuid", "group.gid",        "container.id",
    "evt.is_compat", "evt.is_io_uring",
};
constexpr std::string_view kOpen[] = {
    "fd.name",      "fd.directory",  "fd.filename",      "fd.num",
    "fd.type",      "fd.typechar",   "evt.arg.name",     "evt.arg.flags",
    "evt.arg.mode", "evt.arg.dirfd", "evt.is_open_read", "evt.is_open_write",
};
constexpr std::string_view kConnect[] = {
    "fd.num",   "fd.type", "fd.typechar", "fd.l4proto", "fd.sip",   "fd.sport", "fd.cip",
    "fd.cport", "fd.rip",  "fd.rport",    "fd.lip",     "fd.lport", "fd.name",
};
// Numeric-argument syscalls that name a descriptor: what the kernel found.
constexpr std::string_view kFd[] = {
    "fd.num",   "fd.type", "fd.typechar", "fd.name",      "fd.l4proto",      "fd.sip",
    "fd.sport", "fd.cip",  "fd.cport",    "fd.connected", "fd.name_changed",
};
constexpr std::string_view kExec[] = {"evt.arg.filename", "proc.is_exe_from_memfd",
                                      "proc.is_exe_upper_layer", "thread.cap_effective"};
// Numeric-argument syscalls: every argument, by its Falco name.
const std::vector<engine::BoundField>& numeric_fields(uint16_t kind) {
  static const auto per_kind = [] {
    std::array<std::vector<engine::BoundField>, PG_AK__END> out;
    for (uint16_t k = 1; k < PG_AK__END; ++k)
      for (const auto& a : policy::kNumericSyscalls[k].args)
        if (!a.name.empty())
          if (auto b = engine::bind_field_name("evt.arg." + std::string(a.name)))
            out[k].push_back(std::move(*b));
    return out;
  }();
  static const std::vector<engine::BoundField> none;
  return kind < PG_AK__END ? per_kind[kind] : none;
}
// Path operations: every argument of the syscall, by its Falco name.
const std::vector<engine::BoundField>& pathop_fields(uint16_t kind) {
  static const auto per_kind = [] {
    std::array<std::vector<engine::BoundField>, PG_PO__END> out;
    for (uint16_t k = PG_PO_SYMLINK; k < PG_PO__END; ++k)
      for (const auto& [name, _] : policy::kPathOps[k].args)
        if (!name.empty())
          if (auto b = engine::bind_field_name("evt.arg." + std::string(name)))
            out[k].push_back(std::move(*b));
    return out;
  }();
  static const std::vector<engine::BoundField> none;
  return kind < PG_PO__END ? per_kind[kind] : none;
}
constexpr std::string_view kFork[] = {"evt.arg.child_pid"};
constexpr std::string_view kExit[] = {"evt.arg.status"};

ordered_json to_json(const engine::Value& v) {
  using K = engine::Value::Kind;
  switch (v.kind) {
    case K::Str:
      return std::string(v.str);
    case K::Int:
      return v.num;
    case K::Bool:
      return bool(v.num);
    case K::List:
      return *v.list;
    default:
      return nullptr;
  }
}

std::vector<engine::BoundField> bind_all(std::span<const std::string_view> names) {
  std::vector<engine::BoundField> out;
  for (auto n : names)
    if (auto b = engine::bind_field_name(n)) out.push_back(std::move(*b));
  return out;
}

}  // namespace

ordered_json event_to_json(const Event& e, const ProcessTable& procs, uint64_t num,
                           CgroupMap* cgroups) {
  static const auto common = bind_all(kCommon), open = bind_all(kOpen),
                    connect = bind_all(kConnect), exec = bind_all(kExec), fork = bind_all(kFork),
                    exit = bind_all(kExit), fd = bind_all(kFd);
  const std::vector<engine::BoundField>* extra = nullptr;
  switch (e.kind) {
    case EventKind::Open:
      extra = &open;
      break;
    case EventKind::Connect:
      extra = &connect;
      break;
    case EventKind::Exec:
      extra = &exec;
      break;
    case EventKind::Fork:
      extra = &fork;
      break;
    case EventKind::Exit:
      extra = &exit;
      break;
    case EventKind::PathOp:
      extra = &pathop_fields(e.pathop_kind);
      break;
    case EventKind::Args:
      extra = &numeric_fields(e.args_kind);
      break;
  }
  engine::EventView v{e, procs, procs.find(e.task.tgid), num, "", cgroups};
  ordered_json j;
  std::string scratch;
  for (const auto& f : common) j[f.name] = to_json(engine::extract(f, v, scratch));
  for (const auto& f : *extra) j[f.name] = to_json(engine::extract(f, v, scratch));
  if (e.kind == EventKind::Args && (e.fd >= 0 || e.fd_mode != 0))
    for (const auto& f : fd) j[f.name] = to_json(engine::extract(f, v, scratch));
  return j;
}

std::string event_to_text(const ordered_json& f) {
  auto str = [&](const char* key) -> std::string {
    auto it = f.find(key);
    if (it == f.end() || it->is_null()) return "<NA>";
    return it->is_string() ? it->get<std::string>() : it->dump();
  };
  std::string out = fmt::format("{} {} {}({}) uid={} res={}", str("evt.time"), str("evt.type"),
                                str("proc.name"), str("proc.pid"), str("user.uid"), str("evt.res"));
  if (f.contains("fd.name")) {
    for (const char* key : {"fd.name", "evt.arg.flags"})
      if (f.contains(key)) out += fmt::format(" {}={}", key, str(key));
  } else {
    // Events without a file descriptor (path operations): every argument.
    for (const auto& [key, _] : f.items())
      if (key.starts_with("evt.arg.")) out += fmt::format(" {}={}", key, str(key.c_str()));
  }
  if (f.contains("proc.cmdline")) out += fmt::format(" proc.cmdline={}", str("proc.cmdline"));
  // One event per line, whatever a file name or an argument holds.
  return io::escape_controls(out);
}

}  // namespace pg::user
