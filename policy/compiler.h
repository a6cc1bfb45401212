// Compiler: collected items -> Ruleset. Parses macro and rule conditions,
// expands macros (tree substitution, loop detection) and lists (nested,
// loop detection), adds exceptions, type-checks, parses outputs, computes
// event types and reports unused macros and lists.
#pragma once

#include "policy/collector.h"
#include "policy/diagnostics.h"
#include "policy/ruleset.h"

namespace pg::policy {

void compile_rules(Collector& collected, Diagnostics& diags, Ruleset& out,
                   const LoadOptions& opts = {});

}  // namespace pg::policy
