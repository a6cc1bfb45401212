#include "user/path.h"

#include <vector>

#include "user/text.h"

namespace pg::user {

std::string normalize_path(std::string_view path) {
  const bool absolute = !path.empty() && path.front() == '/';
  std::vector<std::string_view> parts;
  for (std::string_view part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!absolute) {
        parts.push_back(part);  // a relative path may climb above its start
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  out.reserve(path.size() + 1);
  if (absolute) out.push_back('/');
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out.push_back('/');
    out.append(parts[k]);
  }
  if (out.empty()) out = absolute ? "/" : ".";
  return out;
}

std::string resolve_path(std::string_view base, std::string_view path) {
  if (!path.empty() && path.front() == '/') return normalize_path(path);
  std::string joined(base);
  joined.push_back('/');
  joined.append(path);
  return normalize_path(joined);
}

std::string path_from_components(std::string_view leaf_first) {
  auto parts = split(leaf_first, '\0');
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (it->empty()) continue;
    out.push_back('/');
    out.append(*it);
  }
  return out.empty() ? "/" : out;
}

std::string_view path_dirname(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string_view path_basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace pg::user
