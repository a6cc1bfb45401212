// `peregrine run` (the detector on live events) and `peregrine replay` (the
// same detector on recordings).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace pg::user {

struct DetectorOptions;
// -c, -r, -o, --json: shared by run and replay.
void add_detector_options(CLI::App* cmd, DetectorOptions& o);

void add_run_command(CLI::App& app, int& exit_code, const std::string& cmdline);
void add_replay_command(CLI::App& app, int& exit_code);

}  // namespace pg::user
