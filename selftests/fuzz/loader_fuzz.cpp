// libFuzzer target: the whole loader (YAML reader, collector, macro/list/
// exception expansion, type checker, output formats, diagnostics).
#include <cstddef>
#include <cstdint>
#include <string>

#include "policy/ruleset.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pg::policy::InputFile f{"fuzz.yaml", std::string(reinterpret_cast<const char*>(data), size)};
  auto result = pg::policy::load_rules_from_memory({&f, 1});
  for (const auto& d : result.diagnostics.all()) (void)pg::policy::render_text(d);
  for (const auto& r : result.ruleset.rules) (void)pg::policy::to_string(r.condition);
  return 0;
}
