// The one log-level vocabulary, shared by `--log-level` and the config's
// `log_level`: Falco's words (emergency, alert, critical, error, warning,
// notice, info, debug) plus trace and off, with the short forms both
// projects' users type (warn, err, crit, emerg). spdlog has fewer levels
// than syslog, so emergency/alert/critical log as critical and notice as
// info.
#pragma once

#include <spdlog/common.h>

#include <optional>
#include <string_view>

namespace pg::user {

inline constexpr const char* kLogLevelWords =
    "trace, debug, info, notice, warning (warn), error (err), critical (crit), alert, "
    "emergency (emerg), off";

inline std::optional<spdlog::level::level_enum> parse_log_level(std::string_view s) {
  using L = spdlog::level::level_enum;
  struct Word {
    std::string_view word;
    L level;
  };
  static constexpr Word kWords[] = {
      {"trace", L::trace},    {"debug", L::debug},    {"info", L::info},
      {"notice", L::info},    {"warning", L::warn},   {"warn", L::warn},
      {"error", L::err},      {"err", L::err},        {"critical", L::critical},
      {"crit", L::critical},  {"alert", L::critical}, {"emergency", L::critical},
      {"emerg", L::critical}, {"off", L::off},
  };
  for (const auto& w : kWords)
    if (w.word == s) return w.level;
  return std::nullopt;
}

// Whether --log-level was given: it then wins over the config's log_level.
inline bool& log_level_from_cli() {
  static bool given = false;
  return given;
}

}  // namespace pg::user
