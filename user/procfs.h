// Reading process facts from /proc: the documented startup fallback that
// seeds the process table with what was running before we attached.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "user/cgroup.h"
#include "user/host.h"
#include "user/process.h"

namespace pg::user {

struct ProcStat {
  uint32_t pid = 0;
  std::string comm;
  char state = '?';
  uint32_t ppid = 0;
  uint32_t sid = 0;
  uint32_t tty = 0;
  uint64_t start_ticks = 0;  // clock ticks since boot
};

// /proc/PID/stat; comm may itself contain spaces and parentheses.
std::expected<ProcStat, std::string> parse_proc_stat(std::string_view text);
// The effective id from a "Uid:"/"Gid:" line of /proc/PID/status.
std::optional<uint32_t> parse_status_id(std::string_view status, std::string_view key);
// The innermost pid of the NSpid line (the pid in its own namespace).
std::optional<uint32_t> parse_status_nspid(std::string_view status);
// The cgroup v2 path ("0::/path") from /proc/PID/cgroup.
std::optional<std::string> parse_cgroup_v2_path(std::string_view text);

// Reads processes from a procfs mount (the host's /proc, under HOST_ROOT in
// a container; tests point it at a fixture tree) and cgroup ids from a
// cgroup2 mount.
class ProcFs {
 public:
  explicit ProcFs(std::filesystem::path proc_root = host_path("/proc"),
                  std::filesystem::path cgroup_root = cgroup2_mount());
  std::expected<Process, std::string> read_process(uint32_t pid) const;
  // Every process in proc_root; unreadable ones (raced exits) are skipped.
  size_t seed(ProcessTable& table) const;

 private:
  std::filesystem::path proc_;
  std::filesystem::path cgroup_;
  long ticks_per_sec_;
};

}  // namespace pg::user
