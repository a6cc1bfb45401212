#include "policy/diagnostics.h"

#include <algorithm>

namespace pg::policy {
namespace {

struct CodeInfo {
  Code code;
  std::string_view name;
  Severity severity;
  std::string_view summary;
};

constexpr CodeInfo kCodes[] = {
    {Code::ErrFileRead, "LOAD_ERR_FILE_READ", Severity::Error, "the rules file could not be read"},
    {Code::ErrYamlParse, "LOAD_ERR_YAML_PARSE", Severity::Error, "the file is not valid YAML"},
    {Code::ErrYamlValidate, "LOAD_ERR_YAML_VALIDATE", Severity::Error,
     "an item has the wrong shape (missing key, wrong value type)"},
    {Code::ErrCompileCondition, "LOAD_ERR_COMPILE_CONDITION", Severity::Error,
     "a condition does not parse or type-check (syntax, unknown field or macro, bad value)"},
    {Code::ErrCompileOutput, "LOAD_ERR_COMPILE_OUTPUT", Severity::Error,
     "an output format string names an unknown field or is malformed"},
    {Code::ErrValidate, "LOAD_ERR_VALIDATE", Severity::Error,
     "an item is inconsistent (bad priority, override of an undefined item, bad exception)"},
    {Code::ErrEngineVersion, "LOAD_ERR_ENGINE_VERSION", Severity::Error,
     "the file needs a newer rules engine than Peregrine's"},
    {Code::ErrPluginVersion, "LOAD_ERR_PLUGIN_VERSION", Severity::Error,
     "the file needs a plugin Peregrine does not provide (or a newer version of one)"},
    {Code::ErrKernelCapacity, "LOAD_ERR_KERNEL_CAPACITY", Severity::Error,
     "the rules need more kernel filter entries than one policy generation has room for"},
    {Code::UnknownSource, "LOAD_UNKNOWN_SOURCE", Severity::Warning,
     "a rule's source is not one Peregrine knows; the rule is skipped"},
    {Code::UnsafeNaCheck, "LOAD_UNSAFE_NA_CHECK", Severity::Warning,
     "a condition compares a field with \"<NA>\", which is unreliable"},
    {Code::NoEvttype, "LOAD_NO_EVTTYPE", Severity::Warning,
     "a syscall rule does not restrict evt.type and would run on (almost) every event"},
    {Code::UnknownFilter, "LOAD_UNKNOWN_FILTER", Severity::Warning,
     "a rule with skip-if-unknown-filter uses an unknown field; the rule is skipped"},
    {Code::UnusedMacro, "LOAD_UNUSED_MACRO", Severity::Warning, "a macro is never used"},
    {Code::UnusedList, "LOAD_UNUSED_LIST", Severity::Warning, "a list is never used"},
    {Code::UnknownItem, "LOAD_UNKNOWN_ITEM", Severity::Warning,
     "an unknown top-level item is ignored"},
    {Code::UnknownKey, "LOAD_UNKNOWN_KEY", Severity::Warning,
     "an unknown key in an item is ignored"},
    {Code::ExceptionNameNotUnique, "LOAD_EXCEPTION_NAME_NOT_UNIQUE", Severity::Warning,
     "two exceptions of one rule share a name"},
    {Code::InvalidMacroName, "LOAD_INVALID_MACRO_NAME", Severity::Warning,
     "a macro name is not an identifier, so conditions cannot reference it"},
    {Code::InvalidListName, "LOAD_INVALID_LIST_NAME", Severity::Warning,
     "a list name is not an identifier, so conditions cannot reference it"},
    {Code::UnknownEvttype, "LOAD_UNKNOWN_EVTTYPE", Severity::Warning,
     "evt.type is compared with a name that is not a known event type"},
    {Code::AppendNoValues, "LOAD_APPEND_NO_VALUES", Severity::Warning,
     "an append or override adds nothing (empty value)"},
    {Code::DeprecatedItem, "LOAD_DEPRECATED_ITEM", Severity::Warning,
     "a deprecated construct (%container.info, evt.dir, evt.latency) is used"},
    {Code::FieldUnavailable, "LOAD_FIELD_UNAVAILABLE", Severity::Warning,
     "a field this build has no extractor for is used; it is always <NA>"},
    {Code::EvttypeNotCaptured, "LOAD_EVTTYPE_NOT_CAPTURED", Severity::Warning,
     "a rule names an event type this build does not capture; it never sees such events"},
};

}  // namespace

bool is_gap_warning(Code c) {
  return c == Code::FieldUnavailable || c == Code::EvttypeNotCaptured || c == Code::DeprecatedItem;
}

namespace {

const CodeInfo& info(Code c) {
  for (const auto& i : kCodes)
    if (i.code == c) return i;
  return kCodes[0];
}

}  // namespace

std::string_view code_name(Code c) { return info(c).name; }
std::string_view code_summary(Code c) { return info(c).summary; }
Severity code_severity(Code c) { return info(c).severity; }
std::optional<Code> code_from_name(std::string_view s) {
  for (const auto& i : kCodes)
    if (i.name == s) return i.code;
  return std::nullopt;
}

std::string render_text(const Diagnostic& d) {
  std::string out = to_string(d.loc);
  if (!out.empty()) out += ": ";
  out += d.is_error() ? "error " : "warning ";
  out += code_name(d.code);
  if (!d.item_name.empty() || d.item_type != ItemType::None) {
    out += " in ";
    out += item_type_name(d.item_type);
    if (!d.item_name.empty()) out += " '" + d.item_name + "'";
  }
  out += ": ";
  out += d.message;
  if (!d.excerpt.empty()) {
    out += "\n  ";
    out += d.excerpt;
    if (d.caret_col > 0) {
      out += "\n  ";
      // Keep tabs so the caret lines up under tab-indented text.
      for (int i = 1; i < d.caret_col && static_cast<std::size_t>(i - 1) < d.excerpt.size(); ++i)
        out += d.excerpt[static_cast<std::size_t>(i - 1)] == '\t' ? '\t' : ' ';
      out += '^';
    }
  }
  return out;
}

void Diagnostics::add(Diagnostic d) {
  // One broken macro used by many rules must be reported once.
  std::string key = std::string(code_name(d.code)) + '\0' + to_string(d.loc) + '\0' + d.item_name +
                    '\0' + d.message;
  if (!seen_.insert(std::move(key)).second) return;
  items_.push_back(std::move(d));
}

void Diagnostics::add_at(Code code, ItemType type, std::string name, const MappedText& text,
                         std::size_t offset, std::string message) {
  Diagnostic d{code, type, std::move(name), text.location(offset), std::move(message), {}, 0};
  auto line = text.source_line(offset);
  if (!line.empty()) {
    d.excerpt = std::string(line);
    d.caret_col = d.loc.col;
  } else if (!text.text().empty()) {
    // No exact mapping: show the condition text itself around the offset.
    const auto& t = text.text();
    auto b = t.rfind('\n', offset == 0 ? 0 : offset - 1);
    b = (b == std::string::npos || offset == 0) ? 0 : b + 1;
    auto e = t.find('\n', offset);
    d.excerpt = t.substr(b, e == std::string::npos ? std::string::npos : e - b);
    d.caret_col = static_cast<int>(std::min(offset, t.size()) - b) + 1;
  }
  add(std::move(d));
}

std::size_t Diagnostics::error_count() const {
  return static_cast<std::size_t>(
      std::count_if(items_.begin(), items_.end(), [](const auto& d) { return d.is_error(); }));
}
std::size_t Diagnostics::warning_count() const { return items_.size() - error_count(); }
bool Diagnostics::has(Code c) const {
  return std::any_of(items_.begin(), items_.end(), [c](const auto& d) { return d.code == c; });
}

}  // namespace pg::policy
