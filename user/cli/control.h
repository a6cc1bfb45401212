// The commands that talk to a running daemon over its control socket:
// `peregrine policy load|list|show|unload|reload`, `peregrine status` and
// `peregrine rules enable|disable`. Each sends one request and prints the
// answer as a table (or, with --json, the daemon's JSON result).
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

namespace pg::user {

// `rules` is the group add_rules_commands() returned.
void add_control_commands(CLI::App& app, CLI::App* rules);

// Printers, exposed for tests: `result` is a response's "result".
void print_policy_list(const nlohmann::json& result, std::ostream& out);
void print_policy_show(const nlohmann::json& result, std::ostream& out);
void print_status(const nlohmann::json& result, std::ostream& out);

}  // namespace pg::user
