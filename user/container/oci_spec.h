// What an OCI runtime spec says about a container. The same JSON document
// reaches Peregrine two ways: containerd keeps it with each container (its
// API hands it over), and every runtime leaves it on disk as the bundle's
// config.json for runc. The CRI plugins write the pod into its
// annotations:
//
//   containerd  io.kubernetes.cri.sandbox-name / -namespace / -uid / -id,
//               io.kubernetes.cri.container-name, io.kubernetes.cri.image-name
//   CRI-O       io.kubernetes.pod.name / .namespace / .uid,
//               io.kubernetes.container.name, io.kubernetes.cri-o.SandboxID,
//               io.kubernetes.cri-o.ImageName, io.kubernetes.cri-o.Labels (JSON)
//
// Both are turned into the io.kubernetes.* labels the k8s.* fields read
// (kubelet's own label names), so one set of extractors serves every
// source.
#pragma once

#include <string_view>

#include "user/container/info.h"

namespace pg::user::container {

// Fill what the spec knows into `info`: host namespaces (a namespace the
// spec does not ask for is the host's), bind mounts, privileged, the pod
// labels from the annotations, and the image when `info` has none. Labels
// already in `info` win over annotations. False when `json` is not a spec
// (not a JSON object); `info` is then untouched.
bool apply_oci_spec(std::string_view json, Info& info);

// Add `key=value` to info.labels unless the key is already there.
void add_label(Info& info, std::string_view key, std::string_view value);

}  // namespace pg::user::container
