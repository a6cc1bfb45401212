// From a ruleset to the kernel filter's tables (kern/api/filter.h): lower
// every rule, give every distinct clause a slot, and fill, per field, the
// entries that make one lookup judge all slots at once.
//
// The tables are plain containers here; user/syscalls/kernel_filter writes them into
// the pinned maps under a generation; the tests' NativeFilter
// (selftests/unit/user/native_filter.h) evaluates them with the same code
// the eBPF programs run (kern/api/filter_eval.h).
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

struct Slot {
  KClause clause;
  std::vector<std::size_t> rules;  // indexes into the ruleset's rules
};

struct FilterTables {
  std::vector<KernelHalf> halves;      // per rule, as lowered (before slot sharing)
  std::vector<pg_slots> rule_slots;    // per rule: its slots
  std::vector<Slot> slots;             // at most PG_SLOTS
  std::vector<std::size_t> collapsed;  // rules reduced to their event types to fit the slots

  std::array<pg_slots, PG_FK__COUNT> kind{};
  std::array<pg_field_mask, PG_FF__COUNT> mask{};
  // Enumerated fields: accept sets by value (PG_ENUM_VALUES each).
  std::map<int, std::array<pg_slots, PG_ENUM_VALUES>> enums;
  std::map<std::pair<int, std::string>, pg_slots> strs;  // comm fields (no NUL)
  std::map<std::pair<int, uint64_t>, pg_slots> nums;     // uid, port
  // Trie entries: bytes as stored (exact paths end with '\0'; suffixes reversed).
  std::map<std::pair<int, std::string>, pg_slots> paths;

  // PG_FF_IMAGE: each distinct condition on a process image, with the slots
  // whose clauses hold it. Userspace judges them at each exec; a slot
  // survives an image when every condition of its clause holds.
  struct ImageTest {
    Node condition;
    std::string text;
    pg_slots slots{};
  };
  std::vector<ImageTest> images;

  // PG_FF_PATH_NEEDLE and PG_FF_ARG_NEEDLE: the substrings each field is
  // searched for (their bits in that order), and the same as the kernel's
  // pg_fneedle entry.
  std::map<int, std::vector<std::string>> needles;
  std::map<int, pg_needles> needle_tables;

  // PG_EAGER_*: lifecycle records some enabled rule evaluates as events.
  uint32_t eager = 0;

  std::size_t slots_used() const { return slots.size(); }
};

FilterTables build_filter_tables(const Ruleset& rs, const LoweringOptions& o = {});

// The kernel's form of a generation's needles (at most PG_NEEDLES, each
// cut to PG_NEEDLE_MAX bytes: the lowering makes none longer).
pg_needles needle_table(const std::vector<std::string>& needles);

inline void slot_set(pg_slots& s, std::size_t i) { s.w[i / 64] |= uint64_t(1) << (i % 64); }
inline bool slot_test(const pg_slots& s, std::size_t i) { return s.w[i / 64] >> (i % 64) & 1; }

}  // namespace pg::policy
