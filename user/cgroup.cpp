#include "user/cgroup.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "user/host.h"
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

// Runtime prefixes of a cgroup name ("docker-<id>.scope"), longest first so
// "cri-containerd-" is not read as something shorter.
struct Prefix {
  std::string_view text;
  Runtime runtime;
};
constexpr Prefix kPrefixes[] = {
    {"cri-containerd-", Runtime::Containerd},
    {"containerd-", Runtime::Containerd},
    {"libpod-", Runtime::Podman},
    {"docker-", Runtime::Docker},
    {"crio-", Runtime::CriO},
};

// One path component: the container it names, if any. `parent` is the
// component above it, which names the runtime in the cgroupfs layouts.
std::optional<ContainerRef> from_component(std::string_view c, std::string_view parent,
                                           bool in_kubepods) {
  if (c.ends_with(".scope")) c.remove_suffix(6);
  // The runtimes' monitors sit next to their containers but on the host.
  if (c.find("conmon") != std::string_view::npos) return std::nullopt;
  for (const auto& p : kPrefixes)
    if (c.starts_with(p.text) && is_hex64(c.substr(p.text.size())))
      return ContainerRef{std::string(c.substr(p.text.size())), p.runtime};
  // containerd's systemd form "cri-containerd:<id>" or "<runtime>:<prefix>:<id>".
  if (auto colon = c.rfind(':'); colon != std::string_view::npos) {
    std::string_view id = c.substr(colon + 1);
    if (is_hex64(id))
      return ContainerRef{std::string(id), c.starts_with("crio")     ? Runtime::CriO
                                           : c.starts_with("docker") ? Runtime::Docker
                                                                     : Runtime::Containerd};
  }
  if (!is_hex64(c)) return std::nullopt;
  // A bare id: cgroupfs layouts name the runtime in the parent. Under
  // kubepods any CRI runtime may have made it; elsewhere (/docker/<id>,
  // /actions_job/<id>, /ecs/...) it is docker-managed.
  Runtime r = Runtime::Docker;
  if (parent.starts_with("libpod"))
    r = Runtime::Podman;
  else if (in_kubepods)
    r = Runtime::Cri;
  return ContainerRef{std::string(c), r};
}

// containerd's rule for ids (its `identifiers` package): alphanumerics
// joined by single '.', '_' or '-', at most 76 characters.
bool is_containerd_id(std::string_view s) {
  if (s.empty() || s.size() > 76) return false;
  bool after_sep = true;  // no separator first, none twice
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      after_sep = false;
    } else if (c == '.' || c == '_' || c == '-') {
      if (after_sep) return false;
      after_sep = true;
    } else {
      return false;
    }
  }
  return !after_sep;
}

}  // namespace

std::string_view runtime_name(Runtime r) {
  switch (r) {
    case Runtime::Docker:
      return "docker";
    case Runtime::Podman:
      return "podman";
    case Runtime::CriO:
      return "cri-o";
    case Runtime::Containerd:
      return "containerd";
    case Runtime::Cri:
      return "cri";
    case Runtime::None:
      break;
  }
  return "";
}

ContainerRef container_from_cgroup(std::string_view path,
                                   const std::vector<std::string>& containerd_namespaces) {
  // Innermost wins: "libpod-<id>/container" (the payload cgroup podman
  // makes under its scope) is the same container as the scope itself.
  ContainerRef found;
  std::string_view parent;
  bool kube = false;
  size_t depth = 0;
  for (std::string_view c : split(path, '/')) {
    if (c.empty()) continue;
    ++depth;
    if (c.starts_with("kubepods")) kube = true;
    if (depth == 2 && is_containerd_id(c) && c.find("conmon") == std::string_view::npos &&
        std::find(containerd_namespaces.begin(), containerd_namespaces.end(), parent) !=
            containerd_namespaces.end()) {
      // Plain containerd puts a container at /<namespace>/<id> (its
      // default cgroupsPath), named as its creator chose.
      found = ContainerRef{std::string(c), Runtime::Containerd};
    } else if (auto ref = from_component(c, parent, kube)) {
      found = std::move(*ref);
    }
    parent = c;
  }
  return found;
}

std::string container_id_from_cgroup(std::string_view path) {
  return container_from_cgroup(path).id;
}

