#include "user/syscalls/kernel_filter.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "peregrine.skel.h"
#include "user/file_identity.h"
#include "user/signals.h"
#include "user/syscalls/bpf_loader.h"

namespace pg::user {
namespace {

std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

uint32_t map_id(int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

std::expected<void, std::string> update(int fd, const void* key, const void* value,
                                        std::string_view map) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0)
    return std::unexpected(fmt::format("writing {} failed: {}", map, errno_text(errno)));
  return {};
}

// Sum a per-CPU value of `n` u64 words over CPUs.
template <size_t N>
bool percpu_sum(int fd, uint32_t key, std::array<uint64_t, N>& out) {
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return false;
  std::vector<uint64_t> buf(size_t(ncpu) * N);
  if (bpf_map_lookup_elem(fd, &key, buf.data()) != 0) return false;
  out.fill(0);
  for (int c = 0; c < ncpu; ++c)
    for (size_t i = 0; i < N; ++i) out[i] += buf[size_t(c) * N + i];
  return true;
}

// lc_fd: pg_flc, or -1 (a daemon of an older build pinned none).
FilterCounters read_counters(int stats_fd, int slot_fd, int lc_fd) {
  FilterCounters c;
  for (uint32_t k = 0; k < PG_FK__COUNT; ++k) {
    std::array<uint64_t, 2> v{};
    if (percpu_sum(stats_fd, k, v)) c.kinds[k] = {v[0], v[1]};
  }
  for (uint32_t k = 0; lc_fd >= 0 && k < PG_LC__COUNT; ++k) {
    std::array<uint64_t, 2> v{};
    if (percpu_sum(lc_fd, k, v)) c.lifecycle[k] = {v[0], v[1]};
  }
  for (uint32_t s = 0; s < PG_SLOTS; ++s) {
    std::array<uint64_t, 1> v{};
    if (percpu_sum(slot_fd, s, v)) c.slot_passed[s] = v[0];
  }
  return c;
}

bpf_map* skeleton_map(pg_bpf* s, FilterMap m) {
  switch (m) {
    case FilterMap::Ctl:
      return s->maps.pg_fctl;
    case FilterMap::Kind:
      return s->maps.pg_fkind;
    case FilterMap::Mask:
      return s->maps.pg_fmask;
    case FilterMap::Enum:
      return s->maps.pg_fenum;
    case FilterMap::Str:
      return s->maps.pg_fstr;
    case FilterMap::Num:
      return s->maps.pg_fnum;
    case FilterMap::Path:
      return s->maps.pg_fpath;
    case FilterMap::Stats:
      return s->maps.pg_fstats;
    case FilterMap::Slot:
      return s->maps.pg_fslot;
    case FilterMap::Cgroup:
      return s->maps.pg_fcgroup;
    case FilterMap::Lifecycle:
      return s->maps.pg_flc;
    case FilterMap::PendingFork:
      return s->maps.pg_pending_fork;
    case FilterMap::Proc:
      return s->maps.pg_fproc;
    case FilterMap::Ino:
      return s->maps.pg_fino;
    case FilterMap::InoBits:
      return s->maps.pg_finobits;
    case FilterMap::Image:
      return s->maps.pg_fimage;
    case FilterMap::Needle:
      return s->maps.pg_fneedle;
    case FilterMap::Count:
      break;
  }
  return nullptr;
}

}  // namespace

std::expected<std::unique_ptr<KernelFilter>, std::string> KernelFilter::create(BpfSession& bpf,
                                                                               std::string pin_dir,
                                                                               bool enabled) {
  std::unique_ptr<KernelFilter> f(new KernelFilter());
  f->pin_dir_ = std::move(pin_dir);
  f->enabled_ = enabled;
  std::error_code ec;
  std::filesystem::create_directories(f->pin_dir_, ec);
  if (ec)
    return std::unexpected(
        fmt::format("cannot create the pin directory {}: {} (is bpffs mounted "
                    "at /sys/fs/bpf?)",
                    f->pin_dir_, ec.message()));
  for (size_t i = 0; i < size_t(FilterMap::Count); ++i) {
    bpf_map* map = skeleton_map(bpf.skeleton(), FilterMap(i));
    const std::string name = bpf_map__name(map);
    const int fd = bpf_map__fd(map);
    std::string path = f->pin_dir_ + "/" + name;
    if (::unlink(path.c_str()) == 0)
      spdlog::warn("replaced {} (left pinned by an earlier or concurrent run)", path);
    if (bpf_obj_pin(fd, path.c_str()) != 0)
      return std::unexpected(
          fmt::format("pinning {} at {} failed: {}", name, path, errno_text(errno)));
    f->maps_[i] = {name, fd, map_id(fd)};
    // If the process has to end without running the destructor (the stop
    // watchdog), the pin still goes, when it is still ours.
    f->cleanups_.push_back(add_exit_cleanup([path, id = f->maps_[i].id] {
      int pinned = bpf_obj_get(path.c_str());
      if (pinned < 0) return;
      bool ours = map_id(pinned) == id;
      ::close(pinned);
      if (ours) ::unlink(path.c_str());
    }));
  }
  f->cleanups_.push_back(add_exit_cleanup([dir = f->pin_dir_] { ::rmdir(dir.c_str()); }));
  return f;
}

