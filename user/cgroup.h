// Cgroup ids (which every record carries) to cgroup paths, and container
// ids from those paths. A container's processes live in a cgroup named
// after the container by its runtime (docker-<id>.scope, libpod-<id>,
// crio-<id>, cri-containerd-<id>, /docker/<id>, /kubepods/.../<id>), so the
// path alone identifies the container from its first event.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pg::user {

// "" for a host cgroup, else the 64-hex-digit container id in the path.
std::string container_id_from_cgroup(std::string_view path);

class CgroupMap {
 public:
  using OnResolved = std::function<void(uint64_t id, const std::string& path)>;

  // `root` is the cgroup2 mount to search; empty means "never search" (a
  // replay, where every path comes from the recording through add()).
  explicit CgroupMap(std::filesystem::path root = "/sys/fs/cgroup") : root_(std::move(root)) {}

  // The cgroup's path relative to the root ("/system.slice/x.service"), or
  // nullptr if unknown. A miss rescans the hierarchy, at most once a second.
  const std::string* path(uint64_t id);
  // The container id for a cgroup: "" for the host, nullptr if unknown.
  const std::string* container_id(uint64_t id);

  void add(uint64_t id, std::string path);
  void on_resolved(OnResolved f) { on_resolved_ = std::move(f); }

 private:
  void scan();
  struct Entry {
    std::string path;
    std::string container;
  };
  std::filesystem::path root_;
  std::unordered_map<uint64_t, Entry> entries_;
  std::chrono::steady_clock::time_point last_scan_{};
  OnResolved on_resolved_;
};

}  // namespace pg::user