ContainerRef container_from_proc_cgroup(std::string_view text) {
  for (std::string_view line : split(text, '\n')) {
    // "hierarchy-id:controllers:path"; the path may itself hold ':'.
    auto a = line.find(':');
    if (a == std::string_view::npos) continue;
    auto b = line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    auto ref = container_from_cgroup(line.substr(b + 1));
    if (!ref.host()) return ref;
  }
  return {};
}

std::string cgroup2_mount_from_mountinfo(std::string_view mountinfo) {
  // "36 25 0:31 / /sys/fs/cgroup rw,... shared:9 - cgroup2 cgroup2 rw": the
  // filesystem type follows the " - " separator; the mount point is field 5.
  std::string best;
  for (std::string_view line : split(mountinfo, '\n')) {
    auto sep = line.find(" - ");
    if (sep == std::string_view::npos) continue;
    std::string_view rest = line.substr(sep + 3);
    if (!rest.starts_with("cgroup2 ")) continue;
    auto fields = split(line.substr(0, sep), ' ');
    if (fields.size() < 5 || fields[3] != "/") continue;  // a bind of a subtree
    std::string point(fields[4]);
    // Prefer the conventional places over a stray extra mount.
    if (best.empty() || point == "/sys/fs/cgroup" ||
        (point == "/sys/fs/cgroup/unified" && best != "/sys/fs/cgroup"))
      best = point;
  }
  return best;
}

namespace {
std::string slurp_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

std::string cgroup2_root_for(std::string_view host_root) {
  if (!host_root.empty()) {
    // In a container, the host's tree is where the host's init mounted it
    // (its mount table names the place: /sys/fs/cgroup, or .../unified on
    // a hybrid host), reached either through the host root mount (HOST_ROOT/
    // sys/fs/cgroup bound in) or through init's own root. Our own
    // /sys/fs/cgroup may be a private cgroup namespace's subtree, or have no
    // v2 tree at all. A cgroup2 root has cgroup.controllers.
    const std::string proc1 = host_path_under(host_root, "/proc/1");
    const std::string point = cgroup2_mount_from_mountinfo(slurp_file(proc1 + "/mountinfo"));
    std::error_code ec;
    if (!point.empty())
      for (const std::string& c : {host_path_under(host_root, point), proc1 + "/root" + point})
        if (std::filesystem::exists(c + "/cgroup.controllers", ec)) return c;
  }
  return cgroup2_mount_from_mountinfo(slurp_file("/proc/self/mountinfo"));
}

const std::string& cgroup2_mount() {
  static const std::string mount = cgroup2_root_for(host_root());
  return mount;
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
  const ContainerRef* c = container(id);
  return c ? &c->id : nullptr;
}

const ContainerRef* CgroupMap::container(uint64_t id) {
  if (!path(id)) return nullptr;
  return &entries_.at(id).container;
}

void CgroupMap::set_containerd_namespaces(std::vector<std::string> ns) {
  containerd_ns_ = std::move(ns);
  for (auto& [id, e] : entries_) e.container = container_from_cgroup(e.path, containerd_ns_);
}

void CgroupMap::add(uint64_t id, std::string p) {
  Entry e{std::move(p), {}};
  e.container = container_from_cgroup(e.path, containerd_ns_);
  auto [it, fresh] = entries_.insert_or_assign(id, std::move(e));
  if (fresh)
    for (const auto& f : on_resolved_) f(id, it->second.path);
}

void CgroupMap::on_resolved(OnResolved f) {
  for (const auto& [id, e] : entries_) f(id, e.path);
  on_resolved_.push_back(std::move(f));
}

bool CgroupMap::learn_from_process(uint64_t id, uint32_t pid) {
  if (root_.empty()) return false;
  if (entries_.count(id)) return true;
  const std::string text = slurp_file(host_path("/proc/" + std::to_string(pid) + "/cgroup"));
  for (std::string_view line : split(text, '\n')) {
    if (!line.starts_with("0::")) continue;
    std::string rel(line.substr(3));
    struct stat sb {};
    auto full = root_ / std::filesystem::path(rel).relative_path();
    // The process may have moved on since the event; only a match counts.
    if (::stat(full.c_str(), &sb) != 0 || sb.st_ino != id) return false;
    add(id, rel);
    return true;
  }
  return false;
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
