#include "user/procfs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "user/text.h"

namespace pg::user {

namespace {

std::optional<std::string> slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <class T>
bool to_num(std::string_view s, T& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

std::string read_link(const std::filesystem::path& p) {
  std::error_code ec;
  auto target = std::filesystem::read_symlink(p, ec);
  return ec ? std::string() : target.string();
}

}  // namespace

std::expected<ProcStat, std::string> parse_proc_stat(std::string_view text) {
  // "pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt
  //  majflt cmajflt utime stime cutime cstime priority nice num_threads
  //  itrealvalue starttime ..." — comm is everything between the first "("
  // and the last ")".
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return std::unexpected("no '(comm)' field");
  ProcStat st;
  if (!to_num(text.substr(0, open > 0 ? open - 1 : 0), st.pid))
    return std::unexpected("bad pid field");
  st.comm = std::string(text.substr(open + 1, close - open - 1));
  auto f = split(close + 2 < text.size() ? text.substr(close + 2) : std::string_view{}, ' ');
  // f[0]=state f[1]=ppid f[2]=pgrp f[3]=session f[4]=tty_nr ... f[19]=starttime
  if (f.size() < 20) return std::unexpected("too few fields after comm");
  st.state = f[0].empty() ? '?' : f[0][0];
  int64_t tty = 0;
  if (!to_num(f[1], st.ppid) || !to_num(f[3], st.sid) || !to_num(f[4], tty) ||
      !to_num(f[19], st.start_ticks))
    return std::unexpected("non-numeric ppid, session, tty or starttime");
  st.tty = uint32_t(tty);
  return st;
}

std::optional<uint32_t> parse_status_id(std::string_view status, std::string_view key) {
  for (std::string_view line : split(status, '\n')) {
    if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ':') continue;
    // "Uid:\treal\teffective\tsaved\tfs"
    std::istringstream in{std::string(line.substr(key.size() + 1))};
    uint32_t real = 0, effective = 0;
    if (in >> real >> effective) return effective;
    return std::nullopt;
  }
  return std::nullopt;
}

// The innermost pid of "NSpid:\touter\t...\tinner".
std::optional<uint32_t> parse_status_nspid(std::string_view status) {
  for (std::string_view line : split(status, '\n')) {
    if (!line.starts_with("NSpid:")) continue;
    std::istringstream in{std::string(line.substr(6))};
    uint32_t v = 0, last = 0;
    bool any = false;
    while (in >> v) last = v, any = true;
    return any ? std::optional(last) : std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::string> parse_cgroup_v2_path(std::string_view text) {
  for (std::string_view line : split(text, '\n')) {
    if (line.starts_with("0::")) return std::string(line.substr(3));
  }
  return std::nullopt;
}

ProcFs::ProcFs(std::filesystem::path proc_root, std::filesystem::path cgroup_root)
    : proc_(std::move(proc_root)),
      cgroup_(std::move(cgroup_root)),
      ticks_per_sec_(sysconf(_SC_CLK_TCK)) {}

std::expected<Process, std::string> ProcFs::read_process(uint32_t pid) const {
  auto dir = proc_ / std::to_string(pid);
  auto stat_text = slurp(dir / "stat");
  if (!stat_text) return std::unexpected("cannot read " + (dir / "stat").string());
  auto st = parse_proc_stat(*stat_text);
  if (!st) return std::unexpected((dir / "stat").string() + ": " + st.error());

  Process p;
  p.pid = pid;
  p.ppid = st->ppid;
  p.comm = st->comm;
  p.sid = st->sid;
  p.tty = st->tty;
  if (ticks_per_sec_ > 0)
    p.start_ns = st->start_ticks * (1'000'000'000ull / uint64_t(ticks_per_sec_));
  if (auto status = slurp(dir / "status")) {
    p.uid = parse_status_id(*status, "Uid").value_or(0);
    p.gid = parse_status_id(*status, "Gid").value_or(0);
    p.vpid = parse_status_nspid(*status).value_or(p.pid);
  }
  if (auto cmdline = slurp(dir / "cmdline")) p.argv = split_argv(*cmdline);
  if (auto environ = slurp(dir / "environ")) p.env = std::move(*environ);
  if (auto loginuid = slurp(dir / "loginuid")) {
    int64_t v = -1;
    std::string_view s = *loginuid;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
    if (to_num(s, v)) p.loginuid = uint32_t(v);
  }
  p.exepath = read_link(dir / "exe");
  // A memfd's link reads "/memfd:NAME (deleted)".
  if (p.exepath.starts_with("/memfd:")) p.exe_flags |= PG_EXE_FROM_MEMFD;
  p.cwd = read_link(dir / "cwd");
  if (auto cg = slurp(dir / "cgroup")) {
    if (auto rel = parse_cgroup_v2_path(*cg)) {
      // A cgroup v2 id is the inode number of its directory, which is what
      // bpf_get_current_cgroup_id() reports for events.
      struct stat sb {};
      auto full = cgroup_ / std::filesystem::path(*rel).relative_path();
      if (::stat(full.c_str(), &sb) == 0) p.cgroup_id = sb.st_ino;
    }
  }
  return p;
}

size_t ProcFs::seed(ProcessTable& table) const {
  size_t n = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(proc_, ec)) {
    uint32_t pid = 0;
    if (!to_num(entry.path().filename().string(), pid)) continue;
    auto p = read_process(pid);
    if (!p) continue;  // exited while we were reading
    table.insert(std::move(*p));
    ++n;
  }
  return n;
}

}  // namespace pg::user
