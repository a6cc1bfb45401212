// Field extraction: from a registry field (policy/) to a function that reads
// its value from one event source's view. Fields are bound once, per source,
// when rules are compiled; extraction itself does no lookups by name. The
// same name may extract differently per source (evt.time of a syscall vs.
// of an audit event), so binding always says which source it is for.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/ast.h"
#include "policy/fields.h"
#include "policy/lowering.h"
#include "user/engine/view.h"

namespace pg::user::engine {

struct FieldArg {
  std::string key;  // "flags" in evt.arg.flags, "HOME" in proc.env[HOME]
  int index = -1;   // 2 in proc.aname[2]
};

// Receives the view of the source the field was bound for (see view.h).
using ExtractFn = Value (*)(const View&, const FieldArg&, std::string& scratch);

struct BoundCall;  // extract_call.h: a bound join/concat/getopt

struct BoundField {
  std::string name;  // as written, for output_fields: "proc.aname[2]"
  ExtractFn fn = nullptr;
  FieldArg arg;
  policy::FieldType type = policy::FieldType::String;
  std::vector<policy::Transformer> transformers;  // outermost first
  // A multi-value transformer: its value replaces fn's (fn is unused).
  std::shared_ptr<BoundCall> call;
};

// Bind a checked field reference for events of `source`. Fields the
// registry knows but this build cannot supply yet extract as <NA> (never as
// a wrong value).
BoundField bind_field(const policy::FieldRef& ref,
                      policy::EventSource source = policy::EventSource::Syscall);
// The same for a name written in text ("fd.name", "proc.aname[2]").
std::optional<BoundField> bind_field_name(
    std::string_view name, policy::EventSource source = policy::EventSource::Syscall);

// Extract, then apply the transformers. `v` must be a view of the source
// `f` was bound for.
Value extract(const BoundField& f, const View& v, std::string& scratch);

// Shared by the extractor tables: a value, or <NA> when it is empty.
inline Value str_or_na(std::string_view s) { return s.empty() ? Value::na() : Value::of(s); }

// A syscall-view extractor as an ExtractFn. Safe because syscall rules are
// only ever evaluated against syscall views (the engine keeps rules per
// source).
template <Value (*F)(const EventView&, const FieldArg&, std::string&)>
Value on_view(const View& v, const FieldArg& a, std::string& s) {
  return F(static_cast<const EventView&>(v), a, s);
}

// Each source's extractor table: the function for a field name, or null if
// the source has none. Syscall fields live in extract.cpp (fd.* in
// extract_fd.cpp, container.* and k8s.* in extract_container.cpp),
// Kubernetes audit fields in extract_audit.cpp.
ExtractFn find_syscall_extractor(std::string_view name);
ExtractFn find_audit_extractor(std::string_view name);

// The value as text (what %field renders as): "<NA>" for missing values.
std::string render_value(const Value& v);

// User and group names from the host's databases, cached.
std::string_view user_name(uint32_t uid);
// The uids user_name() gives one of `names`, from the host's user database.
std::vector<uint32_t> uids_named(const std::vector<std::string>& names);
// How the kernel filter's tables are lowered on this host.
policy::LoweringOptions host_lowering_options();
std::string_view group_name(uint32_t gid);

}  // namespace pg::user::engine
