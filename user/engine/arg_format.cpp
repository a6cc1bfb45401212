#include "user/engine/arg_format.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstring>
#include <ctime>
#include <vector>

#include "policy/pathop_args.h"

namespace pg::user {

std::string format_rfc3339_ns(uint64_t time_ns) {
  time_t secs = time_t(time_ns / 1'000'000'000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[40];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09}Z", buf, time_ns % 1'000'000'000);
}

std::string format_open_flags(uint64_t flags) {
  std::string out;
  switch (flags & O_ACCMODE) {
    case O_WRONLY:
      out = "O_WRONLY";
      break;
    case O_RDWR:
      out = "O_RDWR";
      break;
    default:
      out = "O_RDONLY";
      break;
  }
  static constexpr std::pair<uint64_t, const char*> kBits[] = {
      {O_CREAT, "O_CREAT"},
      {O_EXCL, "O_EXCL"},
      {O_NOCTTY, "O_NOCTTY"},
      {O_TRUNC, "O_TRUNC"},
      {O_APPEND, "O_APPEND"},
      {O_NONBLOCK, "O_NONBLOCK"},
      {O_DSYNC, "O_DSYNC"},
      {O_DIRECT, "O_DIRECT"},
      {O_LARGEFILE, "O_LARGEFILE"},
      {O_NOFOLLOW, "O_NOFOLLOW"},
      {O_NOATIME, "O_NOATIME"},
      {O_CLOEXEC, "O_CLOEXEC"},
      {04000000 /* __O_SYNC: O_SYNC without O_DSYNC */, "O_SYNC"},
      {O_PATH, "O_PATH"},
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

std::string format_mode(uint32_t mode) {
  // Falco's order and names for mode bits.
  static constexpr std::pair<uint32_t, const char*> kBits[] = {
      {S_IXOTH, "S_IXOTH"}, {S_IWOTH, "S_IWOTH"}, {S_IROTH, "S_IROTH"}, {S_IXGRP, "S_IXGRP"},
      {S_IWGRP, "S_IWGRP"}, {S_IRGRP, "S_IRGRP"}, {S_IXUSR, "S_IXUSR"}, {S_IWUSR, "S_IWUSR"},
      {S_IRUSR, "S_IRUSR"}, {S_ISVTX, "S_ISVTX"}, {S_ISGID, "S_ISGID"}, {S_ISUID, "S_ISUID"},
  };
  std::string out;
  for (auto [bit, name] : kBits)
    if (mode & bit) out += fmt::format("{}{}", out.empty() ? "" : "|", name);
  return out.empty() ? "0" : out;
}

namespace {
// The name of an enumerated value; its number when the table lacks it.
template <std::size_t N>
std::string name_or_number(const std::pair<uint64_t, const char*> (&names)[N], uint64_t value) {
  for (auto [v, name] : names)
    if (v == value) return name;
  return std::to_string(value);
}
}  // namespace

std::string format_socket_domain(uint32_t domain) {
  static constexpr std::pair<uint64_t, const char*> kNames[] = {
      {AF_UNSPEC, "AF_UNSPEC"},       {AF_UNIX, "AF_UNIX"},
      {AF_INET, "AF_INET"},           {AF_INET6, "AF_INET6"},
      {AF_NETLINK, "AF_NETLINK"},     {AF_PACKET, "AF_PACKET"},
      {AF_BLUETOOTH, "AF_BLUETOOTH"}, {AF_ALG, "AF_ALG"},
      {AF_VSOCK, "AF_VSOCK"},         {AF_XDP, "AF_XDP"},
  };
  return name_or_number(kNames, domain);
}

std::string format_ptrace_request(uint64_t request) {
  static constexpr std::pair<uint64_t, const char*> kNames[] = {
      {0, "PTRACE_TRACEME"},
      {1, "PTRACE_PEEKTEXT"},
      {2, "PTRACE_PEEKDATA"},
      {3, "PTRACE_PEEKUSR"},
      {4, "PTRACE_POKETEXT"},
      {5, "PTRACE_POKEDATA"},
      {6, "PTRACE_POKEUSR"},
      {7, "PTRACE_CONT"},
      {8, "PTRACE_KILL"},
      {9, "PTRACE_SINGLESTEP"},
      {12, "PTRACE_GETREGS"},
      {13, "PTRACE_SETREGS"},
      {14, "PTRACE_GETFPREGS"},
      {15, "PTRACE_SETFPREGS"},
      {16, "PTRACE_ATTACH"},
      {17, "PTRACE_DETACH"},
      {24, "PTRACE_SYSCALL"},
      {0x4200, "PTRACE_SETOPTIONS"},
      {0x4201, "PTRACE_GETEVENTMSG"},
      {0x4202, "PTRACE_GETSIGINFO"},
      {0x4203, "PTRACE_SETSIGINFO"},
      {0x4204, "PTRACE_GETREGSET"},
      {0x4205, "PTRACE_SETREGSET"},
      {0x4206, "PTRACE_SEIZE"},
      {0x4207, "PTRACE_INTERRUPT"},
      {0x4208, "PTRACE_LISTEN"},
  };
  return name_or_number(kNames, request);
}

std::string format_signal(uint64_t sig) {
  const char* abbrev = sig < 65 ? sigabbrev_np(int(sig)) : nullptr;
  return abbrev ? fmt::format("SIG{}", abbrev) : std::to_string(sig);
}

std::string format_prctl_option(uint64_t option) {
  static constexpr std::pair<uint64_t, const char*> kNames[] = {
      {1, "PR_SET_PDEATHSIG"},     {2, "PR_GET_PDEATHSIG"},        {3, "PR_GET_DUMPABLE"},
      {4, "PR_SET_DUMPABLE"},      {8, "PR_SET_KEEPCAPS"},         {15, "PR_SET_NAME"},
      {16, "PR_GET_NAME"},         {22, "PR_SET_SECCOMP"},         {23, "PR_CAPBSET_READ"},
      {24, "PR_CAPBSET_DROP"},     {36, "PR_SET_CHILD_SUBREAPER"}, {38, "PR_SET_NO_NEW_PRIVS"},
      {39, "PR_GET_NO_NEW_PRIVS"}, {47, "PR_CAP_AMBIENT"},
  };
  return name_or_number(kNames, option);
}

std::string format_clone_flags(uint64_t flags) {
  static constexpr std::pair<uint64_t, const char*> kBits[] = {
      {0x00000100, "CLONE_VM"},      {0x00000200, "CLONE_FS"},     {0x00000400, "CLONE_FILES"},
      {0x00000800, "CLONE_SIGHAND"}, {0x00002000, "CLONE_PTRACE"}, {0x00004000, "CLONE_VFORK"},
      {0x00008000, "CLONE_PARENT"},  {0x00010000, "CLONE_THREAD"}, {0x00020000, "CLONE_NEWNS"},
      {0x00040000, "CLONE_SYSVSEM"}, {0x00080000, "CLONE_SETTLS"}, {0x02000000, "CLONE_NEWCGROUP"},
      {0x04000000, "CLONE_NEWUTS"},  {0x08000000, "CLONE_NEWIPC"}, {0x10000000, "CLONE_NEWUSER"},
      {0x20000000, "CLONE_NEWPID"},  {0x40000000, "CLONE_NEWNET"}, {0x00000080, "CLONE_NEWTIME"},
  };
  std::string out;
  for (auto [bit, name] : kBits)
    if (flags & bit) {
      out += fmt::format("{}{}", out.empty() ? "" : "|", name);
      flags &= ~bit;
    }
  if (flags) out += fmt::format("{}0x{:x}", out.empty() ? "" : "|", flags);
  return out.empty() ? "0" : out;
}

std::string format_capabilities(uint64_t caps) {
  // Capability numbers from linux/capability.h, in order.
  static constexpr const char* kNames[] = {
      "CAP_CHOWN",
      "CAP_DAC_OVERRIDE",
      "CAP_DAC_READ_SEARCH",
      "CAP_FOWNER",
      "CAP_FSETID",
      "CAP_KILL",
      "CAP_SETGID",
      "CAP_SETUID",
      "CAP_SETPCAP",
      "CAP_LINUX_IMMUTABLE",
      "CAP_NET_BIND_SERVICE",
      "CAP_NET_BROADCAST",
      "CAP_NET_ADMIN",
      "CAP_NET_RAW",
      "CAP_IPC_LOCK",
      "CAP_IPC_OWNER",
      "CAP_SYS_MODULE",
      "CAP_SYS_RAWIO",
      "CAP_SYS_CHROOT",
      "CAP_SYS_PTRACE",
      "CAP_SYS_PACCT",
      "CAP_SYS_ADMIN",
      "CAP_SYS_BOOT",
      "CAP_SYS_NICE",
      "CAP_SYS_RESOURCE",
      "CAP_SYS_TIME",
      "CAP_SYS_TTY_CONFIG",
      "CAP_MKNOD",
      "CAP_LEASE",
      "CAP_AUDIT_WRITE",
      "CAP_AUDIT_CONTROL",
      "CAP_SETFCAP",
      "CAP_MAC_OVERRIDE",
      "CAP_MAC_ADMIN",
      "CAP_SYSLOG",
      "CAP_WAKE_ALARM",
      "CAP_BLOCK_SUSPEND",
      "CAP_AUDIT_READ",
      "CAP_PERFMON",
      "CAP_BPF",
      "CAP_CHECKPOINT_RESTORE",
  };
  std::string out;
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (!(caps & (uint64_t{1} << bit))) continue;
    if (!out.empty()) out += ' ';
    out += bit < std::size(kNames) ? std::string(kNames[bit]) : fmt::format("CAP_{}", bit);
  }
  return out;
}

std::string format_at_flags(uint16_t pathop_kind, uint32_t flags) {
  std::vector<std::pair<uint32_t, const char*>> bits;
  switch (pathop_kind) {
    case PG_PO_LINKAT:
      bits = {{AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"}, {AT_EMPTY_PATH, "AT_EMPTY_PATH"}};
      break;
    case PG_PO_UNLINKAT:
      bits = {{AT_REMOVEDIR, "AT_REMOVEDIR"}};
      break;
    case PG_PO_RENAMEAT2:
      bits = {{1, "RENAME_NOREPLACE"}, {2, "RENAME_EXCHANGE"}, {4, "RENAME_WHITEOUT"}};
      break;
    case PG_PO_MOUNT:
      bits = {{1, "MS_RDONLY"},       {2, "MS_NOSUID"},       {4, "MS_NODEV"},
              {8, "MS_NOEXEC"},       {32, "MS_REMOUNT"},     {4096, "MS_BIND"},
              {8192, "MS_MOVE"},      {16384, "MS_REC"},      {1u << 18, "MS_PRIVATE"},
              {1u << 19, "MS_SLAVE"}, {1u << 20, "MS_SHARED"}};
      break;
    case PG_PO_UMOUNT2:
      bits = {{1, "MNT_FORCE"}, {2, "MNT_DETACH"}, {4, "MNT_EXPIRE"}, {8, "UMOUNT_NOFOLLOW"}};
      break;
    case PG_PO_MEMFD_CREATE:
      bits = {{1, "MFD_CLOEXEC"},
              {2, "MFD_ALLOW_SEALING"},
              {4, "MFD_HUGETLB"},
              {8, "MFD_NOEXEC_SEAL"},
              {16, "MFD_EXEC"}};
      break;
    case PG_PO_EXECVEAT:
      bits = {{AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"}, {AT_EMPTY_PATH, "AT_EMPTY_PATH"}};
      break;
    default:
      break;
  }
  std::string out;
  for (auto [bit, name] : bits)
    if (flags & bit) {
      out += fmt::format("{}{}", out.empty() ? "" : "|", name);
      flags &= ~bit;
    }
  if (flags) out += fmt::format("{}0x{:x}", out.empty() ? "" : "|", flags);
  return out.empty() ? "0" : out;
}

std::string format_res(int64_t ret) {
  if (ret >= 0) return "SUCCESS";
  const char* name = strerrorname_np(int(-ret));
  return name ? name : fmt::format("E{}", -ret);
}

}  // namespace pg::user
