// `peregrine policy explain`: how each rule is split between the kernel
// filter and userspace, with the running daemon's kernel counters when its
// maps are pinned.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>
#include <vector>

#include "user/control/socket.h"
#include "user/syscalls/kernel_filter.h"

namespace pg::user {

// The `policy` command group (created on first use).
CLI::App* policy_command(CLI::App& app);
void add_policy_explain_command(CLI::App& app);

struct ExplainOptions {
  std::string rule;                // empty: every rule
  std::vector<std::string> files;  // empty: the default ruleset (rules/*.yaml)
  std::string pin_dir = kDefaultPinDir;
  std::string socket = control::kDefaultSocket;  // a daemon's (empty: none asked)
  bool json = false;
};
int run_policy_explain(const ExplainOptions& o, std::ostream& out, std::ostream& err);

}  // namespace pg::user
