#include "user/syscalls/system.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace pg::user {

namespace {

constexpr long kTracefsMagic = 0x74726163;
constexpr long kBpffsMagic = 0xcafe4a11;

bool is_fs(const char* path, long magic) {
  struct statfs sb {};
  return statfs(path, &sb) == 0 && long(sb.f_type) == magic;
}

std::expected<void, std::string> ensure_mounted(const char* path, const char* type, long magic,
                                                const char* why) {
  if (is_fs(path, magic)) return {};
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (mount(type, path, type, 0, nullptr) != 0 && !is_fs(path, magic))
    return std::unexpected(
        fmt::format("{} is not mounted at {} and mounting it failed: {}; {} — mount it with "
                    "'mount -t {} {} {}'",
                    type, path, std::strerror(errno), why, type, type, path));
  spdlog::info("mounted {} at {}", type, path);
  return {};
}

}  // namespace

std::expected<void, std::string> prepare_system() {
  if (geteuid() != 0)
    return std::unexpected(
        "Peregrine needs root (CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN) to load its eBPF "
        "programs; run it as root, e.g. with sudo");
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
    return std::unexpected(
        "this kernel exposes no BTF at /sys/kernel/btf/vmlinux; Peregrine's programs are "
        "CO-RE and need a kernel built with CONFIG_DEBUG_INFO_BTF=y");
  // /sys/kernel/debug/tracing is the legacy location of the same tracefs.
  if (!is_fs("/sys/kernel/debug/tracing", kTracefsMagic)) {
    auto t = ensure_mounted("/sys/kernel/tracing", "tracefs", kTracefsMagic,
                            "per-syscall tracepoints are attached through it");
    if (!t) return t;
  }
  return ensure_mounted("/sys/fs/bpf", "bpf", kBpffsMagic, "filter maps are pinned there");
}

}  // namespace pg::user
