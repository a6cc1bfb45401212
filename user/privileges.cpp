#include "user/privileges.h"

#include <fmt/format.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace pg::user {
namespace {

// Why each one stays (docs/security.md says the same):
//   CAP_BPF             map updates on reload, loading programs for a policy
//                       loaded live, BTF and map creation for them
//   CAP_PERFMON         tracing programs and attaching them to tracepoints
//                       (perf_event_open) for a policy loaded live
//   CAP_SYS_PTRACE      reading /proc/PID/{exe,cwd,root,environ,fd} of
//                       processes of other users (process table, fallbacks)
//   CAP_DAC_READ_SEARCH reading rules, config and /proc files whatever
//                       their owner and mode (read-only; no write override)
constexpr int kAlwaysKept[] = {CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH};

const char* cap_name(int c) {
  switch (c) {
    case CAP_BPF:
      return "cap_bpf";
    case CAP_PERFMON:
      return "cap_perfmon";
    case CAP_SYS_PTRACE:
      return "cap_sys_ptrace";
    case CAP_DAC_READ_SEARCH:
      return "cap_dac_read_search";
    case CAP_NET_BIND_SERVICE:
      return "cap_net_bind_service";
    default:
      return "cap_?";
  }
}

int last_cap() {
  // /proc/sys/kernel/cap_last_cap names the highest the kernel knows.
  FILE* f = std::fopen("/proc/sys/kernel/cap_last_cap", "r");
  int n = CAP_LAST_CAP;
  if (f) {
    if (std::fscanf(f, "%d", &n) != 1) n = CAP_LAST_CAP;
    std::fclose(f);
  }
  return n;
}

// Threads of this process whose effective set is not empty (this one
// included); where /proc cannot tell, every thread counts.
int threads_holding_capabilities() {
  std::error_code ec;
  int holding = 0;
  for (const auto& t : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream in(t.path() / "status");
    std::string line;
    bool none = false;
    while (std::getline(in, line))
      if (line.starts_with("CapEff:")) {
        none = line.find_first_not_of("0\t ", 7) == std::string::npos;
        break;
      }
    if (!none) ++holding;
  }
  return holding;
}

}  // namespace

std::expected<void, std::string> install_seccomp() {
#if defined(__x86_64__)
  static const int denied[] = {
      SYS_init_module,
      SYS_finit_module,
      SYS_delete_module,
      SYS_kexec_load,
      SYS_kexec_file_load,
      SYS_reboot,
      SYS_swapon,
      SYS_swapoff,
      SYS_mount,
      SYS_umount2,
      SYS_pivot_root,
      SYS_chroot,
      SYS_unshare,
      SYS_setns,
      SYS_ptrace,
      SYS_process_vm_readv,
      SYS_process_vm_writev,
      SYS_open_by_handle_at,
      SYS_keyctl,
      SYS_add_key,
      SYS_request_key,
      SYS_userfaultfd,
      SYS_iopl,
      SYS_ioperm,
      SYS_acct,
      SYS_settimeofday,
      SYS_clock_settime,
      SYS_clock_adjtime,
      SYS_adjtimex,
      SYS_io_uring_setup,
      SYS_io_uring_enter,
      SYS_io_uring_register,
      SYS_personality,
      SYS_quotactl,
      SYS_vhangup,
      SYS_mknod,
      SYS_mknodat,
  };
  constexpr uint32_t kDeny = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
  std::vector<sock_filter> f;
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, kDeny));  // int 0x80 and other ABIs
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));  // x32
  f.push_back(BPF_STMT(BPF_RET | BPF_K, kDeny));
  for (int nr : denied) {
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, uint32_t(nr), 0, 1));
    f.push_back(BPF_STMT(BPF_RET | BPF_K, kDeny));
  }
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  sock_fprog prog{static_cast<unsigned short>(f.size()), f.data()};
  // Without CAP_SYS_ADMIN (dropped) a filter needs no_new_privs; it also
  // keeps a program the program output runs from gaining privileges.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return std::unexpected(fmt::format("setting no_new_privs failed: {}", std::strerror(errno)));
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
              SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG, &prog) != 0)
    return std::unexpected(
        fmt::format("installing the seccomp filter failed: {}", std::strerror(errno)));
  return {};
#else
  return std::unexpected("no seccomp filter for this architecture yet");
#endif
}

std::vector<int> kept_capabilities(const KeptCapabilities& k) {
  std::vector<int> out(std::begin(kAlwaysKept), std::end(kAlwaysKept));
  if (k.bind_low_port) out.push_back(CAP_NET_BIND_SERVICE);
  std::sort(out.begin(), out.end());
  return out;
}

std::string capability_names(const std::vector<int>& caps) {
  std::string s;
  for (int c : caps) s += fmt::format("{}{}", s.empty() ? "" : ",", cap_name(c));
  return s;
}

std::expected<void, std::string> drop_capabilities(const KeptCapabilities& k) {
  // Capabilities belong to each thread: every other thread must have given
  // up its own already (a resolver) or be one that drops them itself.
  const int holding = threads_holding_capabilities();
  if (holding > 1 + k.other_threads)
    return std::unexpected(fmt::format(
        "cannot drop capabilities: {} threads already run holding them (capabilities are per "
        "thread)",
        holding));
  const auto keep = kept_capabilities(k);
  auto kept = [&](int c) { return std::find(keep.begin(), keep.end(), c) != keep.end(); };
  // The bounding set first: dropping from it needs CAP_SETPCAP, which goes
  // with the rest below.
  const int last = last_cap();
  for (int c = 0; c <= last; ++c)
    if (!kept(c) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
      return std::unexpected(fmt::format("dropping capability {} from the bounding set failed: {}",
                                         c, std::strerror(errno)));
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  for (int c : keep) {
    data[c / 32].effective |= 1u << (c % 32);
    data[c / 32].permitted |= 1u << (c % 32);
  }
  if (syscall(SYS_capset, &hdr, data) != 0)
    return std::unexpected(
        fmt::format("setting the capabilities failed: {}", std::strerror(errno)));
  return {};
}

}  // namespace pg::user
