// `peregrine trace`: print captured events as they arrive.
#pragma once

#include <CLI/CLI.hpp>

namespace pg::user {

void add_trace_command(CLI::App& app, int& exit_code);

}  // namespace pg::user
