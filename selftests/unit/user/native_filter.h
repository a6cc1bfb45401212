// The kernel filter evaluated natively: the tables a daemon is about to
// load, judged by the same C body the eBPF programs run
// (kern/api/filter_eval.h). The differential test checks with it that no
// event a rule matches is dropped; it is a test double, so it lives here.
#pragma once

#include <string>
#include <unordered_map>

#include "policy/filter_tables.h"

namespace pg::policy {

// The tables evaluated natively, with the kernel's logic.
class NativeFilter {
 public:
  explicit NativeFilter(const FilterTables& t, uint32_t gen = 0);
  // `path`: an open's path argument (nullptr: none, or unreadable), read
  // the way the eBPF program reads it. `base`: for a relative path, the
  // absolute directory it is relative to, as the kernel's walk finds it
  // (nullptr: the walk failed). `proc`: the process's pg_fproc entry
  // (nullptr: none). `kname`: a successful open's own path as the kernel
  // walks it from the opened file (nullptr: it could not be named).
  bool eval(const pg_filter_event& e, const char* path, pg_slots& out, const char* base = nullptr,
            const pg_proc_strs* proc = nullptr, const char* kname = nullptr) const;
  const pg_proc_strs* proc() const { return proc_; }
  // The kernel's pg_fl_needles: the needles of `field` path[0..len) contains.
  long needles(uint32_t field, const char* path, uint32_t len) const;
  // pg_fimage: what userspace judged of a process image.
  void note_image(uint64_t id, const pg_image_slots& v) { images_[id] = v; }
  const pg_image_slots* image(uint64_t id) const;
  pg_task_slots* task_cache() const { return &task_cache_; }
  // The kernel's pg_fl_resolve, on the base given to eval().
  long resolve(pg_fkey_path* fwd, uint32_t len) const;
  // The kernel's pg_fl_kname, on the name given to eval().
  long kname(pg_fkey_path* fwd) const;
  // The kernel's pg_fl_arg: the path given to eval(), read when asked.
  long arg(pg_fkey_path* key) const;
  // How many times eval() has read a successful open's argument lazily.
  std::size_t arg_reads() const { return arg_reads_; }

  const pg_field_mask* mask(uint32_t field) const;
  const pg_slots* kind(uint32_t kind) const;
  const pg_slots* enum_value(uint32_t field, uint32_t value) const;
  const pg_slots* str(const pg_fkey_str& k) const;
  const pg_slots* num(const pg_fkey_num& k) const;
  const pg_slots* path(const pg_fkey_path& k) const;

 private:
  static long read_arg(pg_fkey_path* key, const char* path);
  const FilterTables& t_;
  uint32_t gen_;
  std::unordered_map<std::string, pg_slots> trie_;  // field byte + bytes
  std::size_t longest_ = 0;
  mutable const char* base_ = nullptr;  // during eval() only
  mutable const char* kname_ = nullptr;
  mutable const pg_proc_strs* proc_ = nullptr;
  mutable const char* arg_ = nullptr;
  mutable std::size_t arg_reads_ = 0;
  mutable pg_task_slots task_cache_{};  // see pg_fl_task_cache
  std::unordered_map<uint64_t, pg_image_slots> images_;
};

}  // namespace pg::policy
