// The kernel filter's tables and two engines built from the same rules:
// one that sees every event, one gated by the filter's slots. Shared by the
// differential test and the focused kernel-filter cases.
#pragma once

#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "policy/filter_tables.h"
#include "policy/ruleset.h"
#include "user/engine/engine.h"
#include "user/engine/extract.h"

namespace pg::test {

struct Rig {
  policy::LoadResult loaded;
  policy::FilterTables tables;
  std::unique_ptr<user::engine::Engine> plain, gated;

  explicit Rig(std::vector<policy::InputFile> files) {
    loaded = policy::load_rules_from_memory(files);
    for (const auto& d : loaded.diagnostics.all())
      if (d.is_error()) MESSAGE(policy::render_text(d));
    REQUIRE_MESSAGE(loaded.ok(), "rules did not load");
    tables = policy::build_filter_tables(loaded.ruleset, user::engine::host_lowering_options());
    user::engine::EngineOptions o;
    o.all_matches = true;
    plain = std::move(*user::engine::Engine::build(loaded.ruleset, o));
    gated = std::move(*user::engine::Engine::build(loaded.ruleset, o));
    gated->set_kernel_filter(tables, 0);
  }
};

inline std::vector<policy::InputFile> read_files(const std::vector<std::string>& paths) {
  std::vector<policy::InputFile> out;
  for (const auto& p : paths) {
    FILE* f = std::fopen(p.c_str(), "rb");
    REQUIRE_MESSAGE(f, "cannot open " << p);
    std::string s;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
    std::fclose(f);
    out.push_back({p, s});
  }
  return out;
}

}  // namespace pg::test
