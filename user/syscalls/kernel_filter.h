// The kernel filter's tables in the live eBPF maps: pin them where an
// operator can read them with bpftool, write a complete new generation and
// flip to it with one update, and read the counters back.
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "kern/api/filter.h"
#include "policy/filter_tables.h"

namespace pg::user {

class BpfSession;

inline constexpr const char* kDefaultPinDir = "/sys/fs/bpf/peregrine";

// The maps the filter pins, by role. Each is reached through the
// skeleton (a renamed map fails to compile) and pinned under its own name.
enum class FilterMap : uint8_t {
  Ctl,          // pg_fctl
  Kind,         // pg_fkind
  Mask,         // pg_fmask
  Enum,         // pg_fenum
  Str,          // pg_fstr
  Num,          // pg_fnum
  Path,         // pg_fpath
  Stats,        // pg_fstats
  Slot,         // pg_fslot
  Cgroup,       // pg_fcgroup
  Lifecycle,    // pg_flc
  PendingFork,  // pg_pending_fork
  Proc,         // pg_fproc
  Ino,          // pg_fino
  InoBits,      // pg_finobits
  Image,        // pg_fimage
  Needle,       // pg_fneedle
  Count,
};

struct FilterCounters {
  std::array<pg_filter_stats, PG_FK__COUNT> kinds{};  // per filtered syscall
  std::array<uint64_t, PG_SLOTS> slot_passed{};
  std::array<pg_filter_stats, PG_LC__COUNT> lifecycle{};  // exec, fork, exit: seen, sent
};

class KernelFilter {
 public:
  // Pins the filter maps of `bpf` under `pin_dir` (created if needed;
  // stale pins of an earlier run are replaced).
  static std::expected<std::unique_ptr<KernelFilter>, std::string> create(BpfSession& bpf,
                                                                          std::string pin_dir,
                                                                          bool enabled);
  ~KernelFilter();  // removes our pins
  KernelFilter(const KernelFilter&) = delete;
  KernelFilter& operator=(const KernelFilter&) = delete;

  // Writes `t` as the next generation, then makes it live. On error the
  // live generation is untouched.
  std::expected<uint32_t, std::string> apply(const policy::FilterTables& t);
  uint32_t generation() const { return gen_; }
  // pg_filter_ctl.version of the live tables (what image verdicts are stamped with).
  uint32_t version() const { return version_; }
  bool enabled() const { return enabled_; }
  const std::string& pin_dir() const { return pin_dir_; }

  // Tells the kernel whether cgroup `id` is a container's (PG_FF_CONTAINER).
  // Until it is told, the kernel judges that cgroup's events as unknown.
  void note_cgroup(uint64_t id, bool container);
  // Tells the kernel what userspace judged of process image `image`
  // (PG_FF_IMAGE; engine::Engine::image_verdict).
  void note_image(uint64_t image, const pg_image_slots& v);

  FilterCounters counters() const;

 private:
  KernelFilter() = default;
  struct Map {
    std::string name;
    int fd = -1;
    uint32_t id = 0;
  };
  int fd(FilterMap m) const { return maps_[size_t(m)].fd; }
  std::expected<void, std::string> clear_generation(uint32_t gen);
  // pg_fino to the identities `t` names (user/file_identity.h).
  void sync_identities(const policy::FilterTables& t);

  std::array<Map, size_t(FilterMap::Count)> maps_;
  std::string pin_dir_;
  std::vector<int> cleanups_;  // add_exit_cleanup ids (user/signals.h)
  bool enabled_ = true;
  bool applied_ = false;
  uint32_t gen_ = 0;
  uint32_t version_ = 0;  // pg_filter_ctl.version: one more per apply()
};

// Counters of a running daemon, from its pinned maps (for `policy explain`).
std::expected<FilterCounters, std::string> read_pinned_counters(const std::string& pin_dir);

}  // namespace pg::user
