// One linear pass over a disjunction of kernel clauses that does the bulk of
// what lowering's pairwise simplification does, for long disjunctions:
// clauses equal except at one position, where both hold a literal on the
// same field that one literal can say (a positive value or path set, or an
// enumerated field), become one clause with the union there.
//
//   (f in A and g) or (f in B and g)  =  f in (A ∪ B) and g
//
// Why a separate pass: `a = x1 or a = x2 or ... or a = xN` lowers to N
// clauses, and merging them pair by pair, each merge restarting the scan
// and copying the growing union, cost O(N²) or worse (20,000 terms took
// 46 s). Here each clause is hashed once per position and unions are
// collected and sorted once, so N clauses cost O(N log N). The result is
// the same disjunction (equal as a set of events), so soundness is kept;
// the pairwise simplification still runs after it on what is left.
#pragma once

#include <vector>

#include "policy/lowering.h"

namespace pg::policy {

void merge_alike_clauses(std::vector<KClause>& clauses);

}  // namespace pg::policy
