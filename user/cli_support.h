// `run --dry-run`, `run --support` and `--version`: the commands that report
// on the detector without starting it.
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

// Peregrine's version, the rules-engine version it implements and the
// versions of the plugins whose fields are built in; JSON when `json`.
std::string version_text(bool json);

// SHA-256 of a file's bytes as lowercase hex; "" when unreadable.
std::string file_sha256(const std::string& path);

}  // namespace pg::user
