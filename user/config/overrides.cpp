// -o key.path=value: edits to the YAML tree made before validation, so an
// override is checked exactly like the same value written in the file.
#include <charconv>

#include "user/config/detail.h"

namespace pg::user::config::detail {
namespace {

struct Segment {
  std::string key;
  enum class Index { None, At, Append } index = Index::None;
  size_t at = 0;
};

ConfigError bad(const std::string& arg, std::string message) {
  ConfigError e;
  e.code = ConfigErrorCode::BadOverride;
  e.file = "-o '" + arg + "'";
  e.message = std::move(message);
  e.hint = "write -o key.path=value, e.g. -o file_output.enabled=true or -o rules_files[]=/x.yaml";
  return e;
}

// Keys are separated by '.'; "\\." is a dot inside a key (a header name
// such as X.Trace), as in Falco 0.44.
std::optional<std::vector<Segment>> split_path(std::string_view path) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '\\' && i + 1 < path.size() && path[i + 1] == '.') {
      parts.back() += '.';
      ++i;
    } else if (path[i] == '.') {
      parts.emplace_back();
    } else {
      parts.back() += path[i];
    }
  }
  std::vector<Segment> out;
  for (std::string_view part : parts) {
    Segment s;
    if (const auto br = part.find('['); br != std::string_view::npos) {
      if (!part.ends_with(']')) return std::nullopt;
      std::string_view idx = part.substr(br + 1, part.size() - br - 2);
      part = part.substr(0, br);
      if (idx.empty()) {
        s.index = Segment::Index::Append;
      } else {
        auto [p, ec] = std::from_chars(idx.data(), idx.data() + idx.size(), s.at);
        if (ec != std::errc() || p != idx.data() + idx.size()) return std::nullopt;
        s.index = Segment::Index::At;
      }
    }
    if (part.empty()) return std::nullopt;
    s.key = std::string(part);
    out.push_back(std::move(s));
  }
  return out;
}

// YAML for lists, maps and quoted text ("-o rules_files=[a, b]"); anything
// else is taken literally, so a shell command containing ": " stays one
// string instead of turning into a map.
YAML::Node parse_value(const std::string& text) {
  try {
    YAML::Node n = YAML::Load(text);
    if (n.IsScalar() || text.starts_with('[') || text.starts_with('{')) return n;
  } catch (const YAML::Exception&) {
  }
  return YAML::Node(text);
}

}  // namespace

std::optional<ConfigError> apply_override(YAML::Node& root, const std::string& arg,
                                          Origins& origins) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) return bad(arg, "no '=' between key path and value");
  const std::string path = arg.substr(0, eq);
  auto segments = split_path(path);
  if (!segments)
    return bad(arg,
               "'" + path + "' is not a key path (keys separated by '.', list index as [N] or [])");
  const YAML::Node value = parse_value(arg.substr(eq + 1));

  std::string key_path;
  // yaml-cpp nodes are handles: reset() rebinds `cur`, while assignment
  // would overwrite the node it refers to.
  YAML::Node cur;
  cur.reset(root);
  for (size_t i = 0; i < segments->size(); ++i) {
    const auto& s = (*segments)[i];
    const bool last = i + 1 == segments->size();
    key_path += (key_path.empty() ? "" : ".") + s.key;
    if (cur.IsDefined() && !cur.IsNull() && !cur.IsMap())
      return bad(arg, "'" + key_path + "' is inside a value that is not a map");
    YAML::Node next = cur[s.key];
    if (s.index == Segment::Index::None) {
      if (last) {
        next = value;
        break;
      }
      cur.reset(next);
      continue;
    }
    if (next.IsDefined() && !next.IsNull() && !next.IsSequence())
      return bad(arg, "'" + key_path + "' is not a list, so it takes no [index]");
    if (s.index == Segment::Index::Append) {
      if (!last) return bad(arg, "[] (append) is only allowed on the last key");
      next.push_back(value);
      break;
    }
    if (!next.IsSequence() || s.at >= next.size())
      return bad(arg, "'" + key_path + "' has no element [" + std::to_string(s.at) + "]");
    if (last) {
      next[s.at] = value;
      break;
    }
    YAML::Node elem = next[s.at];
    cur.reset(elem);
  }
  origins.overrides[key_path] = arg;
  return std::nullopt;
}

}  // namespace pg::user::config::detail
