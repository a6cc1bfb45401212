// Kernel table capacity, checked when rules load: a rule set whose kernel
// half needs more map entries than one filter generation may use is refused
// up front (LOAD_ERR_KERNEL_CAPACITY, at the rule that needs the most),
// instead of failing when the daemon writes the tables — or, worse, starting
// and then failing every reload.
//
// Why half of each map: a policy switch writes the new generation's entries
// beside the live generation's (kern/api/filter.h, PG_GENERATIONS) and
// flips once, so each generation may use only 1/PG_GENERATIONS of a keyed
// map. A set that fits the whole map but not half of it would start and
// then fail at its first reload.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "policy/diagnostics.h"
#include "policy/filter_tables.h"
#include "policy/ruleset.h"

namespace pg::policy {

// (TableCapacity, the maps' sizes, is declared with LoadOptions in
// policy/ruleset.h.)

// One error per map the tables overflow (one generation's share), naming
// the rule with the most entries there. Empty when everything fits.
std::vector<Diagnostic> check_filter_capacity(const Ruleset& rs, const FilterTables& t,
                                              const TableCapacity& cap);

}  // namespace pg::policy
