// Peregrine's version and how it reports itself: the version text of
// `--version` and the webserver's /versions, and the digests of the files it
// was configured with (`run --support`, the control socket).
#pragma once

#include <string>

namespace pg::user {
inline constexpr const char* kVersion = "0.1.0";

// The plugins whose fields are built in, by Falco's plugin names.
inline constexpr const char* kBuiltinPlugins[] = {"container", "k8saudit", "json"};

// Peregrine's version, the rules-engine version it implements and the
// versions of the plugins whose fields are built in; JSON when `json`.
std::string version_text(bool json);

// SHA-256 of a file's bytes as lowercase hex; "" when unreadable.
std::string file_sha256(const std::string& path);

}  // namespace pg::user
