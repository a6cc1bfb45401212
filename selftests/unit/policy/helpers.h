// Helpers for the policy unit tests: load inline YAML, find diagnostics.
#pragma once

#include <string>
#include <vector>

#include "policy/ruleset.h"

namespace pg::policy::test {

inline LoadResult load_yaml(const std::string& yaml, const std::string& name = "rules.yaml") {
  InputFile f{name, yaml};
  return load_rules_from_memory({&f, 1});
}

inline LoadResult load_yamls(const std::vector<InputFile>& files) { return load_rules_from_memory(files); }

inline const Diagnostic* find_diag(const LoadResult& r, Code c) {
  for (const auto& d : r.diagnostics.all())
    if (d.code == c) return &d;
  return nullptr;
}

inline std::string all_diags(const LoadResult& r) {
  std::string s;
  for (const auto& d : r.diagnostics.all()) s += render_text(d) + "\n";
  return s;
}

inline std::string cond(const LoadResult& r, const std::string& rule) {
  const Rule* x = r.ruleset.find(rule);
  return x ? to_string(x->condition) : "<no rule " + rule + ">";
}

// A complete rule with the given condition (and optional extra keys).
inline std::string rule_yaml(const std::string& name, const std::string& condition,
                             const std::string& extra = "") {
  return "- rule: " + name + "\n  desc: d\n  condition: " + condition +
         "\n  output: o\n  priority: WARNING\n" + extra;
}

}  // namespace pg::policy::test
