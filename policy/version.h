// Peregrine's rules-engine version and built-in plugin versions, and the
// checks for `required_engine_version` / `required_plugin_versions`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pg::policy {

struct SemVer {
  int major = 0, minor = 0, patch = 0;
  auto operator<=>(const SemVer&) const = default;
  std::string str() const;
};

// The Falco rules-engine version whose language Peregrine implements.
// Integer requirements N (older files) mean 0.N.0. What 0.58-0.63 added:
// nothing (0.58, 0.61), join()/concat() and transformer lists (0.59),
// getopt() (0.60), the comparator modifiers (0.62), \xHH escapes and
// conditions on raw, unsanitised values (0.63) (docs/rules.md, "Engine
// version").
inline constexpr SemVer kEngineVersion{0, 63, 0};

std::optional<SemVer> parse_semver(std::string_view s);  // "1.2.3", "1.2", "15"

// Plugins whose fields Peregrine provides natively, with the version of the
// plugin whose field set we match. nullopt: not built in.
std::optional<SemVer> builtin_plugin_version(std::string_view name);

// A requirement is met by the same major version at least as new.
bool version_satisfies(const SemVer& have, const SemVer& need);

}  // namespace pg::policy
