// Falco's eight alert priorities, the one definition every part of Peregrine
// uses: rules (`priority:`), the configuration (`priority:` threshold) and
// the outputs. Most severe first, so "at least as severe as the threshold"
// is `p <= threshold`; the numeric values equal the syslog(3) levels
// (LOG_EMERG = 0 … LOG_DEBUG = 7), which is how the syslog sink maps them.
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string_view>

namespace pg::policy {

enum class Priority : int {
  Emergency = 0,
  Alert = 1,
  Critical = 2,
  Error = 3,
  Warning = 4,
  Notice = 5,
  Informational = 6,
  Debug = 7,
};

inline constexpr std::array<std::string_view, 8> kPriorityNames = {
    "Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"};

// The spelling Falco prints ("Warning", "Informational").
constexpr std::string_view priority_name(Priority p) {
  const auto i = static_cast<int>(p);
  return (i >= 0 && i < 8) ? kPriorityNames[static_cast<size_t>(i)] : std::string_view{"Unknown"};
}

// The one parser. Case-insensitive, and accepts the short forms Falco's
// own parser and rule files use ("WARN", "INFO", "ERR", "EMERG", "CRIT").
inline std::optional<Priority> priority_from_name(std::string_view text) {
  auto eq = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  };
  for (size_t i = 0; i < kPriorityNames.size(); ++i)
    if (eq(text, kPriorityNames[i])) return static_cast<Priority>(i);
  struct Alias {
    std::string_view name;
    Priority p;
  };
  static constexpr Alias kAliases[] = {
      {"emerg", Priority::Emergency}, {"crit", Priority::Critical},      {"err", Priority::Error},
      {"warn", Priority::Warning},    {"info", Priority::Informational},
  };
  for (const auto& a : kAliases)
    if (eq(text, a.name)) return a.p;
  return std::nullopt;
}

// True when `p` is at least as severe as `threshold` (Falco's `priority:`).
constexpr bool priority_passes(Priority p, Priority threshold) {
  return static_cast<int>(p) <= static_cast<int>(threshold);
}

}  // namespace pg::policy
