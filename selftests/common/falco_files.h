// The official Falco rule files and Falco's stock falco.yaml are test data
// that live outside the repository (../shared/falco-rules and
// ../shared/falco-config beside a checkout). The environment says where:
// FALCO_RULES (`make test FALCO_RULES=DIR`, default ../shared/falco-rules)
// and FALCO_CONFIG (default ../shared/falco-config/falco.yaml), relative to
// the repository root. Tests that read them carry PG_NEEDS_FALCO_FILES, so
// where they are absent they are reported as skipped (the run says why)
// instead of failing.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace pg::test {

inline std::string falco_rules_dir() {
  const char* dir = std::getenv("FALCO_RULES");
  return dir && *dir ? dir : "../shared/falco-rules";
}

// The path of one official file, e.g. falco_file("falco_rules.yaml").
inline std::string falco_file(std::string_view name) {
  return falco_rules_dir() + "/" + std::string(name);
}

// Falco's stock configuration file.
inline std::string falco_config_file() {
  const char* f = std::getenv("FALCO_CONFIG");
  return f && *f ? f : "../shared/falco-config/falco.yaml";
}

// Every file the tests read must be there; a partial copy is absent.
inline bool have_falco_files() {
  for (const char* f : {"falco_rules.yaml", "falco-incubating_rules.yaml",
                        "falco-sandbox_rules.yaml", "k8s_audit_rules.yaml"})
    if (!std::filesystem::is_regular_file(falco_file(f))) return false;
  return std::filesystem::is_regular_file(falco_config_file());
}

}  // namespace pg::test

// Decorator for a TEST_CASE that reads the official files.
#define PG_NEEDS_FALCO_FILES doctest::skip(!pg::test::have_falco_files())
