// Load diagnostics: a stable code (modelled on Falco's LOAD_ERR_* / LOAD_*
// set, plus Peregrine's own), the item it concerns, where, and a message
// that says what is wrong and how to fix it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "policy/location.h"
#include "policy/source_text.h"

namespace pg::policy {

enum class Code {
  // errors
  ErrFileRead,
  ErrYamlParse,
  ErrYamlValidate,
  ErrCompileCondition,
  ErrCompileOutput,
  ErrValidate,
  ErrEngineVersion,
  ErrPluginVersion,
  ErrKernelCapacity,
  // warnings
  UnknownSource,
  UnsafeNaCheck,
  NoEvttype,
  UnknownFilter,
  UnusedMacro,
  UnusedList,
  UnknownItem,
  UnknownKey,
  ExceptionNameNotUnique,
  InvalidMacroName,
  InvalidListName,
  UnknownEvttype,
  AppendNoValues,
  DeprecatedItem,
  FieldUnavailable,
  EvttypeNotCaptured,
};

inline constexpr Code kAllCodes[] = {
    Code::ErrFileRead,
    Code::ErrYamlParse,
    Code::ErrYamlValidate,
    Code::ErrCompileCondition,
    Code::ErrCompileOutput,
    Code::ErrValidate,
    Code::ErrEngineVersion,
    Code::ErrPluginVersion,
    Code::ErrKernelCapacity,
    Code::UnknownSource,
    Code::UnsafeNaCheck,
    Code::NoEvttype,
    Code::UnknownFilter,
    Code::UnusedMacro,
    Code::UnusedList,
    Code::UnknownItem,
    Code::UnknownKey,
    Code::ExceptionNameNotUnique,
    Code::InvalidMacroName,
    Code::InvalidListName,
    Code::UnknownEvttype,
    Code::AppendNoValues,
    Code::DeprecatedItem,
    Code::FieldUnavailable,
    Code::EvttypeNotCaptured,
};

enum class Severity { Error, Warning };

std::string_view code_name(Code c);     // "LOAD_ERR_YAML_PARSE"
std::string_view code_summary(Code c);  // one line for docs and --help
Severity code_severity(Code c);
std::optional<Code> code_from_name(std::string_view s);
// Warnings about what this build cannot see (a field without an extractor,
// an uncaptured event type) or about deprecated constructs: the daemon logs
// them at warning level, not only at debug.
bool is_gap_warning(Code c);

struct Diagnostic {
  Code code;
  ItemType item_type = ItemType::None;
  std::string item_name;
  Location loc;
  std::string message;
  std::string excerpt;  // the source line, for condition/output errors
  int caret_col = 0;    // 1-based column of the caret in `excerpt`; 0: none

  Severity severity() const { return code_severity(code); }
  bool is_error() const { return severity() == Severity::Error; }
};

// `file:line:col: error CODE in rule 'X': message` plus excerpt and caret.
std::string render_text(const Diagnostic& d);

class Diagnostics {
 public:
  void add(Diagnostic d);
  // Adds a diagnostic pointing at `offset` of a mapped text (with excerpt).
  void add_at(Code code, ItemType type, std::string name, const MappedText& text,
              std::size_t offset, std::string message);
  const std::vector<Diagnostic>& all() const { return items_; }
  std::size_t error_count() const;
  std::size_t warning_count() const;
  bool has_errors() const { return error_count() > 0; }
  bool has(Code c) const;

 private:
  std::vector<Diagnostic> items_;
  std::unordered_set<std::string> seen_;  // dedup keys
};

}  // namespace pg::policy