KernelFilter::~KernelFilter() {
  for (int id : cleanups_) remove_exit_cleanup(id);
  // Remove a pin only if it is still ours: a later run may have replaced it.
  for (const auto& m : maps_) {
    if (m.name.empty()) continue;  // not pinned (create stopped early)
    std::string path = pin_dir_ + "/" + m.name;
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) continue;
    bool ours = map_id(fd) == m.id;
    ::close(fd);
    if (ours) ::unlink(path.c_str());
  }
  ::rmdir(pin_dir_.c_str());  // only if empty
}

void KernelFilter::note_cgroup(uint64_t id, bool container) {
  const uint8_t ct = container ? PG_CT_CONTAINER : PG_CT_HOST;
  // A failed update leaves the cgroup unknown, which only costs filtering.
  if (bpf_map_update_elem(fd(FilterMap::Cgroup), &id, &ct, BPF_ANY) != 0)
    spdlog::debug("pg_fcgroup: cannot note cgroup {}: {}", id, errno_text(errno));
}

void KernelFilter::note_image(uint64_t image, const pg_image_slots& v) {
  // A failed update leaves the image without a verdict, which only costs filtering.
  if (bpf_map_update_elem(fd(FilterMap::Image), &image, &v, BPF_ANY) != 0)
    spdlog::debug("pg_fimage: cannot note image {}: {}", image, errno_text(errno));
}

// Delete every keyed entry (strings, numbers, paths) of generation `gen`.
std::expected<void, std::string> KernelFilter::clear_generation(uint32_t gen) {
  auto sweep = [&](FilterMap m, size_t key_size, auto gen_of) -> std::expected<void, std::string> {
    const int mfd = fd(m);
    const std::string& name = maps_[size_t(m)].name;
    std::vector<uint8_t> key(key_size), next(key_size);
    std::vector<std::vector<uint8_t>> doomed;
    const void* prev = nullptr;
    while (bpf_map_get_next_key(mfd, prev, next.data()) == 0) {
      if (gen_of(next.data()) == gen) doomed.push_back(next);
      key = next;
      prev = key.data();
    }
    for (const auto& k : doomed)
      if (bpf_map_delete_elem(mfd, k.data()) != 0 && errno != ENOENT)
        return std::unexpected(fmt::format("clearing {} failed: {}", name, errno_text(errno)));
    return {};
  };
  auto g32 = [](const uint8_t* k) {
    uint32_t g;
    std::memcpy(&g, k, 4);
    return g;
  };
  if (auto r = sweep(FilterMap::Str, sizeof(pg_fkey_str), g32); !r) return r;
  if (auto r = sweep(FilterMap::Num, sizeof(pg_fkey_num), g32); !r) return r;
  return sweep(FilterMap::Path, sizeof(pg_fkey_path),
               [](const uint8_t* k) { return uint32_t(k[offsetof(pg_fkey_path, gen)]); });
}

std::expected<uint32_t, std::string> KernelFilter::apply(const policy::FilterTables& t) {
  // The first generation written is 0; after that, always the one not live.
  const uint32_t g = applied_ ? 1 - gen_ : 0;
  if (auto r = clear_generation(g); !r) return std::unexpected(r.error());

  for (uint32_t k = 0; k < PG_FK__COUNT; ++k) {
    uint32_t i = g * PG_FK__COUNT + k;
    pg_kind_slots v{t.kind[k]};
    if (auto r = update(fd(FilterMap::Kind), &i, &v, "pg_fkind"); !r)
      return std::unexpected(r.error());
  }
  for (uint32_t f = 0; f < PG_FF__COUNT; ++f) {
    uint32_t i = g * PG_FF__COUNT + f;
    if (auto r = update(fd(FilterMap::Mask), &i, &t.mask[f], "pg_fmask"); !r)
      return std::unexpected(r.error());
    auto it = t.enums.find(int(f));
    for (uint32_t v = 0; v < PG_ENUM_VALUES; ++v) {
      uint32_t idx = (g * PG_FF__COUNT + f) * PG_ENUM_VALUES + v;
      pg_accept a{it == t.enums.end() ? pg_slots{} : it->second[v]};
      if (auto r = update(fd(FilterMap::Enum), &idx, &a, "pg_fenum"); !r)
        return std::unexpected(r.error());
    }
  }
  for (const auto& [field, table] : t.needle_tables) {
    const uint32_t i = pg_needle_index(g, uint32_t(field));
    if (auto r = update(fd(FilterMap::Needle), &i, &table, "pg_fneedle"); !r)
      return std::unexpected(r.error());
  }
  for (const auto& [k, slots] : t.strs) {
    pg_fkey_str key{};
    key.gen = g;
    key.field = uint32_t(k.first);
    std::memcpy(key.value, k.second.data(), std::min<size_t>(k.second.size(), PG_COMM_LEN - 1));
    pg_accept a{slots};
    if (auto r = update(fd(FilterMap::Str), &key, &a, "pg_fstr"); !r)
      return std::unexpected(r.error());
  }
  for (const auto& [k, slots] : t.nums) {
    pg_fkey_num key{g, uint32_t(k.first), k.second};
    pg_accept a{slots};
    if (auto r = update(fd(FilterMap::Num), &key, &a, "pg_fnum"); !r)
      return std::unexpected(r.error());
  }
  for (const auto& [k, slots] : t.paths) {
    pg_fkey_path key{};
    key.gen = uint8_t(g);
    key.field = uint8_t(k.first);
    std::memcpy(key.path, k.second.data(), std::min<size_t>(k.second.size(), PG_PATH_KEY_MAX));
    key.prefixlen = uint32_t(8 * (PG_PATH_KEY_HDR + k.second.size()));
    pg_accept a{slots};
    if (auto r = update(fd(FilterMap::Path), &key, &a, "pg_fpath"); !r)
      return std::unexpected(r.error());
  }

  // The flip: one update makes the new generation live.
  uint32_t zero = 0;
  pg_filter_ctl ctl{g, enabled_ ? 1u : 0u, t.eager, ++version_};
  if (auto r = update(fd(FilterMap::Ctl), &zero, &ctl, "pg_fctl"); !r)
    return std::unexpected(r.error());
  gen_ = g;
  applied_ = true;
  sync_identities(t);
  return g;
}

