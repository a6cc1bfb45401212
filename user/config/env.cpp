// `${VAR}` in configuration values, as Falco expands them (since 0.37, in
// every scalar value of the main file and of its drop-ins, also inside
// longer strings): the variable's value, or nothing when it is unset;
// `$${VAR}` is a literal `${VAR}`. Falco's scanner has two quirks we keep so
// one file means the same in both: a `$` followed by anything else ends the
// expansion of that value, and so does a `${` without a closing `}`. Falco
// also scans the value it just substituted (so `${A}` holding `${B}` expands
// B too, and a variable holding its own reference never ends); Peregrine
// does not expand inside substituted text.
#include <cstdlib>

#include "user/config/detail.h"

namespace pg::user::config::detail {

std::string expand_env_value(std::string value) {
  std::size_t at = value.find('$');
  while (at != std::string::npos) {
    std::string_view rest = std::string_view(value).substr(at);
    if (rest.starts_with("${")) {
      auto close = rest.find('}');
      if (close == std::string_view::npos) break;
      std::string name(rest.substr(2, close - 2));
      const char* env = std::getenv(name.c_str());
      std::string with = env ? env : "";
      value.replace(at, close + 1, with);
      at = value.find('$', at + with.size());
    } else if (rest.starts_with("$${")) {
      if (rest.find('}') == std::string_view::npos) break;
      value.erase(at, 1);  // "$${" -> "${", kept literally
      at = value.find('$', at + 2);
    } else {
      break;  // Falco: any other '$' stops the scan of this value
    }
  }
  return value;
}

void expand_env_vars(YAML::Node node) {
  std::vector<YAML::Node> seen;  // aliases share nodes: expand each once
  auto visit = [&](auto& self, YAML::Node n) -> void {
    for (const auto& s : seen)
      if (s.is(n)) return;
    seen.push_back(n);
    if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it) self(self, it->second);
    } else if (n.IsSequence()) {
      for (std::size_t i = 0; i < n.size(); ++i) self(self, n[i]);
    } else if (n.IsScalar() && n.Scalar().find('$') != std::string::npos) {
      n = expand_env_value(n.Scalar());
    }
  };
  visit(visit, node);
}

}  // namespace pg::user::config::detail
