// Items as read from one rules file, before append/override merging: what
// the reader hands the collector.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "policy/location.h"
#include "policy/source_text.h"

namespace pg::policy {

template <class T>
struct Located {
  T value{};
  Location loc;
};

// One `exceptions:` entry. Single-field form: `fields: proc.name`,
// `comps: in`, `values: [a, b]`. Multi-field form: lists of fields and
// comps and a list of value tuples; a tuple element may itself be a list.
struct ExceptionValue {
  std::vector<std::string> items;  // one element unless `is_list`
  bool is_list = false;
  bool quoted = false;  // scalar written in quotes in YAML
};

struct ExceptionSpec {
  std::string name;
  Location loc;
  std::vector<std::string> fields;
  bool fields_is_list = false;
  std::vector<std::string> comps;
  bool comps_given = false;
  bool comps_is_list = false;
  // Single-field form: each entry has one element; multi-field: one per field.
  std::vector<std::vector<ExceptionValue>> values;
  Location values_loc;
};

enum class OverrideMode { Append, Replace };

// Keys common to all three kinds of item.
struct ItemBase {
  std::string name;
  Location loc;                          // of the item (its `- rule:` line)
  std::map<std::string, Location> keys;  // every key present, with position
  std::map<std::string, OverrideMode> overrides;
  bool has_override = false;
  bool append = false;  // legacy `append: true`
};

struct RawRule : ItemBase {
  std::optional<MappedText> condition;
  std::optional<MappedText> output;
  std::optional<std::string> desc;
  std::optional<Located<std::string>> priority;
  std::optional<Located<std::string>> source;
  std::optional<std::vector<std::string>> tags;
  std::optional<bool> enabled;
  std::optional<bool> skip_if_unknown_filter;
  std::optional<bool> warn_evttypes;
  std::optional<std::vector<ExceptionSpec>> exceptions;
};

struct RawMacro : ItemBase {
  std::optional<MappedText> condition;
};

struct RawList : ItemBase {
  std::optional<std::vector<Located<std::string>>> items;
};

using RawItem = std::variant<RawRule, RawMacro, RawList>;

}  // namespace pg::policy
