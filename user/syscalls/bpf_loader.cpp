#include "user/syscalls/bpf_loader.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <fstream>

#include "kern/api/filter.h"
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

// Whether this kernel runs 32-bit syscalls at all: IA32 emulation built in
// (its syscall table's dispatcher is a symbol) and not turned off on the
// command line (ia32_emulation=0), and a child's 32-bit call answered, not
// killed or failed (which also covers a kernel built with
// CONFIG_IA32_EMULATION_DEFAULT_DISABLED, whatever way it refuses).
bool ia32_emulation_enabled(std::string& why) {
  std::ifstream cmdline("/proc/cmdline");
  std::string word;
  while (cmdline >> word)
    if (word.starts_with("ia32_emulation=")) {
      const std::string v = word.substr(15);
      if (v == "0" || v == "false" || v == "off" || v == "n") {
        why = "turned off by ia32_emulation=" + v + " on the kernel command line";
        return false;
      }
    }
  std::ifstream syms("/proc/kallsyms");
  std::string line;
  bool built_in = false;
  while (!built_in && std::getline(syms, line))
    built_in = line.ends_with(" ia32_sys_call") || line.ends_with(" ia32_sys_call_table");
  if (!built_in) {
    why = "not built into this kernel (CONFIG_IA32_EMULATION)";
    return false;
  }
  // Built in is not enough: some hypervisors' guests kill any int $0x80
  // with SIGSEGV. Then no process can make a 32-bit call, and the program
  // on every syscall of the node would watch for nothing. A child tries
  // one (getpid).
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // no core file for the expected fault
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
    _exit(r > 0 ? 0 : 1);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return true;  // cannot tell: attach
  if (WIFSIGNALED(status)) {
    why = fmt::format("refused by this machine (a probe's int $0x80 got {})",
                      strsignal(WTERMSIG(status)));
    return false;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    why = "refused by this machine (a probe's int $0x80 getpid failed)";
    return false;
  }
  return true;
}

// The 32-bit per-call programs, in the order of enum pg_compat_call
// (kern/compat.bpf.c).
std::array<bpf_program*, 6> compat_calls(pg_bpf* s) {
  return {s->progs.pg_c32_open,  s->progs.pg_c32_openat,  s->progs.pg_c32_openat2,
          s->progs.pg_c32_creat, s->progs.pg_c32_connect, s->progs.pg_c32_sockcall};
}

// The io_uring per-operation programs, in the order of enum pg_uring_op
// (kern/uring.bpf.c), with the syscall and filter kind each stands for.
// A path operation's names are kept at submission (pg_uring_submit).
struct UringOp {
  bpf_program* prog;
  const char* syscall;
  bool pathop;
};
std::array<UringOp, 12> uring_ops(pg_bpf* s) {
  return {{{s->progs.pg_ur_openat, "openat", false},
           {s->progs.pg_ur_openat2, "openat2", false},
           {s->progs.pg_ur_connect, "connect", false},
           {s->progs.pg_ur_renameat, "renameat2", true},
           {s->progs.pg_ur_unlinkat, "unlinkat", true},
           {s->progs.pg_ur_mkdirat, "mkdirat", true},
           {s->progs.pg_ur_symlinkat, "symlinkat", true},
           {s->progs.pg_ur_linkat, "linkat", true},
           {s->progs.pg_ur_socket, "socket", false},
           {s->progs.pg_ur_accept, "accept4", false},
           {s->progs.pg_ur_bind, "bind", false},
           {s->progs.pg_ur_listen, "listen", false}}};
}

// Whether this kernel's io_uring_complete tracepoint passes (ctx, req, cqe),
// the form kern/uring.bpf.c reads (Linux 6.17 and later; earlier kernels
// pass the result as numbers and have no cqe). Read from the kernel's BTF.
bool uring_complete_usable(std::string& why) {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) {
    why = "the kernel's BTF cannot be read";
    return false;
  }
  const int id = btf__find_by_name_kind(vmlinux, "btf_trace_io_uring_complete", BTF_KIND_TYPEDEF);
  const btf_type* t = id > 0 ? btf__type_by_id(vmlinux, btf__resolve_type(vmlinux, id)) : nullptr;
  if (t && btf_is_ptr(t)) t = btf__type_by_id(vmlinux, t->type);
  // The prototype's first parameter is the tracepoint's private data.
  const bool ok = t && btf_is_func_proto(t) && btf_vlen(t) == 4;
  btf__free(vmlinux);
  if (!ok)
    why = t ? "its io_uring_complete tracepoint predates Linux 6.17's (ctx, req, cqe) form"
            : "it has no io_uring_complete tracepoint (io_uring built out)";
  return ok;
}

}  // namespace

