#include <fmt/format.h>

#include <algorithm>

#include "user/config/detail.h"

namespace pg::user::config {

std::string_view error_code_name(ConfigErrorCode code) {
  switch (code) {
    case ConfigErrorCode::FileNotFound:
      return "file-not-found";
    case ConfigErrorCode::Syntax:
      return "syntax";
    case ConfigErrorCode::UnknownKey:
      return "unknown-key";
    case ConfigErrorCode::WrongType:
      return "wrong-type";
    case ConfigErrorCode::OutOfRange:
      return "out-of-range";
    case ConfigErrorCode::BadValue:
      return "bad-value";
    case ConfigErrorCode::Missing:
      return "missing";
    case ConfigErrorCode::BadOverride:
      return "bad-override";
    case ConfigErrorCode::Unsupported:
      return "unsupported-key";
  }
  return "error";
}

std::string ConfigError::to_string() const {
  std::string out;
  if (!file.empty()) {
    out = file;
    if (line > 0) out += fmt::format(":{}:{}", line, column);
    out += ": ";
  }
  out += fmt::format("{}[{}]: ", warning ? "warning" : "error", error_code_name(code));
  if (!key.empty()) out += key + ": ";
  out += message;
  if (!hint.empty()) out += "; " + hint;
  return out;
}

namespace detail {

ConfigError make_error(ConfigErrorCode code, const Origins& origins, const YAML::Node& at,
                       const std::string& key, std::string message, std::string hint) {
  ConfigError e;
  e.code = code;
  e.key = key;
  e.message = std::move(message);
  e.hint = std::move(hint);
  // A value set by -o has no position in the file; name the argument. The
  // error may be about the value's key, a key inside it, or the section
  // the -o created ("-o webserver.x=1" when webserver is unknown).
  for (const auto& [path, arg] : origins.overrides) {
    if (key == path || key.starts_with(path + ".") || path.starts_with(key + ".")) {
      e.file = "-o '" + arg + "'";
      return e;
    }
  }
  const std::string top = key.substr(0, key.find_first_of(".["));
  // A node with no position was made by an -o (e.g. "file_output.enabled=true"
  // created the section that now lacks its filename): name that -o.
  if (!at.IsDefined() || at.Mark().is_null())
    for (const auto& [path, arg] : origins.overrides)
      if (path.substr(0, path.find('.')) == top) {
        e.file = "-o '" + arg + "'";
        return e;
      }
  e.file = origins.file;
  if (auto it = origins.key_files.find(top); it != origins.key_files.end()) e.file = it->second;
  if (at.IsDefined() && !at.Mark().is_null()) {
    e.line = at.Mark().line + 1;
    e.column = at.Mark().column + 1;
  }
  return e;
}

namespace {
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::optional<std::string> did_you_mean(std::string_view word,
                                        const std::vector<std::string_view>& candidates) {
  std::optional<std::string> best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (auto c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = std::string(c);
    }
  }
  // "file" for "file_output": a prefix is a plausible slip too.
  if (!best && word.size() >= 3)
    for (auto c : candidates)
      if (c.starts_with(word)) return std::string(c);
  return best;
}

}  // namespace detail
}  // namespace pg::user::config
