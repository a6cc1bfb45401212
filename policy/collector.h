// Collector: merges RawItems from all files in load order, applying
// `override` (append/replace per key), legacy `append: true`, rules that
// only toggle `enabled`, and redefinitions.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "policy/diagnostics.h"
#include "policy/items.h"

namespace pg::policy {

struct CollectedRule {
  std::string name;
  Location loc;
  MappedText condition;
  MappedText output;
  std::string desc;
  Located<std::string> priority;
  std::optional<Located<std::string>> source;
  std::vector<std::string> tags;
  bool enabled = true;
  bool skip_if_unknown_filter = false;
  bool warn_evttypes = true;
  std::vector<ExceptionSpec> exceptions;
};

struct CollectedMacro {
  std::string name;
  Location loc;
  MappedText condition;
};

struct CollectedList {
  std::string name;
  Location loc;
  std::vector<Located<std::string>> items;
};

class Collector {
 public:
  explicit Collector(Diagnostics& diags) : diags_(diags) {}
  void add(RawItem item);

  std::vector<CollectedRule>& rules() { return rules_; }
  std::vector<CollectedMacro>& macros() { return macros_; }
  std::vector<CollectedList>& lists() { return lists_; }

 private:
  void add_rule(RawRule r);
  void add_macro(RawMacro m);
  void add_list(RawList l);
  void merge_exceptions(CollectedRule& target, std::vector<ExceptionSpec> add, bool append,
                        const std::string& rule);
  void check_exception_names(const std::vector<ExceptionSpec>& ex, const std::string& rule);
  void err(Code c, ItemType t, const std::string& name, Location l, std::string msg);

  Diagnostics& diags_;
  std::vector<CollectedRule> rules_;
  std::vector<CollectedMacro> macros_;
  std::vector<CollectedList> lists_;
  std::unordered_map<std::string, std::size_t> rule_index_, macro_index_, list_index_;
};

bool is_identifier(std::string_view s);

}  // namespace pg::policy
