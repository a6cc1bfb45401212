// Lowering's parts, shared by its files and by nothing else (policy/lowering.h
// is the interface):
//   lowering.cpp          the walk over a condition (not, and, or, modifiers)
//   lowering_compare.cpp  one comparison → kernel literals (the literal mapping)
//   lowering_values.cpp   what a literal says of one candidate value (enumerated
//                         fields) and what a glob or a path fixes
//   lowering_dnf.cpp      the algebra of clause sets: and, or, simplify, budget
//   lowering_probe.cpp    which kernel fields a registry field lowers to
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/ast.h"
#include "policy/fields.h"
#include "policy/lowering.h"

namespace pg::policy::lowering_detail {

using Dnf = std::vector<KClause>;  // empty: false; {{}}: true

inline Dnf dnf_true() { return Dnf{KClause{}}; }
inline bool is_true(const Dnf& d) { return d.size() == 1 && d[0].literals.empty(); }

void sort_unique(std::vector<std::string>& v);

// How the registry says a referenced field lowers (None for calls and
// unknown names). Lowering dispatches on this, not on field names.
KernelForm kernel_form(const FieldRef& f);

// ---- the algebra (lowering_dnf.cpp) -----------------------------------------

// The conjunction of `parts` (none of them true or false), within `max_clauses`:
// over budget, operands are dropped (become true) and `coarsened` is set.
Dnf dnf_and(std::vector<Dnf> parts, std::size_t max_clauses, bool& coarsened);
// The disjunction of the clauses `acc`, within `max_clauses` (else true).
Dnf dnf_or(Dnf acc, std::size_t max_clauses, bool& coarsened);

// ---- candidate values (lowering_values.cpp) ---------------------------------

std::optional<bool> str_op(Op op, const std::vector<Value>& vals, std::string_view s);
std::optional<int64_t> to_int(std::string_view s);
// Open-class literal: does some open event of class `c` satisfy a
// comparison on a field of this form?
std::optional<bool> class_may(KernelForm form, const FieldRef& f, Op op,
                              const std::vector<Value>& vals, bool negated, uint32_t c);
// Connect family literal: fd.typechar / fd.type of a connect's socket.
std::optional<bool> family_may(KernelForm form, Op op, const std::vector<Value>& vals, bool negated,
                               uint32_t fam);

// What a glob pattern (fnmatch without flags, as the engine matches it)
// fixes: every match starts with `prefix` and ends with `suffix`; a
// pattern with no special character matches only itself (`exact`).
struct GlobParts {
  std::string prefix, suffix;
  bool exact = false;
};
GlobParts glob_parts(std::string_view g);
// An absolute path the kernel sees as is (no "//", ".", ".." parts), short
// enough for its path keys.
bool clean_abs_path(std::string_view p);

// ---- the walk (lowering.cpp, comparisons in lowering_compare.cpp) -----------

struct Lowering {
  std::size_t max_clauses;
  const LoweringOptions& opts;
  // The rule's syscalls when every one is a path operation (else empty):
  // then evt.arg.NAME is the kernel's first path argument if NAME names it
  // for each of them.
  std::vector<uint16_t> pathops;
  // The filtered syscalls (pg_fkind) the rule's event types name.
  std::bitset<PG_FK__COUNT> rule_kinds;
  bool coarsened = false;
  std::vector<std::string> residue;

  // Inside a condition over image fields only, already judged as a whole
  // (PG_FF_IMAGE): its parts are not judged again.
  bool in_image = false;
  std::size_t unknowns = 0;  // pieces left to userspace so far
  int in_disjunction = 0;    // operands of an "or" being lowered

  bool is_first_path_arg(const FieldRef& f) const;
  Dnf unknown(const Node& n, bool negated);

  static Dnf one(std::vector<KLiteral> lits) {
    KClause c;
    c.literals = std::move(lits);
    return Dnf{std::move(c)};
  }

  // An enumerated-field literal, built by trying every domain value.
  template <class May>
  static std::optional<KLiteral> enumerate(int field, uint32_t domain, May may) {
    KLiteral lit;
    lit.field = field;
    for (uint32_t v = 0; v < domain; ++v) {
      std::optional<bool> r = may(v);
      if (!r) return std::nullopt;
      lit.accepts[v] = *r;
    }
    for (uint32_t v = domain; v < PG_ENUM_VALUES; ++v) lit.accepts[v] = true;
    return lit;
  }

  Dnf kinds(const Node& n, bool negated);
  Dnf compare(const Node& n, bool negated);
  std::optional<Dnf> event_arg_by_syscall(const Node& n, bool negated,
                                          const std::vector<KLiteral>& open_lits);
  Dnf modified(const Node& n, bool negated);
  Dnf lower(const Node& n, bool negated);
  Dnf lower_node(const Node& n, bool negated);
  Dnf image(const Node& n, bool negated);
  Dnf conjoin(const std::vector<Node>& kids, bool negated);
  Dnf disjoin(const std::vector<Node>& kids, bool negated);
};

}  // namespace pg::policy::lowering_detail
