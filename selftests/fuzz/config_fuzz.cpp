// libFuzzer target: a configuration file (user/config/*): YAML, the schema,
// Falco's structured keys, every check, and the rendered error. The first
// line, when it starts with "#o ", is also applied as a -o override.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "user/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pg::user::config;
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  if (text.starts_with("#o ")) overrides.push_back(text.substr(3, text.find('\n') - 3));
  auto cfg = parse_config(text, "fuzz.yaml", overrides, size % 2 == 1);
  if (!cfg) {
    (void)cfg.error().to_string();
  } else {
    for (const auto& w : cfg->warnings) (void)w.to_string();
  }
  return 0;
}
