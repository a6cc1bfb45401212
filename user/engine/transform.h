// Falco's field transformers (tolower, toupper, b64, basename, len), applied
// to an extracted value.
#pragma once

#include <string>
#include <vector>

#include "policy/ast.h"
#include "user/engine/view.h"

namespace pg::user::engine {

// `val` after `transformers` (outermost first), <NA> staying <NA>. Text
// results live in `scratch`.
Value apply_transformers(const std::vector<policy::Transformer>& transformers, Value val,
                         std::string& scratch);

}  // namespace pg::user::engine
