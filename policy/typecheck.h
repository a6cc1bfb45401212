// Type checker: resolves every field reference against the registry (for
// the rule's event source) and checks operators, arguments and values.
#pragma once

#include <optional>
#include <string>

#include "policy/ast.h"
#include "policy/diagnostics.h"
#include "policy/fields.h"
#include "policy/output_format.h"

namespace pg::policy {

enum class CheckStatus { Ok, Error, UnknownFilter };

struct CheckOptions {
  EventSource source = EventSource::Syscall;
  bool skip_if_unknown_filter = false;
  std::string rule_name;
};

// Resolves `ref` in place (name, arg, field_id). On failure returns a
// message; `unknown` tells an unknown field from other problems.
std::optional<std::string> resolve_field(FieldRef& ref, EventSource source, bool& unknown);

// The type after transformers (len() yields uint64).
FieldType effective_type(const FieldRef& ref);

// nullopt when `value` is acceptable for a field of `type` under `op`.
std::optional<std::string> check_value(FieldType type, Op op, const std::string& value);
std::optional<std::string> check_operator(FieldType type, Op op);

// Checks an expanded condition; diagnostics point into each node's origin.
CheckStatus check_condition(Node& node, const CheckOptions& opts, Diagnostics& diags);

// Resolves the fields of an output format.
CheckStatus check_output(OutputFormat& out, const MappedText& text, const CheckOptions& opts,
                         Diagnostics& diags);

}  // namespace pg::policy