// Not per generation: an entry only says what a file is, and the name it
// gives is the one the record carries and the filter judges alike. Stale
// entries go after the new ones are in, so a watched file never lacks one;
// likewise every entry's bit in pg_finobits is set before the entry goes
// in, and a bit is cleared only once no entry needs it.
void KernelFilter::sync_identities(const policy::FilterTables& t) {
  const FileIdentities ids = watched_identities(t);
  const int mfd = fd(FilterMap::Ino);
  const int bfd = fd(FilterMap::InoBits);
  const uint32_t zero = 0;
  auto bloom = std::make_unique<pg_fino_bloom>();
  if (bpf_map_lookup_elem(bfd, &zero, bloom.get()) != 0) *bloom = {};
  auto exact = std::make_unique<pg_fino_bloom>();
  for (const auto& [k, path] : ids) {
    const uint32_t bit = pg_fino_bit(k.second);
    exact->w[bit >> 6] |= uint64_t(1) << (bit & 63);
  }
  for (size_t i = 0; i < PG_FINO_BLOOM_WORDS; ++i) bloom->w[i] |= exact->w[i];
  bool bits_ok = bpf_map_update_elem(bfd, &zero, bloom.get(), BPF_ANY) == 0;
  size_t failed = 0;
  for (const auto& [k, path] : ids) {
    pg_fino_key key{k.first, k.second};
    pg_fino_name name = fino_name(path);
    failed += bpf_map_update_elem(mfd, &key, &name, BPF_ANY) != 0;
  }
  std::vector<pg_fino_key> doomed;
  pg_fino_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(mfd, prev, &next) == 0) {
    if (!ids.contains({next.dev, next.ino})) doomed.push_back(next);
    key = next;
    prev = &key;
  }
  for (const auto& k : doomed) bpf_map_delete_elem(mfd, &k);
  bits_ok = bits_ok && bpf_map_update_elem(bfd, &zero, exact.get(), BPF_ANY) == 0;
  if (!bits_ok)
    spdlog::warn(
        "pg_finobits: cannot write the identity bits ({}); hard links and bind mounts "
        "of watched files may be named as opened",
        errno_text(errno));
  if (failed)
    spdlog::warn(
        "pg_fino: {} of {} watched files could not be entered by identity (the map "
        "holds {}); hard links and bind mounts of those are named as opened",
        failed, ids.size(), PG_FINO_MAX);
  spdlog::debug("pg_fino: {} watched files and directories by identity", ids.size() - failed);
}

FilterCounters KernelFilter::counters() const {
  return read_counters(fd(FilterMap::Stats), fd(FilterMap::Slot), fd(FilterMap::Lifecycle));
}

std::expected<FilterCounters, std::string> read_pinned_counters(const std::string& pin_dir) {
  int stats = bpf_obj_get((pin_dir + "/pg_fstats").c_str());
  if (stats < 0)
    return std::unexpected(
        fmt::format("no running daemon's filter is pinned at {}: {}", pin_dir, errno_text(errno)));
  int slots = bpf_obj_get((pin_dir + "/pg_fslot").c_str());
  if (slots < 0) {
    ::close(stats);
    return std::unexpected(fmt::format("{}/pg_fslot: {}", pin_dir, errno_text(errno)));
  }
  int lc = bpf_obj_get((pin_dir + "/pg_flc").c_str());
  FilterCounters c = read_counters(stats, slots, lc);
  ::close(stats);
  ::close(slots);
  if (lc >= 0) ::close(lc);
  return c;
}

}  // namespace pg::user
