// `peregrine rules validate|list|describe` and `peregrine fields`: the
// rule-language commands. Command logic is in run_* functions that write
// to the given streams and return the exit code, so tests can call them.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "policy/ruleset.h"

namespace pg::user {

// Registers `rules` (with validate, list, describe) and `fields` on `app`
// and returns the `rules` subcommand so more can be added (enable/disable).
// A command that fails throws CLI::RuntimeError(exit code) from its
// callback; CLI::App::exit() turns that into the process exit code.
CLI::App* add_rules_commands(CLI::App& app);

// Loads rules files for a command (default: rules/*.yaml); on errors
// prints them to `err` and returns nullopt.
std::optional<policy::LoadResult> load_rules_or_report(std::vector<std::string> files,
                                                       std::ostream& err);

struct ValidateOptions {
  std::vector<std::string> files;
  bool strict = false;  // warnings fail too
  bool json = false;
};
int run_rules_validate(const ValidateOptions& o, std::ostream& out, std::ostream& err);

struct ListOptions {
  std::vector<std::string> files;  // empty: the default ruleset (rules/*.yaml)
  bool json = false;
};
int run_rules_list(const ListOptions& o, std::ostream& out, std::ostream& err);

struct DescribeOptions {
  std::string name;
  std::vector<std::string> files;
  bool json = false;
};
int run_rules_describe(const DescribeOptions& o, std::ostream& out, std::ostream& err);

struct FieldsOptions {
  std::optional<std::string> source;  // syscall or k8s_audit
  bool json = false;
};
int run_fields(const FieldsOptions& o, std::ostream& out, std::ostream& err);

}  // namespace pg::user
