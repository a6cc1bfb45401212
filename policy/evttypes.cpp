#include "policy/evttypes.h"

#include <algorithm>
#include <sstream>

namespace pg::policy {
namespace {

// From the x86_64 syscall table (asm/unistd_64.h), plus names Falco uses
// for events that are not syscalls or that it spells differently.
constexpr std::string_view kNames =
    "_sysctl accept accept4 access acct add_key adjtimex afs_syscall alarm arch_prctl bind bpf "
    "brk capget capset chdir chmod chown chroot clock_adjtime clock_getres clock_gettime "
    "clock_nanosleep clock_settime clone clone3 close close_range connect copy_file_range "
    "creat create_module delete_module dup dup2 dup3 epoll_create epoll_create1 epoll_ctl "
    "epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve "
    "execveat exit exit_group faccessat faccessat2 fadvise64 fallocate fanotify_init "
    "fanotify_mark fchdir fchmod fchmodat fchown fchownat fcntl fdatasync fgetxattr "
    "finit_module flistxattr flock fork fremovexattr fsconfig fsetxattr fsmount fsopen fspick "
    "fstat fstatfs fsync ftruncate futex futex_waitv futimesat get_kernel_syms get_mempolicy "
    "get_robust_list get_thread_area getcpu getcwd getdents getdents64 getegid geteuid getgid "
    "getgroups getitimer getpeername getpgid getpgrp getpid getpmsg getppid getpriority "
    "getrandom getresgid getresuid getrlimit getrusage getsid getsockname getsockopt gettid "
    "gettimeofday getuid getxattr init_module inotify_add_watch inotify_init inotify_init1 "
    "inotify_rm_watch io_cancel io_destroy io_getevents io_pgetevents io_setup io_submit "
    "io_uring_enter io_uring_register io_uring_setup ioctl ioperm iopl ioprio_get ioprio_set "
    "kcmp kexec_file_load kexec_load keyctl kill landlock_add_rule landlock_create_ruleset "
    "landlock_restrict_self lchown lgetxattr link linkat listen listxattr llistxattr "
    "lookup_dcookie lremovexattr lseek lsetxattr lstat madvise mbind membarrier memfd_create "
    "memfd_secret migrate_pages mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap "
    "modify_ldt mount mount_setattr move_mount move_pages mprotect mq_getsetattr mq_notify "
    "mq_open mq_timedreceive mq_timedsend mq_unlink mremap msgctl msgget msgrcv msgsnd msync "
    "munlock munlockall munmap name_to_handle_at nanosleep newfstatat nfsservctl open "
    "open_by_handle_at open_tree openat openat2 pause perf_event_open personality pidfd_getfd "
    "pidfd_open pidfd_send_signal pipe pipe2 pivot_root pkey_alloc pkey_free pkey_mprotect "
    "poll ppoll prctl pread64 preadv preadv2 prlimit64 process_madvise process_mrelease "
    "process_vm_readv process_vm_writev pselect6 ptrace putpmsg pwrite64 pwritev pwritev2 "
    "query_module quotactl quotactl_fd read readahead readlink readlinkat readv reboot "
    "recvfrom recvmmsg recvmsg remap_file_pages removexattr rename renameat renameat2 "
    "request_key restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask "
    "rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_tgsigqueueinfo "
    "sched_get_priority_max sched_get_priority_min sched_getaffinity sched_getattr "
    "sched_getparam sched_getscheduler sched_rr_get_interval sched_setaffinity sched_setattr "
    "sched_setparam sched_setscheduler sched_yield seccomp security select semctl semget semop "
    "semtimedop sendfile sendmmsg sendmsg sendto set_mempolicy set_mempolicy_home_node "
    "set_robust_list set_thread_area set_tid_address setdomainname setfsgid setfsuid setgid "
    "setgroups sethostname setitimer setns setpgid setpriority setregid setresgid setresuid "
    "setreuid setrlimit setsid setsockopt settimeofday setuid setxattr shmat shmctl shmdt "
    "shmget shutdown sigaltstack signalfd signalfd4 socket socketpair splice stat statfs statx "
    "swapoff swapon symlink symlinkat sync sync_file_range syncfs sysfs sysinfo syslog tee "
    "tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_settime "
    "timerfd_create timerfd_gettime timerfd_settime times tkill truncate tuxcall umask umount2 "
    "uname unlink unlinkat unshare uselib userfaultfd ustat utime utimensat utimes vfork "
    "vhangup vmsplice vserver wait4 waitid write writev "
    "procexit container switch signaldeliver pluginevent asyncevent page_fault cpu_hotplug "
    "drop infra notification tracer umount prlimit pread pwrite";

std::vector<std::string> build() {
  std::vector<std::string> v;
  std::istringstream in{std::string(kNames)};
  std::string w;
  while (in >> w) v.push_back(w);
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// A set over the known names plus names first seen in this condition.
class Universe {
 public:
  Universe() : names_(known_event_types().begin(), known_event_types().end()) {}
  std::size_t index(const std::string& n) {
    auto it = std::lower_bound(names_.begin(), names_.begin() + static_cast<long>(known()), n);
    if (it != names_.begin() + static_cast<long>(known()) && *it == n)
      return static_cast<std::size_t>(it - names_.begin());
    for (std::size_t i = known(); i < names_.size(); ++i)
      if (names_[i] == n) return i;
    names_.push_back(n);
    return names_.size() - 1;
  }
  std::size_t known() const { return known_event_types().size(); }
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
};

// A set of event types; `full` stands for every event type. All names of a
// condition are added to the universe before evaluating, so sizes agree.
struct Bits {
  bool full = false;
  std::vector<bool> b;
};

Bits full_set() { return Bits{true, {}}; }
bool has(const Bits& s, std::size_t i) { return s.full || (i < s.b.size() && s.b[i]); }

Bits intersect(const Bits& x, const Bits& y, std::size_t n) {
  if (x.full) return y;
  if (y.full) return x;
  Bits r;
  r.b.resize(n);
  for (std::size_t i = 0; i < n; ++i) r.b[i] = has(x, i) && has(y, i);
  return r;
}
Bits unite(const Bits& x, const Bits& y, std::size_t n) {
  if (x.full || y.full) return full_set();
  Bits r;
  r.b.resize(n);
  for (std::size_t i = 0; i < n; ++i) r.b[i] = has(x, i) || has(y, i);
  return r;
}

struct Pair {
  Bits may_true;
  Bits may_false;
};

bool is_evt_type(const FieldRef& f) {
  return (f.name == "evt.type" || f.name == "syscall.type") && f.transformers.empty() && !f.arg;
}

Pair eval(const Node& n, Universe& u) {
  switch (n.kind) {
    case NodeKind::Not: {
      auto c = eval(n.children.at(0), u);
      return {c.may_false, c.may_true};
    }
    case NodeKind::And:
    case NodeKind::Or: {
      std::vector<Pair> cs;
      for (const auto& c : n.children) cs.push_back(eval(c, u));
      std::size_t size = u.names().size();
      Pair r = cs.front();
      for (std::size_t i = 1; i < cs.size(); ++i) {
        if (n.kind == NodeKind::And) {
          r.may_true = intersect(r.may_true, cs[i].may_true, size);
          r.may_false = unite(r.may_false, cs[i].may_false, size);
        } else {
          r.may_true = unite(r.may_true, cs[i].may_true, size);
          r.may_false = intersect(r.may_false, cs[i].may_false, size);
        }
      }
      return r;
    }
    case NodeKind::Bool:
      return n.bool_value ? Pair{full_set(), Bits{}} : Pair{Bits{}, full_set()};
    case NodeKind::Compare:
      if (n.mod != Modifier::None && n.values.empty())  // never true
        return {Bits{}, full_set()};
      // With a modifier only `= anyof` (membership) and `!= allof`
      // (non-membership) decide the type exactly; the others stay open.
      if (is_evt_type(n.field) && n.rhs != RhsKind::Field &&
          (n.mod == Modifier::None || (n.mod == Modifier::AnyOf && n.op == Op::Eq) ||
           (n.mod == Modifier::AllOf && n.op == Op::Ne)) &&
          (n.op == Op::Eq || n.op == Op::Ne || n.op == Op::In)) {
        std::vector<std::size_t> idx;
        for (const auto& v : n.values) idx.push_back(u.index(v.text));
        Bits in;
        in.b.resize(u.names().size());
        for (auto i : idx) in.b[i] = true;
        Bits out_exact;
        out_exact.b.assign(u.names().size(), true);
        for (auto i : idx) out_exact.b[i] = false;
        if (n.op == Op::Ne) return {out_exact, in};
        return {in, out_exact};
      }
      return {full_set(), full_set()};
    case NodeKind::Exists:
    case NodeKind::Macro:
      return {full_set(), full_set()};
  }
  return {full_set(), full_set()};
}

void collect(const Node& n, Universe& u) {
  if (n.kind == NodeKind::Compare && is_evt_type(n.field) && n.rhs != RhsKind::Field)
    for (const auto& v : n.values) u.index(v.text);
  for (const auto& c : n.children) collect(c, u);
}

}  // namespace

std::span<const std::string> known_event_types() {
  static const std::vector<std::string> v = build();
  return v;
}

bool is_known_event_type(std::string_view name) {
  auto k = known_event_types();
  return std::binary_search(k.begin(), k.end(), name, std::less<>{});
}

EventTypeSet compute_event_types(const Node& node) {
  Universe u;
  collect(node, u);
  Pair p = eval(node, u);
  EventTypeSet r;
  const auto& names = u.names();
  std::size_t known = u.known();
  bool all_known = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (has(p.may_true, i))
      r.names.push_back(names[i]);
    else if (i < known)
      all_known = false;
  }
  r.all = p.may_true.full || all_known;
  std::sort(r.names.begin(), r.names.end());
  return r;
}

}  // namespace pg::policy
