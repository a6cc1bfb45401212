// Where an item, key or condition character came from in a rules file.
#pragma once

#include <string>

namespace pg::policy {

// 1-based line and column; line 0 means "no position" (e.g. a synthetic item).
struct Location {
  std::string file;
  int line = 0;
  int col = 0;
};

inline std::string to_string(const Location& loc) {
  if (loc.line == 0) return loc.file;
  return loc.file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
}

}  // namespace pg::policy
