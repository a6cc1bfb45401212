// The official Falco rule files (read by path, never copied) must load,
// alone and together, without errors, within the time budget.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "helpers.h"
#include "selftests/common/falco_files.h"

using namespace pg::policy;
using namespace pg::policy::test;

namespace {
const char* kFiles[] = {"falco_rules.yaml", "falco-incubating_rules.yaml",
                        "falco-sandbox_rules.yaml", "k8s_audit_rules.yaml"};
}  // namespace

TEST_CASE("each official Falco rules file loads without errors" * PG_NEEDS_FALCO_FILES) {
  for (const char* f : kFiles) {
    std::vector<std::string> p{pg::test::falco_file(f)};
    auto r = load_rules(p);
    CAPTURE(f);
    CAPTURE(all_diags(r));
    CHECK(r.ok());
    CHECK_FALSE(r.diagnostics.has(Code::UnknownFilter));
    CHECK_FALSE(r.ruleset.rules.empty());
  }
}

TEST_CASE("all four official files load together in 200 ms or less" * PG_NEEDS_FALCO_FILES) {
  std::vector<std::string> p;
  for (const char* f : kFiles) p.push_back(pg::test::falco_file(f));
  auto t0 = std::chrono::steady_clock::now();
  auto r = load_rules(p);
  auto ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  CAPTURE(all_diags(r));
  CHECK(r.ok());
  CHECK(r.ruleset.rules.size() == 141);
  MESSAGE("loaded " << r.ruleset.rules.size() << " rules from 4 files in " << ms << " ms");
  CHECK(ms <= 200.0);
  for (const auto& rule : r.ruleset.rules) {
    CAPTURE(rule.name);
    if (rule.source == EventSource::Syscall) CHECK_FALSE(rule.event_types.names.empty());
  }
  const Rule* shell = r.ruleset.find("Terminal shell in container");
  REQUIRE(shell);
  CHECK(shell->event_types.names == std::vector<std::string>{"execve", "execveat"});
  CHECK(shell->priority == Priority::Notice);
}
