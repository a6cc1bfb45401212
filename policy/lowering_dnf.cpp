// The algebra of kernel clause sets (disjunctions of conjunctions of kernel
// literals): and, or, the merge of literals on one field, simplification,
// and the clause budget that keeps every rule's kernel half small.
#include <algorithm>
#include <cstdint>

#include "policy/dnf_merge.h"
#include "policy/lowering_internal.h"

namespace pg::policy::lowering_detail {
namespace {

std::vector<std::string> set_op(const std::vector<std::string>& a,
                                const std::vector<std::string>& b, char op) {
  std::vector<std::string> out;
  if (op == '&')
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  else if (op == '|')
    std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  else
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

bool is_value_set_field(int f) {
  return f == PG_FF_COMM || f == PG_FF_PCOMM || f == PG_FF_UID || f == PG_FF_PORT;
}

// Every clause of `d` only excludes values (negated sets and paths):
// such an operand narrows little, so it is the first to go over budget.
bool excludes_only(const Dnf& d) {
  return std::all_of(d.begin(), d.end(), [](const KClause& c) {
    return std::all_of(c.literals.begin(), c.literals.end(),
                       [](const KLiteral& l) { return !l.enumerated() && l.negated; });
  });
}

bool and_literal(KLiteral& a, const KLiteral& b);

// a and b, or nothing when they contradict.
std::optional<KClause> and_clauses(const KClause& a, const KClause& b) {
  KClause out = a;
  for (const auto& lit : b.literals) {
    auto same = std::find_if(out.literals.begin(), out.literals.end(), [&](const KLiteral& l) {
      return l.field == lit.field && (l.enumerated() || is_value_set_field(l.field));
    });
    if (same == out.literals.end()) {
      out.literals.push_back(lit);
      continue;
    }
    if (!and_literal(*same, lit)) return std::nullopt;
  }
  return out;
}

// Merge `b` into `a` (same field) as a conjunction; false when empty.
bool and_literal(KLiteral& a, const KLiteral& b) {
  a.text.insert(a.text.end(), b.text.begin(), b.text.end());
  if (a.enumerated()) {
    // An empty set is no contradiction: an enumerated field exists only
    // for some syscalls (the open class for opens, the family for
    // connect), and events of the others never judge it. The literal
    // stays, rejecting just the events that have the field.
    a.accepts &= b.accepts;
    return true;
  }
  if (!a.negated && !b.negated) {
    a.values = set_op(a.values, b.values, '&');
    return !a.values.empty();
  }
  if (a.negated && b.negated) {
    a.values = set_op(a.values, b.values, '|');
    return true;
  }
  const KLiteral& pos = a.negated ? b : a;
  const KLiteral& neg = a.negated ? a : b;
  a.values = set_op(pos.values, neg.values, '-');
  a.negated = false;
  return !a.values.empty();
}

// a or b as one literal (same field), when one literal can say it.
bool or_literal(KLiteral& a, const KLiteral& b) {
  if (a.field != b.field) return false;
  if (a.enumerated()) {
    a.accepts |= b.accepts;
  } else if (is_value_set_field(a.field)) {
    if (!a.negated && !b.negated) {
      a.values = set_op(a.values, b.values, '|');
    } else if (a.negated && b.negated) {
      a.values = set_op(a.values, b.values, '&');
    } else {
      const KLiteral& pos = a.negated ? b : a;
      const KLiteral& neg = a.negated ? a : b;
      a.values = set_op(neg.values, pos.values, '-');
      a.negated = true;
    }
  } else {
    if (a.negated || b.negated) return false;
    a.values = set_op(a.values, b.values, '|');
    a.prefixes = set_op(a.prefixes, b.prefixes, '|');
  }
  a.text.insert(a.text.end(), b.text.begin(), b.text.end());
  return true;
}

bool same_literal(const KLiteral& a, const KLiteral& b) {
  return a.field == b.field && a.negated == b.negated && a.accepts == b.accepts &&
         a.values == b.values && a.prefixes == b.prefixes;
}

// Merge clauses that differ in one literal on the same field, drop
// duplicates; a true clause makes the whole disjunction true.
Dnf simplify(Dnf d) {
  for (const auto& c : d)
    if (c.literals.empty()) return dnf_true();
  bool changed = true;
  while (changed) {
    changed = false;
    for (std::size_t i = 0; i < d.size() && !changed; ++i) {
      for (std::size_t j = i + 1; j < d.size() && !changed; ++j) {
        auto& a = d[i].literals;
        const auto& b = d[j].literals;
        if (a.size() != b.size()) continue;
        std::size_t diff = a.size(), ndiff = 0;
        for (std::size_t k = 0; k < a.size(); ++k)
          if (!same_literal(a[k], b[k])) {
            diff = k;
            ++ndiff;
          }
        if (ndiff == 0) {
          d.erase(d.begin() + long(j));
          changed = true;
        } else if (ndiff == 1) {
          KLiteral merged = a[diff];
          if (or_literal(merged, b[diff])) {
            a[diff] = std::move(merged);
            d.erase(d.begin() + long(j));
            changed = true;
          }
        }
      }
    }
  }
  // A literal that accepts everything says nothing.
  for (auto& c : d)
    std::erase_if(c.literals, [](const KLiteral& l) { return l.enumerated() && l.accepts.all(); });
  for (const auto& c : d)
    if (c.literals.empty()) return dnf_true();
  return d;
}

}  // namespace

Dnf dnf_and(std::vector<Dnf> parts, std::size_t max_clauses, bool& coarsened) {
  // Over budget: drop an operand (it becomes true) until it fits: first
  // the exclusions (an exception's "not (proc.name = x and ...)" passes
  // almost every event anyway), widest first; then the widest of the rest.
  auto product = [&] {
    std::size_t p = 1;
    for (const auto& d : parts) p = std::min<std::size_t>(p * d.size(), SIZE_MAX / 64);
    return p;
  };
  auto weaker = [](const Dnf& a, const Dnf& b) {  // "a is kept before b"
    const bool ea = excludes_only(a), eb = excludes_only(b);
    if (ea != eb) return eb;
    return a.size() < b.size();
  };
  while (!parts.empty() && product() > max_clauses) {
    parts.erase(std::max_element(parts.begin(), parts.end(), weaker));
    coarsened = true;
  }
  Dnf acc = dnf_true();
  for (const auto& d : parts) {
    Dnf next;
    for (const auto& a : acc)
      for (const auto& b : d)
        if (auto c = and_clauses(a, b)) next.push_back(std::move(*c));
    acc = std::move(next);
    if (acc.empty()) return {};
  }
  return simplify(std::move(acc));
}

Dnf dnf_or(Dnf acc, std::size_t max_clauses, bool& coarsened) {
  // Long disjunctions: merge in one linear pass first (policy/dnf_merge.h);
  // what still has far more clauses than the budget becomes true without
  // the pairwise pass, whose cost grows faster than the clause count.
  merge_alike_clauses(acc);
  if (acc.size() > 16 * max_clauses) {
    coarsened = true;
    return dnf_true();
  }
  acc = simplify(std::move(acc));
  if (acc.size() > max_clauses) {
    coarsened = true;
    return dnf_true();
  }
  return acc;
}

}  // namespace pg::policy::lowering_detail
