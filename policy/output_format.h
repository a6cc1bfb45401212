// Output format strings (`File opened by %user.name (%proc.name[1])`):
// parsed into literal and field segments at load time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policy/ast.h"
#include "policy/expected.h"

namespace pg::policy {

struct OutputSegment {
  bool is_field = false;
  std::string text;     // literal text (is_field == false)
  FieldRef field;       // is_field == true; field_id set after checking
  std::size_t pos = 0;  // offset of '%' or of the literal in the format
};

struct OutputFormat {
  std::string text;
  std::vector<OutputSegment> segments;
};

struct OutputError {
  std::string message;
  std::size_t pos = 0;
};

// Syntax only: `%name`, `%name[arg]`, `%transformer(name)`. A '%' not
// followed by a letter is literal text. Field names are checked by the
// type checker against the registry.
pg::Expected<OutputFormat, OutputError> parse_output(std::string_view text);

}  // namespace pg::policy
