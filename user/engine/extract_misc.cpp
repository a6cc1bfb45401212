// Syscall fields derived from what other extractors already read: time
// renderings, argument counts, the session leader test, and Falco's
// container-qualified descriptor names. Part of the extractor table of
// extract.cpp (find_syscall_extractor).
#include "user/engine/extract_misc.h"

#include <fmt/format.h>
#include <pwd.h>

#include <ctime>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "user/engine/extract.h"
#include "user/engine/extract_container.h"
#include "user/engine/extract_fd.h"
#include "user/process.h"

namespace pg::user::engine {
namespace {

using V = Value;

struct tm local_tm(int64_t ns) {
  time_t secs = time_t(ns / 1'000'000'000);
  struct tm tm {};
  localtime_r(&secs, &tm);
  return tm;
}

// Falco's renderings, in local time like evt.time; any source's view.
V evt_time_s(const View& v, const FieldArg&, std::string& s) {
  auto tm = local_tm(v.time_ns);
  s = fmt::format("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
  return V::of(s);
}
V evt_datetime(const View& v, const FieldArg&, std::string& s) {
  auto tm = local_tm(v.time_ns);
  s = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:09}", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, v.time_ns % 1'000'000'000);
  return V::of(s);
}
V evt_datetime_s(const View& v, const FieldArg&, std::string& s) {
  auto tm = local_tm(v.time_ns);
  s = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return V::of(s);
}
// evt.type.is[open]: whether the event is of that type.
V evt_type_is(const EventView& v, const FieldArg& a, std::string&) {
  return V::of_int(v.evt.type_name() == a.key ? 1 : 0);  // registered as a number, as Falco
}

// Arguments after argv[0]: how many, and their total length without the
// blanks between them (Falco's proc.cmdnargs, proc.cmdlenargs).
V proc_cmdnargs(const EventView& v, const FieldArg&, std::string&) {
  if (!v.proc) return V::na();
  return V::of_int(v.proc->argv.empty() ? 0 : int64_t(v.proc->argv.size() - 1));
}
V proc_cmdlenargs(const EventView& v, const FieldArg&, std::string&) {
  if (!v.proc) return V::na();
  int64_t n = 0;
  for (size_t i = 1; i < v.proc->argv.size(); ++i) n += int64_t(v.proc->argv[i].size());
  return V::of_int(n);
}
// proc.exe followed by proc.args.
V proc_exeline(const EventView& v, const FieldArg&, std::string& s) {
  if (!v.proc || v.proc->argv.empty()) return V::na();
  std::string args = render_args(*v.proc);
  s = args.empty() ? v.proc->argv[0] : v.proc->argv[0] + " " + args;
  return V::of(s);
}
V proc_is_sid_leader(const EventView& v, const FieldArg&, std::string&) {
  if (!v.proc || !v.proc->sid) return V::na();
  return V::of_bool(v.proc->sid == v.proc->pid);
}

// user.homedir / user.shell from the host's user database, looked up once
// per uid (entries are never removed, so the views stay valid).
const std::pair<std::string, std::string>& passwd_entry(uint32_t uid) {
  static std::unordered_map<uint32_t, std::pair<std::string, std::string>> cache;
  static std::mutex mu;
  std::lock_guard lock(mu);
  auto it = cache.find(uid);
  if (it != cache.end()) return it->second;
  struct passwd pw {};
  struct passwd* res = nullptr;
  char buf[4096];
  std::pair<std::string, std::string> e;
  if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
    e = {pw.pw_dir ? pw.pw_dir : "", pw.pw_shell ? pw.pw_shell : ""};
  return cache.emplace(uid, std::move(e)).first->second;
}
V user_homedir(const EventView& v, const FieldArg&, std::string&) {
  return str_or_na(passwd_entry(v.evt.task.uid).first);
}
V user_shell(const EventView& v, const FieldArg&, std::string&) {
  return str_or_na(passwd_entry(v.evt.task.uid).second);
}

// fd.containername / fd.containerdirectory: "<container.id>:<fd.name>".
template <const char* Fd>
V container_qualified(const View& view, const FieldArg& a, std::string& s) {
  static const ExtractFn id_fn = find_container_extractor("container.id");
  static const ExtractFn fd_fn = find_fd_extractor(Fd);
  std::string id_scratch;
  V id = id_fn(view, a, id_scratch);
  V fd = fd_fn(view, a, s);
  if (id.is_na() || fd.is_na() || fd.kind != V::Kind::Str) return V::na();
  std::string out = std::string(id.str) + ":" + std::string(fd.str);
  s = std::move(out);
  return V::of(s);
}
constexpr char kFdName[] = "fd.name";
constexpr char kFdDirectory[] = "fd.directory";

struct Row {
  std::string_view name;
  ExtractFn fn;
};
const Row kTimeRows[] = {
    {"evt.time.s", evt_time_s},
    {"evt.datetime", evt_datetime},
    {"evt.datetime.s", evt_datetime_s},
};
const Row kRows[] = {
    {"evt.type.is", on_view<evt_type_is>},
    {"proc.cmdnargs", on_view<proc_cmdnargs>},
    {"proc.cmdlenargs", on_view<proc_cmdlenargs>},
    {"proc.exeline", on_view<proc_exeline>},
    {"proc.is_sid_leader", on_view<proc_is_sid_leader>},
    {"user.homedir", on_view<user_homedir>},
    {"user.shell", on_view<user_shell>},
    {"fd.containername", container_qualified<kFdName>},
    {"fd.containerdirectory", container_qualified<kFdDirectory>},
};

}  // namespace

ExtractFn find_time_extractor(std::string_view name) {
  for (const auto& r : kTimeRows)
    if (r.name == name) return r.fn;
  return nullptr;
}

ExtractFn find_misc_extractor(std::string_view name) {
  for (const auto& r : kRows)
    if (r.name == name) return r.fn;
  return find_time_extractor(name);
}

}  // namespace pg::user::engine
