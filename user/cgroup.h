// Cgroup ids (which every record carries) to cgroup paths, and containers
// from those paths. A container's processes live in a cgroup named after
// the container by its runtime, so the path alone identifies the container
// and its runtime from the container's first event:
//
//   docker      /docker/<id>                  (cgroupfs driver)
//               /system.slice/docker-<id>.scope        (systemd driver)
//   podman      /libpod_parent/libpod-<id>    (cgroupfs manager)
//               /machine.slice/libpod-<id>.scope       (systemd manager)
//   cri-o       /kubepods/.../crio-<id>       /kubepods-....slice/crio-<id>.scope
//   containerd  /kubepods/.../cri-containerd-<id>.scope
//               /kubepods/<qos>/pod<uid>/<id> (cgroupfs, runtime not named: "cri")
//               /<namespace>/<id>  (plain containerd, `ctr run`: the id is
//               any name containerd accepts, the namespace one we were told)
//
// The runtime's monitor processes (libpod-conmon-<id>, crio-conmon-<id>)
// run on the host, not in the container. The same layouts appear in cgroup
// v1 hierarchies and in the v2 tree.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pg::user {

enum class Runtime : uint8_t { None, Docker, Podman, CriO, Containerd, Cri };

// Falco's container.type for a runtime: "docker", "podman", "cri-o",
// "containerd", "cri"; "" for None.
std::string_view runtime_name(Runtime r);

struct ContainerRef {
  // 64 lowercase hex digits ("" for the host); for plain containerd the
  // name it was created with ("web-1"), which need not be hex.
  std::string id;
  Runtime runtime = Runtime::None;
  bool host() const { return id.empty(); }
};

// containerd namespaces whose `/<namespace>/<id>` cgroups (plain
// containerd's default layout) are containers.
inline const std::vector<std::string> kDefaultContainerdNamespaces = {"k8s.io", "default"};

// The container a cgroup path belongs to (innermost wins), or a host ref.
ContainerRef container_from_cgroup(
    std::string_view path,
    const std::vector<std::string>& containerd_namespaces = kDefaultContainerdNamespaces);
// "" for a host cgroup, else the 64-hex-digit container id in the path.
std::string container_id_from_cgroup(std::string_view path);

// The container named by a /proc/PID/cgroup text, v1 ("4:memory:/docker/ID")
// or v2 ("0::/..."); the first line that names a container wins. For hosts
// whose cgroup ids cannot say (cgroup v1 only, no v2 tree).
ContainerRef container_from_proc_cgroup(std::string_view text);

// Where the cgroup v2 tree is mounted, from a /proc/self/mountinfo text:
// "/sys/fs/cgroup" on a unified host, "/sys/fs/cgroup/unified" on a hybrid
// one; "" when there is none (cgroup v1 only).
std::string cgroup2_mount_from_mountinfo(std::string_view mountinfo);
// The host's cgroup v2 tree as this process reaches it. With a host root
// (HOST_ROOT, the daemon in a container) that is the tree the host's init
// mounted (ROOT/proc/1/mountinfo), under ROOT (the host's /sys/fs/cgroup
// bound there) or else through ROOT/proc/1/root; otherwise, or when neither
// can be reached, our own mount (/proc/self/mountinfo). "" when none.
std::string cgroup2_root_for(std::string_view host_root);
// cgroup2_root_for(host_root()), computed once.
const std::string& cgroup2_mount();

class CgroupMap {
 public:
  using OnResolved = std::function<void(uint64_t id, const std::string& path)>;

  // `root` is the cgroup2 mount to search; empty means "never search" (a
  // replay, where every path comes from the recording through add()).
  explicit CgroupMap(std::filesystem::path root = cgroup2_mount()) : root_(std::move(root)) {}

  // The cgroup's path relative to the root ("/system.slice/x.service"), or
  // nullptr if unknown. A miss rescans the hierarchy, at most once a second.
  const std::string* path(uint64_t id);
  // The container id for a cgroup: "" for the host, nullptr if unknown.
  const std::string* container_id(uint64_t id);
  // The container (id and runtime) for a cgroup; nullptr if unknown.
  const ContainerRef* container(uint64_t id);

  void add(uint64_t id, std::string path);
  // The containerd namespaces of the `/<namespace>/<id>` layout; cgroups
  // already known are judged again.
  void set_containerd_namespaces(std::vector<std::string> ns);
  // Learn an unknown cgroup from a process in it (/proc/PID/cgroup, checked
  // against the id): a container's first event comes right after its cgroup
  // was made, often within the rescan interval. False if it did not resolve.
  bool learn_from_process(uint64_t id, uint32_t pid);
  // Calls `f` for every cgroup resolved from now on, and at once for every
  // cgroup already known (a recording needs each path, the kernel filter
  // each cgroup's container-or-host).
  void on_resolved(OnResolved f);

 private:
  void scan();
  struct Entry {
    std::string path;
    ContainerRef container;
  };
  std::filesystem::path root_;
  std::vector<std::string> containerd_ns_ = kDefaultContainerdNamespaces;
  std::unordered_map<uint64_t, Entry> entries_;
  std::chrono::steady_clock::time_point last_scan_{};
  std::vector<OnResolved> on_resolved_;
};

}  // namespace pg::user
