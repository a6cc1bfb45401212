// Exceptions -> condition tree. A rule's exceptions become
// `condition and not (e1 or e2 ...)`, each value tuple of an exception
// `(f1 c1 v1 and f2 c2 v2 ...)`.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "policy/ast.h"
#include "policy/diagnostics.h"
#include "policy/items.h"

namespace pg::policy {

// Returns the expanded items of a list, or nullptr when no such list.
using ListLookup = std::function<const std::vector<std::string>*(const std::string&)>;

// Builds the `(e1 or e2 ...)` tree (nullopt when no exception has values).
// Structural problems are reported as LOAD_ERR_VALIDATE; `ok` turns false.
// Nodes point at `origin` (one per rule, describing its exceptions).
std::optional<Node> build_exceptions(const std::vector<ExceptionSpec>& exceptions,
                                     const std::string& rule, const ConditionSource* origin,
                                     const ListLookup& lists, Diagnostics& diags, bool& ok);

}  // namespace pg::policy
