#include "selftests/unit/user/native_filter.h"

#include <algorithm>
#include <cstring>

namespace pg::policy {

// ---- the evaluation code, compiled natively --------------------------------

#define PG_FL_CTX const NativeFilter*
static const pg_field_mask* pg_fl_mask(PG_FL_CTX ctx, __u32, __u32 field) {
  return ctx->mask(field);
}
static const pg_slots* pg_fl_kind(PG_FL_CTX ctx, __u32, __u32 kind) { return ctx->kind(kind); }
static const pg_slots* pg_fl_enum(PG_FL_CTX ctx, __u32, __u32 field, __u32 value) {
  return ctx->enum_value(field, value);
}
static const pg_slots* pg_fl_str(PG_FL_CTX ctx, const pg_fkey_str* k) { return ctx->str(*k); }
static const pg_slots* pg_fl_num(PG_FL_CTX ctx, const pg_fkey_num* k) { return ctx->num(*k); }
static const pg_slots* pg_fl_path(PG_FL_CTX ctx, const pg_fkey_path* k) { return ctx->path(*k); }
static __u32 pg_fl_container(PG_FL_CTX, const pg_filter_event* e) { return e->container; }
// One task verdict for every event, as if all came from one task whose
// facts keep changing: the differential test runs both the misses and the
// hits of the kernel's per-task cache.
static pg_task_slots* pg_fl_task_cache(PG_FL_CTX ctx, const pg_filter_event*) {
  return ctx->task_cache();
}
static const pg_proc_strs* pg_fl_proc(PG_FL_CTX ctx, const pg_filter_event*) { return ctx->proc(); }
static const pg_image_slots* pg_fl_image(PG_FL_CTX ctx, const pg_proc_strs* p) {
  return ctx->image(p->image);
}
static long pg_fl_resolve(PG_FL_CTX ctx, const pg_filter_event*, pg_fkey_path* fwd, __u32 len) {
  return ctx->resolve(fwd, len);
}
static long pg_fl_kname(PG_FL_CTX ctx, const pg_filter_event*, pg_fkey_path* fwd) {
  return ctx->kname(fwd);
}
static long pg_fl_needles(PG_FL_CTX ctx, __u32, __u32 field, const pg_fkey_path* fwd, __u32 len) {
  return ctx->needles(field, fwd->path, len);
}
static long pg_fl_arg(PG_FL_CTX ctx, const pg_filter_event*, pg_fkey_path* key) {
  return ctx->arg(key);
}
#include "kern/api/filter_eval.h"

// ---- NativeFilter ----------------------------------------------------------

NativeFilter::NativeFilter(const FilterTables& t, uint32_t gen) : t_(t), gen_(gen) {
  for (const auto& [k, v] : t.paths) {
    std::string key(1, char(k.first));
    key += k.second;
    longest_ = std::max(longest_, key.size());
    trie_[key] = v;
  }
}

long NativeFilter::needles(uint32_t field, const char* path, uint32_t len) const {
  auto table = t_.needle_tables.find(int(field));
  if (table == t_.needle_tables.end() || len >= PG_PATH_KEY_MAX) return -1;
  uint32_t found = 0;
  for (uint32_t at = 0; at < len; ++at) found |= pg_needles_at(&table->second, path + at, len - at);
  return found;
}

const pg_image_slots* NativeFilter::image(uint64_t id) const {
  auto it = images_.find(id);
  return it == images_.end() ? nullptr : &it->second;
}

const pg_field_mask* NativeFilter::mask(uint32_t field) const {
  return field < PG_FF__COUNT ? &t_.mask[field] : nullptr;
}
const pg_slots* NativeFilter::kind(uint32_t kind) const {
  return kind < PG_FK__COUNT ? &t_.kind[kind] : nullptr;
}
const pg_slots* NativeFilter::enum_value(uint32_t field, uint32_t value) const {
  auto it = t_.enums.find(int(field));
  if (it == t_.enums.end() || value >= PG_ENUM_VALUES) return nullptr;
  return &it->second[value];
}
const pg_slots* NativeFilter::str(const pg_fkey_str& k) const {
  if (k.gen != gen_) return nullptr;
  auto it = t_.strs.find({int(k.field), std::string(k.value, strnlen(k.value, PG_COMM_LEN))});
  return it == t_.strs.end() ? nullptr : &it->second;
}
const pg_slots* NativeFilter::num(const pg_fkey_num& k) const {
  if (k.gen != gen_) return nullptr;
  auto it = t_.nums.find({int(k.field), k.value});
  return it == t_.nums.end() ? nullptr : &it->second;
}
const pg_slots* NativeFilter::path(const pg_fkey_path& k) const {
  // Longest stored prefix of {field, bytes}, as the LPM trie answers.
  if (k.gen != gen_ || k.prefixlen < 8 * PG_PATH_KEY_HDR) return nullptr;
  std::size_t n = k.prefixlen / 8 - PG_PATH_KEY_HDR;
  std::string key(1, char(k.field));
  key.append(reinterpret_cast<const char*>(k.path), n);
  for (std::size_t len = std::min(key.size(), longest_); len >= 1; --len) {
    auto it = trie_.find(key.substr(0, len));
    if (it != trie_.end()) return &it->second;
  }
  return nullptr;
}

long NativeFilter::resolve(pg_fkey_path* fwd, uint32_t len) const {
  if (!base_) return -1;
  std::string base(base_);
  std::string full = (base == "/" ? "" : base) + "/" + std::string(fwd->path, len);
  if (full.size() >= PG_PATH_KEY_MAX) return -1;
  std::memcpy(fwd->path, full.data(), full.size());
  fwd->path[full.size()] = 0;
  return long(full.size());
}

// As bpf_probe_read_user_str(key->path, PG_PATH_KEY_MAX, path) would.
long NativeFilter::read_arg(pg_fkey_path* key, const char* path) {
  if (!path) return PG_PATH_UNUSABLE;
  std::size_t n = std::min<std::size_t>(std::strlen(path), PG_PATH_KEY_MAX - 1);
  std::memcpy(key->path, path, n);
  key->path[n] = 0;
  return pg_path_len_from_read(long(n + 1));
}

long NativeFilter::arg(pg_fkey_path* key) const {
  ++arg_reads_;
  return read_arg(key, arg_);
}

long NativeFilter::kname(pg_fkey_path* fwd) const {
  if (!kname_) return -1;
  const std::size_t n = std::strlen(kname_);
  if (n >= PG_PATH_KEY_MAX) return -1;  // the kernel's walk stops a key long
  std::memcpy(fwd->path, kname_, n + 1);
  return long(n);
}

bool NativeFilter::eval(const pg_filter_event& e, const char* path, pg_slots& out, const char* base,
                        const pg_proc_strs* proc, const char* kname) const {
  base_ = base;
  kname_ = kname;
  proc_ = proc;
  arg_ = path;
  struct {
    // The path scan may read a word past a key, as in pg_fkeys.
    pg_fkey_path fwd, rev;
    char slack[16];
  } keys{};
  // As the kernel (pg_filter_path): a successful open's argument is read
  // only when asked; a syscall without one says so.
  const bool open = pg_fkind_is_open(e.kind);
  long len = open ? PG_PATH_UNUSABLE : PG_PATH_NONE;
  if (path && open && e.by_object)
    len = PG_PATH_UNREAD;
  else if (path)
    len = read_arg(&keys.fwd, path);
  return pg_filter_eval(this, gen_, &e, &keys.fwd, &keys.rev, len, &out) != 0;
}

}  // namespace pg::policy
