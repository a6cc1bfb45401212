// Small text helpers shared by the decoders of kernel and /proc formats.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pg::user {

// The `sep`-separated parts of `s`. Empty parts between separators are kept;
// a trailing separator does not add an empty last part ("a\0b\0" is
// {"a", "b"}, as /proc/PID/cmdline and argv blocks are written).
inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(sep, i);
    if (j == std::string_view::npos) j = s.size();
    out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// An argv block (NUL-separated) as strings.
inline std::vector<std::string> split_argv(std::string_view block) {
  std::vector<std::string> out;
  for (auto part : split(block, '\0')) out.emplace_back(part);
  return out;
}

}  // namespace pg::user
