// Field extraction for syscall events: from a registry field (policy/) to a
// function that reads its value from an EventView. Fields are bound once,
// when rules are compiled; extraction itself does no lookups by name.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "policy/ast.h"
#include "policy/fields.h"
#include "user/engine/view.h"

namespace pg::user::engine {

struct FieldArg {
  std::string key;  // "flags" in evt.arg.flags, "HOME" in proc.env[HOME]
  int index = -1;   // 2 in proc.aname[2]
};

using ExtractFn = Value (*)(const EventView&, const FieldArg&, std::string& scratch);

struct BoundField {
  std::string name;  // as written, for output_fields: "proc.aname[2]"
  ExtractFn fn = nullptr;
  FieldArg arg;
  policy::FieldType type = policy::FieldType::String;
  std::vector<policy::Transformer> transformers;  // outermost first
};

// Bind a checked field reference. Fields the registry knows but syscall
// events here cannot supply yet extract as <NA> (never as a wrong value).
BoundField bind_field(const policy::FieldRef& ref);
// The same for a name written in text ("fd.name", "proc.aname[2]").
std::optional<BoundField> bind_field_name(std::string_view name);

// Extract, then apply the transformers.
Value extract(const BoundField& f, const EventView& v, std::string& scratch);

// The value as text (what %field renders as): "<NA>" for missing values.
std::string render_value(const Value& v);

// User and group names from the host's databases, cached.
std::string_view user_name(uint32_t uid);
std::string_view group_name(uint32_t gid);

}  // namespace pg::user::engine
