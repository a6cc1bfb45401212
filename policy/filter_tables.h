// From a ruleset to the kernel filter's tables (kern/api/filter.h): lower
// every rule, give every distinct clause a slot, and fill, per field, the
// entries that make one lookup judge all slots at once.
//
// The tables are plain containers here; user/kernel_filter writes them into
// the pinned maps under a generation, and NativeFilter evaluates them with
// the same code the eBPF programs run (kern/api/filter_eval.h), which is
// what the differential fuzzer and the unit tests use.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kern/api/filter.h"
#include "policy/lowering.h"
#include "policy/ruleset.h"

namespace pg::policy {

// The syscall behind each pg_fkind, as evt.type names it.
std::string_view filter_kind_name(uint32_t kind);
// pg_fkind of an evt.type name, or -1 when that syscall is not filtered.
int filter_kind_of(std::string_view evt_type);

struct Slot {
  KClause clause;
  std::vector<std::size_t> rules;  // indexes into the ruleset's rules
};

struct FilterTables {
  std::vector<KernelHalf> halves;     // per rule, as lowered (before slot sharing)
  std::vector<pg_slots> rule_slots;   // per rule: its slots
  std::vector<Slot> slots;            // at most PG_SLOTS
  std::vector<std::size_t> collapsed; // rules reduced to their event types to fit the slots

  std::array<pg_slots, PG_FK__COUNT> kind{};
  std::array<pg_field_mask, PG_FF__COUNT> mask{};
  // Enumerated fields: accept sets by value (PG_ENUM_VALUES each).
  std::map<int, std::array<pg_slots, PG_ENUM_VALUES>> enums;
  std::map<std::pair<int, std::string>, pg_slots> strs;  // comm fields (no NUL)
  std::map<std::pair<int, uint64_t>, pg_slots> nums;     // uid, port
  // Trie entries: bytes as stored (exact paths end with '\0'; suffixes reversed).
  std::map<std::pair<int, std::string>, pg_slots> paths;

  // PG_EAGER_*: lifecycle records some enabled rule evaluates as events.
  uint32_t eager = 0;

  std::size_t slots_used() const { return slots.size(); }
};

FilterTables build_filter_tables(const Ruleset& rs, const LoweringOptions& o = {});

// The tables evaluated natively, with the kernel's logic.
class NativeFilter {
 public:
  explicit NativeFilter(const FilterTables& t, uint32_t gen = 0);
  // `path`: an open's path argument (nullptr: none, or unreadable), read
  // the way the eBPF program reads it. `base`: for a relative path, the
  // absolute directory it is relative to, as the kernel's walk finds it
  // (nullptr: the walk failed). `proc`: the process's pg_fproc entry
  // (nullptr: none).
  bool eval(const pg_filter_event& e, const char* path, pg_slots& out,
            const char* base = nullptr, const pg_proc_strs* proc = nullptr) const;
  const pg_proc_strs* proc() const { return proc_; }
  pg_task_slots* task_cache() const { return &task_cache_; }
  // The kernel's pg_fl_resolve, on the base given to eval().
  long resolve(pg_fkey_path* fwd, uint32_t len) const;

  const pg_field_mask* mask(uint32_t field) const;
  const pg_slots* kind(uint32_t kind) const;
  const pg_slots* enum_value(uint32_t field, uint32_t value) const;
  const pg_slots* str(const pg_fkey_str& k) const;
  const pg_slots* num(const pg_fkey_num& k) const;
  const pg_slots* path(const pg_fkey_path& k) const;

 private:
  const FilterTables& t_;
  uint32_t gen_;
  std::unordered_map<std::string, pg_slots> trie_;  // field byte + bytes
  std::size_t longest_ = 0;
  mutable const char* base_ = nullptr;  // during eval() only
  mutable const pg_proc_strs* proc_ = nullptr;
  mutable pg_task_slots task_cache_{};  // see pg_fl_task_cache
};

inline void slot_set(pg_slots& s, std::size_t i) { s.w[i / 64] |= uint64_t(1) << (i % 64); }
inline bool slot_test(const pg_slots& s, std::size_t i) { return s.w[i / 64] >> (i % 64) & 1; }

}  // namespace pg::policy
