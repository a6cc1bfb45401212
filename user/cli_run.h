// `peregrine run`: the detector daemon in the foreground.
#pragma once

#include <CLI/CLI.hpp>

namespace pg::user {

void add_run_command(CLI::App& app, int& exit_code);

}  // namespace pg::user
