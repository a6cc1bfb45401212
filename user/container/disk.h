// Container metadata from what the runtimes leave on disk, for when no API
// socket answers (a rootful podman host without `podman.socket`, a
// containerd whose socket is not reachable from here, CRI-O, whose API
// Peregrine does not speak):
//
//   OCI runtime state   <runc root>/<id>/state.json (runc's; podman and
//                       CRI-O use /run/runc, containerd's shim
//                       /run/containerd/runc/<namespace>) names the bundle,
//                       whose config.json is the OCI spec: host namespaces,
//                       bind mounts, privileged, and the pod the CRI plugins
//                       wrote into its annotations (oci_spec.h).
//   containers-storage  <root>/overlay-containers/containers.json (podman,
//                       CRI-O): the container's names, image name and id,
//                       creation time; overlay-images/images.json: the
//                       image's digest.
//
// Plain files, read on the metadata worker thread (never the event thread).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "user/container/info.h"

namespace pg::user::container {

struct DiskOptions {
  // runc state roots: each holds <id>/state.json, or namespace directories
  // that do (containerd's /run/containerd/runc/<namespace>/<id>).
  std::vector<std::string> runc_roots = {"/run/runc", "/run/containerd/runc"};
  // containers-storage's graph root ("" skips it).
  std::string storage_root = "/var/lib/containers/storage";
};

// What the disk says about container `id`, or nullopt when nothing there
// knows it. Info::source lists what answered ("oci-state",
// "containers-storage"). `id` must be a plain name (no '/').
std::optional<Info> read_from_disk(std::string_view id, const DiskOptions& o);

// The parsers, for tests: runc's state.json → the bundle directory
// ("" when absent); containers.json + images.json → name, image, digest.
std::string bundle_from_runc_state(std::string_view state_json);
bool apply_containers_storage(std::string_view containers_json, std::string_view images_json,
                              Info& info);

}  // namespace pg::user::container
