#include "policy/version.h"

#include <charconv>

namespace pg::policy {

std::string SemVer::str() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::optional<SemVer> parse_semver(std::string_view s) {
  int parts[3] = {0, 0, 0};
  int n = 0;
  const char* p = s.data();
  const char* end = s.data() + s.size();
  while (n < 3) {
    auto [q, ec] = std::from_chars(p, end, parts[n]);
    if (ec != std::errc() || parts[n] < 0) return std::nullopt;
    ++n;
    p = q;
    if (p == end) break;
    if (*p != '.') return std::nullopt;
    ++p;
  }
  if (p != end) return std::nullopt;
  if (n == 1) return SemVer{0, parts[0], 0};  // legacy integer engine version
  return SemVer{parts[0], parts[1], parts[2]};
}

std::optional<SemVer> builtin_plugin_version(std::string_view name) {
  if (name == "k8saudit") return SemVer{0, 18, 0};
  if (name == "json") return SemVer{0, 7, 0};
  if (name == "container") return SemVer{0, 4, 0};
  return std::nullopt;
}

bool version_satisfies(const SemVer& have, const SemVer& need) {
  return have.major == need.major && have >= need;
}

}  // namespace pg::policy
