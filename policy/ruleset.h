// The public result of loading rules: what the engine, the kernel
// lowering and the CLI consume.
//
//   auto result = pg::policy::load_rules({"rules/a.yaml", "rules/b.yaml"});
//   for (const auto& d : result.diagnostics.all()) std::cerr << render_text(d);
//   if (result.ok()) for (const auto& r : result.ruleset.rules) ...
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/ast.h"
#include "policy/diagnostics.h"
#include "policy/evttypes.h"
#include "policy/fields.h"
#include "policy/items.h"
#include "policy/output_format.h"
#include "policy/priority.h"

namespace pg::policy {

struct Rule {
  std::string name;
  std::string desc;
  Location loc;
  Priority priority = Priority::Debug;
  EventSource source = EventSource::Syscall;
  std::vector<std::string> tags;
  bool enabled = true;
  bool warn_evttypes = true;
  bool skip_if_unknown_filter = false;

  std::string condition_text;  // as written, after appends
  // Macros, lists and exceptions expanded; every FieldRef has field_id set.
  Node condition;
  OutputFormat output;                    // every field segment has field_id set
  std::vector<ExceptionSpec> exceptions;  // as declared (already in `condition`)
  EventTypeSet event_types;               // which evt.type values can match (syscall)
};

struct MacroInfo {
  std::string name;
  Location loc;
  std::string condition_text;
  bool used = false;
};

struct ListInfo {
  std::string name;
  Location loc;
  std::vector<std::string> items;  // nested lists expanded
  bool used = false;
};

struct Ruleset {
  // Rules in load order. Rules that failed to compile, or were skipped
  // (skip-if-unknown-filter, unknown source), are not here.
  std::vector<Rule> rules;
  std::vector<MacroInfo> macros;
  std::vector<ListInfo> lists;
  // Owns the texts that Node::origin points to.
  std::vector<std::unique_ptr<ConditionSource>> sources;

  const Rule* find(std::string_view name) const;
};

struct LoadResult {
  Ruleset ruleset;
  Diagnostics diagnostics;
  bool ok() const { return !diagnostics.has_errors(); }
};

struct InputFile {
  std::string name;  // used in diagnostics
  std::string content;
};

// Entries of the keyed kernel maps (max_entries of pg_fstr, pg_fnum,
// pg_fpath), as the BPF object declares them.
struct TableCapacity {
  std::size_t strs = 0;   // comm names (pg_fstr)
  std::size_t nums = 0;   // uids, ports (pg_fnum)
  std::size_t paths = 0;  // exact paths, prefixes, suffixes (pg_fpath)
};

// What the build that will run the rules can see. The policy library does
// not know which syscalls the daemon captures; the daemon and the CLI pass
// it (user/syscalls/bpf_loader.h: captured_types()).
struct LoadOptions {
  // True for event types this build captures. Unset: not checked. Set, a
  // syscall rule naming a known event type that is not captured gets
  // LOAD_EVTTYPE_NOT_CAPTURED.
  std::function<bool(std::string_view)> evttype_captured;
  // The kernel maps' sizes (policy/filter_capacity.h). Set, a rule set
  // whose kernel half does not fit one generation gets
  // LOAD_ERR_KERNEL_CAPACITY at the rule needing the most entries.
  std::optional<TableCapacity> kernel_capacity;
};

// Loads files in order (later files append to / override earlier ones).
LoadResult load_rules(std::span<const std::string> paths, const LoadOptions& opts = {});
LoadResult load_rules_from_memory(std::span<const InputFile> files, const LoadOptions& opts = {});

}  // namespace pg::policy
