// The kernel half of a rule: a sound over-approximation of its condition,
// made only of facts the eBPF programs can judge (kern/api/filter.h), as a
// bounded disjunction of clauses. Everything else is the userspace residue.
//
// Soundness: for every event e, condition(e) implies kernel_half(e). The
// condition is put in negation normal form; each literal is replaced by a
// kernel literal it implies, or by "true" when the kernel cannot judge it;
// and/or are monotone, so the result is implied by the condition. Over the
// clause budget, a conjunction drops its widest operand (replacing it by
// "true") and a disjunction becomes "true": coarser, still sound.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kern/api/filter.h"
#include "policy/ruleset.h"

namespace pg::policy {

// The syscall behind each pg_fkind, as evt.type names it.
std::string_view filter_kind_name(uint32_t kind);
// pg_fkind of an evt.type name, or -1 when that syscall is not filtered.
int filter_kind_of(std::string_view evt_type);

// The event types a clause can hold for, among the filtered syscalls
// (pg_fkind values in `accepts`). Not a kernel field: it decides which
// syscalls' pg_fkind entries carry the clause's slot, so a clause that
// came from `evt.type = rename and ...` is not judged for opens. A clause
// without one holds for every event type of its rule.
inline constexpr int kKindLiteral = PG_FF__COUNT;
static_assert(PG_FK__COUNT <= PG_ENUM_VALUES, "kind literals hold a pg_fkind set");

// One kernel-judgeable constraint on one field (enum pg_ffield), or the
// clause's event types (kKindLiteral).
struct KLiteral {
  int field = PG_FF_CLASS;
  bool negated = false;                 // value sets: "not in"
  std::bitset<PG_ENUM_VALUES> accepts;  // enumerated fields: the values that pass
  std::vector<std::string> values;      // comm, uid, port, exact paths (sorted)
  std::vector<std::string> prefixes;    // PG_FF_PATH prefixes, PG_FF_SUFFIX suffixes (sorted)
  std::vector<std::string> text;        // the condition pieces it stands for
  // PG_FF_IMAGE: the condition, over fields fixed by the exec only
  // (FieldInfo::image), that userspace judges once per process image.
  std::optional<Node> image;

  bool enumerated() const;
};

struct KClause {
  std::vector<KLiteral> literals;  // conjunction; empty: true
};

struct KernelHalf {
  std::vector<KClause> clauses;  // disjunction; empty: false (the rule can never match)
  bool coarsened = false;        // the clause budget forced a coarser half
  // Condition pieces the kernel cannot judge, in first-seen order.
  std::vector<std::string> residue;
  // True when some clause constrains more than the event type.
  bool sharper_than_type() const;
};

inline constexpr std::size_t kMaxClausesPerRule = 16;

struct LoweringOptions {
  std::size_t max_clauses = kMaxClausesPerRule;
  // The uids whose user.name is one of `names`, exactly as userspace will
  // name them (user/engine: the host's user database). Unset: user.name is
  // residue.
  std::function<std::vector<uint32_t>(const std::vector<std::string>& names)> uids_named;
};

KernelHalf lower_rule(const Rule& rule, const LoweringOptions& o = {});

// The kernel fields (enum pg_ffield, or kKindLiteral for the event type)
// that some comparison on `field` lowers to: `=`, `startswith` and `glob`
// of a value of its type (and `contains "../"`), on any syscall. Empty: userspace only. This is
// what `peregrine fields` prints and what the registry's hint must say.
std::vector<int> kernel_fields_of(std::string_view field);

// Human-readable forms, for `policy explain`.
std::string to_string(const KLiteral& lit);
std::string to_string(const KClause& clause);
std::string_view kernel_field_name(int field);

}  // namespace pg::policy
