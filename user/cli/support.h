// `run --dry-run` and `run --support`: the commands that report on the
// detector without starting it (the versions are user/version.h).
#pragma once

#include <string>

namespace pg::user {

struct DetectorOptions;

// Load the configuration and the rules as `run` would, report every problem
// with its location, start nothing. 0 when both load, 1 otherwise.
int dry_run(const DetectorOptions& o);

// Falco's --support: one JSON document on stdout with the versions, the
// kernel, the command line, every configuration file (name, text, sha256)
// and every rules file (name, sha256). 0, or 1 when the config fails.
int print_support(const DetectorOptions& o, const std::string& cmdline);

}  // namespace pg::user
