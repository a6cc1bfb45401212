// Internals shared by the config loader's files (not a public interface).
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "user/config/config.h"

namespace pg::user::config::detail {

// Where values came from, so an error can point at the file position or at
// the -o argument that put the value there.
struct Origins {
  std::string file;
  std::map<std::string, std::string> overrides;  // key path (no indices) → the -o argument
  std::map<std::string, std::string> key_files;  // top-level key → the drop-in that set it
  std::vector<std::string> merged;               // every drop-in read, in order
};

ConfigError make_error(ConfigErrorCode code, const Origins& origins, const YAML::Node& at,
                       const std::string& key, std::string message, std::string hint = {});

// The closest of `candidates` to `word`, if it is close enough to be a
// plausible typo.
std::optional<std::string> did_you_mean(std::string_view word,
                                        const std::vector<std::string_view>& candidates);

// Apply one "-o key.path=value" to the tree. Segments may end in [N] (replace
// list element N) or [] (append to the list). Records the key path in
// `origins`.
std::optional<ConfigError> apply_override(YAML::Node& root, const std::string& arg,
                                          Origins& origins);

// Falco's `${VAR}` expansion of every scalar value under `node` (env.cpp).
void expand_env_vars(YAML::Node node);
std::string expand_env_value(std::string value);

}  // namespace pg::user::config::detail
