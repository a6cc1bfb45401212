#include "user/cgroup.h"

#include <sys/stat.h>

#include <cctype>

#include "user/text.h"

namespace pg::user {

namespace {

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) ||
        std::isupper(static_cast<unsigned char>(c)))
      return false;
  return true;
}

}  // namespace

std::string container_id_from_cgroup(std::string_view path) {
  // Look at each component, innermost last wins: strip a runtime prefix
  // ("docker-", "libpod-", "crio-", "cri-containerd-", ...) and a ".scope"
  // suffix, and accept what remains if it is a 64-digit hex id.
  std::string found;
  for (std::string_view c : split(path, '/')) {
    if (c.ends_with(".scope")) c.remove_suffix(6);
    if (auto dash = c.rfind('-'); dash != std::string_view::npos && c.size() - dash - 1 == 64)
      c = c.substr(dash + 1);
    if (auto colon = c.rfind(':'); colon != std::string_view::npos) c = c.substr(colon + 1);
    // "libpod-<id>/container" is the same container as its parent scope.
    if (is_hex64(c)) found = std::string(c);
  }
  return found;
}

const std::string* CgroupMap::path(uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end() && !root_.empty()) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_scan_ >= std::chrono::seconds(1)) {
      last_scan_ = now;
      scan();
      it = entries_.find(id);
    }
  }
  return it == entries_.end() ? nullptr : &it->second.path;
}

const std::string* CgroupMap::container_id(uint64_t id) {
  if (!path(id)) return nullptr;
  return &entries_.at(id).container;
}

void CgroupMap::add(uint64_t id, std::string p) {
  Entry e{std::move(p), {}};
  e.container = container_id_from_cgroup(e.path);
  auto [it, fresh] = entries_.insert_or_assign(id, std::move(e));
  if (fresh && on_resolved_) on_resolved_(id, it->second.path);
}

void CgroupMap::scan() {
  // A cgroup v2 id is the inode number of the cgroup's directory.
  std::error_code ec;
  struct stat root_sb {};
  if (::stat(root_.c_str(), &root_sb) == 0 && !entries_.count(root_sb.st_ino))
    add(root_sb.st_ino, "/");
  for (auto it = std::filesystem::recursive_directory_iterator(
           root_, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    struct stat sb {};
    if (::stat(it->path().c_str(), &sb) != 0 || entries_.count(sb.st_ino)) continue;
    add(sb.st_ino, "/" + std::filesystem::relative(it->path(), root_, ec).string());
  }
}

}  // namespace pg::user