// The lifecycle programs, connect, then every catalogue row
// (kern/api/syscalls.h) in its family's order.
#define PG_OPEN_HOOK(name, NAME) \
  HookInfo{#name, false, [](pg_bpf* s) { return s->progs.pg_exit_##name; }},
// A failed-only exec is its own program ("execve-failed") whose events are
// execve's: the program named "execve" is the exec tracepoint.
#define PG_PATHOP_HOOK(name, NAME, tp, flags, ...)                \
  HookInfo{((flags)&PG_SC_FAILED_ONLY) ? #name "-failed" : #name, \
           ((flags)&PG_SC_STATE) != 0,                            \
           [](pg_bpf* s) { return s->progs.pg_exit_##tp; },       \
           {((flags)&PG_SC_FAILED_ONLY) ? #name : ""}},
#define PG_ARGS_HOOK(name, NAME, family, fds, flags, args)    \
  HookInfo{#name,                                             \
           ((flags)&PG_SC_STATE) != 0,                        \
           [](pg_bpf* s) { return s->progs.pg_exit_##name; }, \
           {},                                                \
           ((flags)&PG_SC_RAW_FALLBACK) != 0},

const std::vector<HookInfo>& all_hooks() {
  static const std::vector<HookInfo> hooks = {
      {"execve", true, [](pg_bpf* s) { return s->progs.pg_exec; }, {"execve", "execveat"}},
      {"clone",
       true,
       [](pg_bpf* s) { return s->progs.pg_fork; },
       {"clone", "clone3", "fork", "vfork"}},
      {"procexit", true, [](pg_bpf* s) { return s->progs.pg_exit; }},
      PG_OPEN_SYSCALLS(PG_OPEN_HOOK){"connect", false,
                                     [](pg_bpf* s) { return s->progs.pg_exit_connect; }},
      PG_PATHOP_SYSCALLS(PG_PATHOP_HOOK) PG_ARGS_SYSCALLS(PG_ARGS_HOOK)};
  return hooks;
}
#undef PG_OPEN_HOOK
#undef PG_PATHOP_HOOK
#undef PG_ARGS_HOOK

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

policy::TableCapacity kernel_table_capacity() {
  // Opening the object only parses it (no BPF syscall, no privilege): the
  // sizes are the ones the daemon's maps will have.
  static const policy::TableCapacity cap = [] {
    policy::TableCapacity c;
    if (pg_bpf* s = pg_bpf__open()) {
      c.strs = bpf_map__max_entries(s->maps.pg_fstr);
      c.nums = bpf_map__max_entries(s->maps.pg_fnum);
      c.paths = bpf_map__max_entries(s->maps.pg_fpath);
      pg_bpf__destroy(s);
    }
    return c;
  }();
  return cap;
}

policy::LoadOptions rules_load_options() {
  static const std::vector<std::string> types = captured_types();
  policy::LoadOptions o;
  o.kernel_capacity = kernel_table_capacity();
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
    if (wanted) s->loaded_.emplace_back(h.name);
  }
  s->self_tgid_ = opts.self_tgid;
  bpf_program__set_autoload(s->skel_->progs.pg_raw_sys_exit, !s->raw_names_.empty());
  // 32-bit calls of the open family and connect (kern/compat.bpf.c): one
  // program on the raw sys_exit tracepoint, since no per-syscall one fires
  // for them; it costs every syscall of the node a few instructions.
  uint32_t compat_want = 0;
  const std::pair<const char*, uint32_t> compat_kinds[] = {{"open", PG_FK_OPEN},
                                                           {"openat", PG_FK_OPENAT},
                                                           {"openat2", PG_FK_OPENAT2},
                                                           {"creat", PG_FK_CREAT},
                                                           {"connect", PG_FK_CONNECT}};
  for (const auto& [name, fk] : compat_kinds)
    if (std::find(opts.syscalls.begin(), opts.syscalls.end(), name) != opts.syscalls.end())
      compat_want |= 1u << fk;
  std::string ia32_why;
  const bool compat = compat_want != 0 && ia32_emulation_enabled(ia32_why);
  s->skel_->rodata->pg_compat_want = compat ? compat_want : 0;
  bpf_program__set_autoload(s->skel_->progs.pg_compat_sys_exit, compat);
  // Only the per-call programs of wanted calls: each open one costs the
  // verifier as much as a 64-bit open program.
  const uint32_t call_kinds[] = {PG_FK_OPEN,  PG_FK_OPENAT,  PG_FK_OPENAT2,
                                 PG_FK_CREAT, PG_FK_CONNECT, PG_FK_CONNECT};
  for (size_t i = 0; i < std::size(call_kinds); ++i)
    bpf_program__set_autoload(compat_calls(s->skel_)[i],
                              compat && (compat_want >> call_kinds[i] & 1));
  if (compat)
    spdlog::info(
        "32-bit syscalls (int 0x80, sysenter, 32-bit programs) of the open family and "
        "connect are watched on the raw sys_exit tracepoint");
  else if (compat_want)
    spdlog::info("32-bit syscalls are not watched: IA32 emulation is {}", ia32_why);
  // io_uring requests (kern/uring.bpf.c): one program on the
  // io_uring_complete tracepoint, which costs only requests of a ring, and
  // for path operations one on io_uring_submit_req that keeps their names.
  uint32_t uring_want = 0;
  bool uring_pathops = false;
  const auto ops = uring_ops(s->skel_);
  for (size_t i = 0; i < ops.size(); ++i)
    if (std::find(opts.syscalls.begin(), opts.syscalls.end(), ops[i].syscall) !=
        opts.syscalls.end()) {
      uring_want |= 1u << i;
      uring_pathops |= ops[i].pathop;
    }
  std::string uring_why;
  const bool uring = uring_want != 0 && uring_complete_usable(uring_why);
  s->skel_->rodata->pg_uring_want = uring ? uring_want : 0;
  bpf_program__set_autoload(s->skel_->progs.pg_uring_complete, uring);
  bpf_program__set_autoload(s->skel_->progs.pg_uring_submit, uring && uring_pathops);
  for (size_t i = 0; i < ops.size(); ++i)
    bpf_program__set_autoload(ops[i].prog, uring && (uring_want >> i & 1));
  if (uring_want && !uring)
    spdlog::warn("io_uring requests are not watched: this kernel {}", uring_why);
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
  if (bpf_program__autoload(skel_->progs.pg_compat_sys_exit)) {
    // The per-call programs the dispatcher tail-calls, by their index.
    const int calls = bpf_map__fd(skel_->maps.pg_c32_calls);
    uint32_t i = 0;
    for (bpf_program* p : compat_calls(skel_)) {
      const int fd = bpf_program__fd(p);
      if (!bpf_program__autoload(p)) {
        ++i;
        continue;
      }
      if (bpf_map_update_elem(calls, &i, &fd, BPF_ANY) != 0)
        return std::unexpected(
            fmt::format("filling the 32-bit syscall table failed: {}", errno_text(errno)));
      ++i;
    }
    bpf_link* link = bpf_program__attach(skel_->progs.pg_compat_sys_exit);
    if (!link)
      return std::unexpected(fmt::format(
          "attaching the 32-bit syscall program (raw sys_exit) failed: {}", errno_text(errno)));
    links_.push_back(link);
  }
  if (bpf_program__autoload(skel_->progs.pg_uring_complete)) {
    const int ops = bpf_map__fd(skel_->maps.pg_uring_ops);
    uint32_t i = 0;
    for (const auto& op : uring_ops(skel_)) {
      const int fd = bpf_program__fd(op.prog);
      if (bpf_program__autoload(op.prog) && bpf_map_update_elem(ops, &i, &fd, BPF_ANY) != 0)
        return std::unexpected(
            fmt::format("filling the io_uring operation table failed: {}", errno_text(errno)));
      ++i;
    }
    // Names are kept before any completion looks for them.
    for (bpf_program* p : {skel_->progs.pg_uring_submit, skel_->progs.pg_uring_complete}) {
      if (!bpf_program__autoload(p)) continue;
      bpf_link* link = bpf_program__attach(p);
      if (!link)
        return std::unexpected(fmt::format("attaching the io_uring program ({}) failed: {}",
                                           bpf_program__section_name(p), errno_text(errno)));
      links_.push_back(link);
    }
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

std::expected<std::vector<std::string>, std::string> BpfSession::attach_more(
    const std::vector<std::string>& syscalls) {
  std::vector<const HookInfo*> fresh;
  for (const auto& h : all_hooks()) {
    if (h.lifecycle || std::find(syscalls.begin(), syscalls.end(), h.name) == syscalls.end())
      continue;
    if (std::find(loaded_.begin(), loaded_.end(), h.name) != loaded_.end()) continue;
    {
      std::lock_guard lock(names_mu_);
      if (std::find(uncaptured_.begin(), uncaptured_.end(), h.name) != uncaptured_.end()) continue;
    }
    if (!tracepoint_exists(h.prog(skel_))) {
      spdlog::warn("this kernel has no tracepoint for {}: calls to it are not seen", h.name);
      std::lock_guard lock(names_mu_);
      uncaptured_.emplace_back(h.name);
      continue;
    }
    fresh.push_back(&h);
  }
  if (fresh.empty()) return std::vector<std::string>{};

  pg_bpf* x = pg_bpf__open();
  if (!x) return std::unexpected("opening the BPF object failed: " + errno_text(errno));
  auto fail = [&](std::string what) {
    pg_bpf__destroy(x);
    return std::unexpected(std::move(what));
  };
  x->rodata->pg_self_tgid = self_tgid_;
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, x->obj) {
    const char* name = bpf_map__name(m);
    if (std::strchr(name, '.')) continue;  // .rodata: this instance's own
    const bpf_map* mine = bpf_object__find_map_by_name(skel_->obj, name);
    if (!mine || bpf_map__fd(mine) < 0)
      return fail(fmt::format("the running object has no map {} to share", name));
    if (int err = bpf_map__reuse_fd(m, bpf_map__fd(mine)))
      return fail(fmt::format("sharing map {} failed: {}", name, errno_text(err)));
  }
  for (const auto& h : all_hooks())
    bpf_program__set_autoload(h.prog(x), std::find(fresh.begin(), fresh.end(), &h) != fresh.end());
  // The programs on shared hooks (raw sys_exit, 32-bit, io_uring) stay
  // with the first object.
  bpf_program__set_autoload(x->progs.pg_raw_sys_exit, false);
  bpf_program__set_autoload(x->progs.pg_compat_sys_exit, false);
  for (bpf_program* p : compat_calls(x)) bpf_program__set_autoload(p, false);
  bpf_program__set_autoload(x->progs.pg_uring_complete, false);
  bpf_program__set_autoload(x->progs.pg_uring_submit, false);
  for (const auto& op : uring_ops(x)) bpf_program__set_autoload(op.prog, false);
  if (int err = pg_bpf__load(x))
    return fail(fmt::format("loading the programs for {} failed: {}", fresh.front()->name,
                            errno_text(err)));
  std::vector<bpf_link*> links;
  std::vector<std::string> names;
  for (const HookInfo* h : fresh) {
    bpf_link* link = bpf_program__attach(h->prog(x));
    if (!link) {
      const std::string err = errno_text(errno);
      for (auto* l : links) bpf_link__destroy(l);
      return fail(fmt::format("attaching the {} program failed: {}", h->name, err));
    }
    links.push_back(link);
    names.emplace_back(h->name);
  }
  extra_.push_back(x);
  links_.insert(links_.end(), links.begin(), links.end());
  loaded_.insert(loaded_.end(), names.begin(), names.end());
  std::lock_guard lock(names_mu_);
  attached_names_.insert(attached_names_.end(), names.begin(), names.end());
  return names;
}

std::vector<std::string> BpfSession::attached() const {
  std::lock_guard lock(names_mu_);
  return attached_names_;
}

std::vector<std::string> BpfSession::uncaptured() const {
  std::lock_guard lock(names_mu_);
  return uncaptured_;
}

BpfSession::~BpfSession() {
  for (auto* l : links_) bpf_link__destroy(l);
  for (auto* x : extra_) pg_bpf__destroy(x);
  if (skel_) pg_bpf__destroy(skel_);
}

int BpfSession::events_fd() const { return bpf_map__fd(skel_->maps.pg_events); }

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
