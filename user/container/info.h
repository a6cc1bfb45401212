// What Peregrine knows about one container beyond its id: the runtime's
// answer, reduced to the fields rules read (container.*, k8s.*).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pg::user::container {

struct Mount {
  std::string source;
  std::string dest;
  std::string mode;  // "z", "ro", ... as the runtime reports it
  bool rw = true;
  std::string propagation;  // "rprivate", ...
};

struct Info {
  std::string id;     // full 64-digit id
  std::string name;   // without the leading '/'
  std::string image;  // as the container was created from: "docker.io/library/nginx:1.25"
  std::string image_repository;  // "docker.io/library/nginx"
  std::string image_tag;         // "1.25"
  std::string image_digest;      // "sha256:…" (from the image's repo digests)
  std::string image_id;          // without "sha256:"
  bool privileged = false;
  bool host_pid = false;
  bool host_network = false;
  bool host_ipc = false;
  int64_t created_ns = 0;  // container.start_ts (Falco reports the creation time)
  std::vector<Mount> mounts;
  std::vector<std::pair<std::string, std::string>> labels;  // in the runtime's order
  // Where this came from (container.metadata_source), comma-separated:
  // "docker-api", "podman-api", "containerd-api", "oci-state",
  // "containers-storage".
  std::string source;
  const std::string* label(std::string_view key) const {
    for (const auto& [k, v] : labels)
      if (k == key) return &v;
    return nullptr;
  }
};

// "registry:5000/ns/app:1.2@sha256:ab" → {"registry:5000/ns/app", "1.2",
// "sha256:ab"}. A ':' before the last '/' is a registry port, not a tag.
struct ImageRef {
  std::string repository, tag, digest;
};
ImageRef parse_image_ref(std::string_view image);

}  // namespace pg::user::container
