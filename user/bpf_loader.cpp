#include "user/bpf_loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "peregrine.skel.h"

namespace pg::user {

namespace {

int libbpf_to_spdlog(enum libbpf_print_level level, const char* fmt, va_list args) {
  // Verifier logs arrive as one message of many kilobytes: size it first.
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return n;
  std::string buf(size_t(n) + 1, '\0');
  vsnprintf(buf.data(), buf.size(), fmt, args);
  buf.resize(size_t(n));
  std::string_view msg(buf);
  while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
  if (level == LIBBPF_WARN)
    spdlog::warn("libbpf: {}", msg);
  else
    spdlog::debug("libbpf: {}", msg);
  return n;
}

std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

// Whether the tracepoint a program attaches to exists: a kernel built
// without a syscall (CONFIG_MODULES off: init_module) has none for it.
// tracefs is mounted at one of two places (system.cpp makes sure).
bool tracepoint_exists(const bpf_program* prog) {
  std::string_view sec = bpf_program__section_name(prog);
  constexpr std::string_view kPrefix = "tracepoint/";
  if (!sec.starts_with(kPrefix)) return true;
  sec.remove_prefix(kPrefix.size());
  for (const char* tracefs : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
    if (access(fmt::format("{}/events/{}", tracefs, sec).c_str(), F_OK) == 0) return true;
  return false;
}

}  // namespace

const std::vector<HookInfo>& all_hooks() {
  static const std::vector<HookInfo> hooks = {
      {"execve", true, [](pg_bpf* s) { return s->progs.pg_exec; }, {"execve", "execveat"}},
      {"clone",
       true,
       [](pg_bpf* s) { return s->progs.pg_fork; },
       {"clone", "clone3", "fork", "vfork"}},
      {"procexit", true, [](pg_bpf* s) { return s->progs.pg_exit; }},
      // The process table follows the working directory.
      {"chdir", true, [](pg_bpf* s) { return s->progs.pg_exit_chdir; }},
      {"fchdir", true, [](pg_bpf* s) { return s->progs.pg_exit_fchdir; }},
      // Failed execs (successful ones come from the exec tracepoint).
      {"execve-failed", false, [](pg_bpf* s) { return s->progs.pg_exit_execve; }, {"execve"}},
      {"execveat-failed", false, [](pg_bpf* s) { return s->progs.pg_exit_execveat; }, {"execveat"}},
      {"open", false, [](pg_bpf* s) { return s->progs.pg_exit_open; }},
      {"openat", false, [](pg_bpf* s) { return s->progs.pg_exit_openat; }},
      {"openat2", false, [](pg_bpf* s) { return s->progs.pg_exit_openat2; }},
      {"creat", false, [](pg_bpf* s) { return s->progs.pg_exit_creat; }},
      {"connect", false, [](pg_bpf* s) { return s->progs.pg_exit_connect; }},
      {"symlink", false, [](pg_bpf* s) { return s->progs.pg_exit_symlink; }},
      {"symlinkat", false, [](pg_bpf* s) { return s->progs.pg_exit_symlinkat; }},
      {"link", false, [](pg_bpf* s) { return s->progs.pg_exit_link; }},
      {"linkat", false, [](pg_bpf* s) { return s->progs.pg_exit_linkat; }},
      {"unlink", false, [](pg_bpf* s) { return s->progs.pg_exit_unlink; }},
      {"unlinkat", false, [](pg_bpf* s) { return s->progs.pg_exit_unlinkat; }},
      {"rename", false, [](pg_bpf* s) { return s->progs.pg_exit_rename; }},
      {"renameat", false, [](pg_bpf* s) { return s->progs.pg_exit_renameat; }},
      {"renameat2", false, [](pg_bpf* s) { return s->progs.pg_exit_renameat2; }},
      {"mkdir", false, [](pg_bpf* s) { return s->progs.pg_exit_mkdir; }},
      {"mkdirat", false, [](pg_bpf* s) { return s->progs.pg_exit_mkdirat; }},
      {"rmdir", false, [](pg_bpf* s) { return s->progs.pg_exit_rmdir; }},
      {"chmod", false, [](pg_bpf* s) { return s->progs.pg_exit_chmod; }},
      {"fchmodat", false, [](pg_bpf* s) { return s->progs.pg_exit_fchmodat; }},
      {"socket", false, [](pg_bpf* s) { return s->progs.pg_exit_socket; }},
      {"ptrace", false, [](pg_bpf* s) { return s->progs.pg_exit_ptrace; }},
      {"setns", false, [](pg_bpf* s) { return s->progs.pg_exit_setns; }},
      {"unshare", false, [](pg_bpf* s) { return s->progs.pg_exit_unshare; }},
      {"setuid", false, [](pg_bpf* s) { return s->progs.pg_exit_setuid; }},
      {"setgid", false, [](pg_bpf* s) { return s->progs.pg_exit_setgid; }},
      {"bpf", false, [](pg_bpf* s) { return s->progs.pg_exit_bpf; }},
      {"listen", false, [](pg_bpf* s) { return s->progs.pg_exit_listen; }},
      {"fchmod", false, [](pg_bpf* s) { return s->progs.pg_exit_fchmod; }},
      {"dup", false, [](pg_bpf* s) { return s->progs.pg_exit_dup; }},
      {"dup2", false, [](pg_bpf* s) { return s->progs.pg_exit_dup2; }},
      {"dup3", false, [](pg_bpf* s) { return s->progs.pg_exit_dup3; }},
      {"accept", false, [](pg_bpf* s) { return s->progs.pg_exit_accept; }},
      {"accept4", false, [](pg_bpf* s) { return s->progs.pg_exit_accept4; }},
      {"sendto", false, [](pg_bpf* s) { return s->progs.pg_exit_sendto; }},
      {"sendmsg", false, [](pg_bpf* s) { return s->progs.pg_exit_sendmsg; }},
      {"mount", false, [](pg_bpf* s) { return s->progs.pg_exit_mount; }},
      {"umount2", false, [](pg_bpf* s) { return s->progs.pg_exit_umount; }},
      {"memfd_create", false, [](pg_bpf* s) { return s->progs.pg_exit_memfd_create; }},
      {"setresuid", false, [](pg_bpf* s) { return s->progs.pg_exit_setresuid; }},
      {"setresgid", false, [](pg_bpf* s) { return s->progs.pg_exit_setresgid; }},
      {"setreuid", false, [](pg_bpf* s) { return s->progs.pg_exit_setreuid; }},
      {"setregid", false, [](pg_bpf* s) { return s->progs.pg_exit_setregid; }},
      {"capset", false, [](pg_bpf* s) { return s->progs.pg_exit_capset; }},
      {"prctl", false, [](pg_bpf* s) { return s->progs.pg_exit_prctl; }},
      {"userfaultfd", false, [](pg_bpf* s) { return s->progs.pg_exit_userfaultfd; }},
      {"kill", false, [](pg_bpf* s) { return s->progs.pg_exit_kill; }},
      {"tkill", false, [](pg_bpf* s) { return s->progs.pg_exit_tkill; }},
      {"tgkill", false, [](pg_bpf* s) { return s->progs.pg_exit_tgkill; }},
      {"process_vm_readv", false, [](pg_bpf* s) { return s->progs.pg_exit_process_vm_readv; }},
      {"process_vm_writev", false, [](pg_bpf* s) { return s->progs.pg_exit_process_vm_writev; }},
      {"bind", false, [](pg_bpf* s) { return s->progs.pg_exit_bind; }},
      {"socketpair", false, [](pg_bpf* s) { return s->progs.pg_exit_socketpair; }},
      {"init_module", false, [](pg_bpf* s) { return s->progs.pg_exit_init_module; }, {}, true},
      {"finit_module", false, [](pg_bpf* s) { return s->progs.pg_exit_finit_module; }, {}, true},
  };
  return hooks;
}

bool HookInfo::produces(std::string_view type) const {
  if (types[0].empty()) return type == name;
  return std::find(types.begin(), types.end(), type) != types.end();
}

std::vector<std::string> hook_names() {
  std::vector<std::string> out;
  for (const auto& h : all_hooks()) out.emplace_back(h.name);
  return out;
}

std::vector<std::string> captured_types() {
  std::vector<std::string> out;
  for (const auto& h : all_hooks()) {
    if (h.types[0].empty()) out.emplace_back(h.name);
    for (auto t : h.types)
      if (!t.empty() && std::find(out.begin(), out.end(), t) == out.end()) out.emplace_back(t);
  }
  return out;
}

policy::LoadOptions rules_load_options() {
  static const std::vector<std::string> types = captured_types();
  policy::LoadOptions o;
  o.evttype_captured = [](std::string_view t) {
    return std::find(types.begin(), types.end(), t) != types.end();
  };
  return o;
}

void route_libbpf_log() { libbpf_set_print(libbpf_to_spdlog); }

std::string_view drop_reason_name(uint32_t reason) {
  switch (reason) {
    case PG_DROP_RINGBUF_FULL:
      return "ring_buffer_full";
    case PG_DROP_SCRATCH:
      return "no_scratch_buffer";
    case PG_DROP_READ:
      return "kernel_read_failed";
    default:
      return "unknown";
  }
}

std::expected<std::unique_ptr<BpfSession>, std::string> BpfSession::load(const LoadOptions& opts) {
  const uint32_t page = uint32_t(sysconf(_SC_PAGESIZE));
  if (opts.ringbuf_bytes < page || (opts.ringbuf_bytes & (opts.ringbuf_bytes - 1)) != 0)
    return std::unexpected(fmt::format(
        "ring buffer size {} is invalid: it must be a power of two of at least {} bytes",
        opts.ringbuf_bytes, page));
  for (const auto& name : opts.syscalls) {
    auto it = std::find_if(all_hooks().begin(), all_hooks().end(),
                           [&](const HookInfo& h) { return h.name == name; });
    if (it == all_hooks().end())
      return std::unexpected(fmt::format("unknown syscall '{}'; this build can capture: {}", name,
                                         fmt::join(hook_names(), ", ")));
  }

  std::unique_ptr<BpfSession> s(new BpfSession());
  s->skel_ = pg_bpf__open();
  if (!s->skel_) return std::unexpected("opening the BPF object failed: " + errno_text(errno));

  s->skel_->rodata->pg_self_tgid = opts.self_tgid;
  bpf_map__set_max_entries(s->skel_->maps.pg_events, opts.ringbuf_bytes);
  for (const auto& h : all_hooks()) {
    bool wanted = h.lifecycle || std::find(opts.syscalls.begin(), opts.syscalls.end(), h.name) !=
                                     opts.syscalls.end();
    bpf_program* prog = h.prog(s->skel_);
    if (wanted && !tracepoint_exists(prog)) {
      wanted = false;
      if (h.raw_fallback && opts.raw_syscall_fallback)
        s->raw_names_.emplace_back(h.name);
      else
        s->uncaptured_.emplace_back(h.name);
    }
    bpf_program__set_autoload(prog, wanted);
  }
  bpf_program__set_autoload(s->skel_->progs.pg_raw_sys_exit, !s->raw_names_.empty());
  if (!s->uncaptured_.empty())
    spdlog::warn(
        "this kernel has no tracepoint for {} (built without them): calls to them are not "
        "seen. Set raw_syscall_fallback: true to catch them on the raw sys_exit tracepoint, "
        "at a cost on every syscall of the node (docs/performance.md)",
        fmt::join(s->uncaptured_, ", "));
  if (int err = pg_bpf__load(s->skel_))
    return std::unexpected(fmt::format(
        "loading the BPF programs into the kernel failed: {} (run with --log-level debug to "
        "see the verifier's log)",
        errno_text(err)));
  return s;
}

std::expected<void, std::string> BpfSession::attach() {
  for (const auto& h : all_hooks()) {
    bpf_program* prog = h.prog(skel_);
    if (!bpf_program__autoload(prog)) continue;
    bpf_link* link = bpf_program__attach(prog);
    if (!link)
      return std::unexpected(fmt::format("attaching the {} program ({}) failed: {}", h.name,
                                         bpf_program__section_name(prog), errno_text(errno)));
    links_.push_back(link);
    attached_names_.emplace_back(h.name);
  }
  if (!raw_names_.empty()) {
    bpf_link* link = bpf_program__attach(skel_->progs.pg_raw_sys_exit);
    if (!link)
      return std::unexpected(fmt::format("attaching the raw sys_exit program (for {}) failed: {}",
                                         fmt::join(raw_names_, ", "), errno_text(errno)));
    links_.push_back(link);
    attached_names_.insert(attached_names_.end(), raw_names_.begin(), raw_names_.end());
  }
  return {};
}

BpfSession::~BpfSession() {
  for (auto* l : links_) bpf_link__destroy(l);
  if (skel_) pg_bpf__destroy(skel_);
}

int BpfSession::events_fd() const { return bpf_map__fd(skel_->maps.pg_events); }

int BpfSession::map_fd(std::string_view name) const {
  bpf_map* m = bpf_object__find_map_by_name(skel_->obj, std::string(name).c_str());
  return m ? bpf_map__fd(m) : -1;
}

std::array<uint64_t, PG_DROP__COUNT> BpfSession::drops() const {
  std::array<uint64_t, PG_DROP__COUNT> out{};
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return out;
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpu));
  int fd = bpf_map__fd(skel_->maps.pg_drops);
  for (uint32_t r = 0; r < PG_DROP__COUNT; ++r) {
    if (bpf_map_lookup_elem(fd, &r, per_cpu.data()) != 0) continue;
    for (uint64_t v : per_cpu) out[r] += v;
  }
  return out;
}

std::vector<BpfSession::MapInfo> BpfSession::maps() const {
  std::vector<MapInfo> out;
  const bpf_map* m = nullptr;
  bpf_object__for_each_map(m, skel_->obj) {
    if (bpf_map__fd(m) < 0) continue;
    const char* type = libbpf_bpf_map_type_str(bpf_map__type(m));
    out.push_back({bpf_map__name(m), type ? type : "unknown", bpf_map__max_entries(m)});
  }
  return out;
}

}  // namespace pg::user
