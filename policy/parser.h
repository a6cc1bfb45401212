// Falco filter-condition parser: text -> Node tree (macros unexpanded,
// fields unresolved). Precedence: `not` > `and` > `or`.
#pragma once

#include <string_view>

#include "policy/ast.h"
#include "policy/expected.h"
#include "policy/lexer.h"

namespace pg::policy {

// Deeper nesting is refused rather than risking the stack. Depth counts
// parser frames: one level of parentheses costs four, so this allows 256.
inline constexpr int kMaxConditionDepth = 1024;

pg::Expected<Node, ParseError> parse_condition(std::string_view text,
                                               const ConditionSource* origin = nullptr);

// A single field reference as used in output formats and exception
// `fields`: `proc.name`, `proc.aname[2]`, `tolower(fd.name)`.
pg::Expected<FieldRef, ParseError> parse_field_ref(std::string_view text);

}  // namespace pg::policy
