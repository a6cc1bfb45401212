// libFuzzer target: the condition parser and canonical printer.
// Property: anything that parses prints to a canonical form that parses
// again to the same canonical form; nothing crashes or overflows the stack.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "policy/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto n = pg::policy::parse_condition(text);
  if (!n) return 0;
  std::string canon = pg::policy::to_string(*n);
  auto again = pg::policy::parse_condition(canon);
  if (!again || pg::policy::to_string(*again) != canon) std::abort();
  return 0;
}
