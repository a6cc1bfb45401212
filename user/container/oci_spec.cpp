#include "user/container/oci_spec.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace pg::user::container {

namespace {

using Json = nlohmann::json;

std::string str_at(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Annotation → the kubelet label it stands for.
struct Alias {
  std::string_view annotation, label;
};
constexpr Alias kPodAnnotations[] = {
    // containerd's CRI plugin
    {"io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"},
    {"io.kubernetes.cri.sandbox-namespace", "io.kubernetes.pod.namespace"},
    {"io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid"},
    {"io.kubernetes.cri.sandbox-id", "io.kubernetes.sandbox.id"},
    {"io.kubernetes.cri.container-name", "io.kubernetes.container.name"},
    // CRI-O writes kubelet's names as annotations
    {"io.kubernetes.pod.name", "io.kubernetes.pod.name"},
    {"io.kubernetes.pod.namespace", "io.kubernetes.pod.namespace"},
    {"io.kubernetes.pod.uid", "io.kubernetes.pod.uid"},
    {"io.kubernetes.container.name", "io.kubernetes.container.name"},
    {"io.kubernetes.cri-o.SandboxID", "io.kubernetes.sandbox.id"},
};

bool has_option(const Json& opts, std::string_view o) {
  if (!opts.is_array()) return false;
  return std::any_of(opts.begin(), opts.end(),
                     [&](const Json& e) { return e.is_string() && e.get<std::string>() == o; });
}

std::string propagation_of(const Json& opts) {
  if (!opts.is_array()) return {};
  for (const auto& e : opts) {
    if (!e.is_string()) continue;
    const std::string o = e.get<std::string>();
    if (o == "rprivate" || o == "private" || o == "rshared" || o == "shared" || o == "rslave" ||
        o == "slave")
      return o;
  }
  return {};
}

}  // namespace

void add_label(Info& info, std::string_view key, std::string_view value) {
  if (!info.label(key)) info.labels.emplace_back(std::string(key), std::string(value));
}

bool apply_oci_spec(std::string_view json, Info& info) {
  Json spec = Json::parse(json, nullptr, false);
  if (spec.is_discarded() || !spec.is_object()) return false;

  const Json empty = Json::object();
  auto ann_it = spec.find("annotations");
  const Json& ann = ann_it != spec.end() && ann_it->is_object() ? *ann_it : empty;
  for (const auto& a : kPodAnnotations)
    if (auto v = str_at(ann, std::string(a.annotation).c_str()); !v.empty())
      add_label(info, a.label, v);
  // CRI-O keeps the container's own labels as one JSON annotation.
  if (auto l = str_at(ann, "io.kubernetes.cri-o.Labels"); !l.empty()) {
    Json labels = Json::parse(l, nullptr, false);
    if (labels.is_object())
      for (auto it = labels.begin(); it != labels.end(); ++it)
        if (it.value().is_string()) add_label(info, it.key(), it.value().get<std::string>());
  }
  if (info.image.empty() || info.image.starts_with("sha256:")) {
    for (const char* k : {"io.kubernetes.cri.image-name", "io.kubernetes.cri-o.ImageName"})
      if (auto v = str_at(ann, k); !v.empty()) {
        info.image = v;
        break;
      }
  }

  auto linux_it = spec.find("linux");
  const Json& lin = linux_it != spec.end() && linux_it->is_object() ? *linux_it : empty;
  // A namespace the spec does not create is the one runc runs in: the host's.
  bool pid = false, net = false, ipc = false;
  if (auto ns = lin.find("namespaces"); ns != lin.end() && ns->is_array()) {
    for (const auto& n : *ns) {
      // With a path it joins another's (a pod sandbox's): still not the host's.
      if (!n.is_object()) continue;
      auto t = str_at(n, "type");
      pid |= t == "pid";
      net |= t == "network";
      ipc |= t == "ipc";
    }
    info.host_pid = !pid;
    info.host_network = !net;
    info.host_ipc = !ipc;
  }

  // Privileged: podman says so; CRI and `ctr run --privileged` unmask
  // /proc (no maskedPaths) and grant CAP_SYS_ADMIN, which no default
  // container has.
  if (auto p = str_at(ann, "io.podman.annotations.privileged"); !p.empty()) {
    info.privileged = p == "TRUE" || p == "true";
  } else {
    bool masked = false;
    if (auto m = lin.find("maskedPaths"); m != lin.end() && m->is_array() && !m->empty())
      masked = true;
    bool sys_admin = false;
    if (auto proc = spec.find("process"); proc != spec.end() && proc->is_object())
      if (auto caps = proc->find("capabilities"); caps != proc->end() && caps->is_object())
        if (auto b = caps->find("bounding"); b != caps->end())
          sys_admin = has_option(*b, "CAP_SYS_ADMIN");
    info.privileged = !masked && sys_admin;
  }

  // The mounts a user asked for are binds; the runtime's own (proc, sysfs,
  // devpts, ...) are not, and the Docker API does not list them either.
  if (auto ms = spec.find("mounts"); ms != spec.end() && ms->is_array() && info.mounts.empty()) {
    for (const auto& m : *ms) {
      if (!m.is_object()) continue;
      const Json& opts = m.contains("options") ? m["options"] : empty;
      if (str_at(m, "type") != "bind" && !has_option(opts, "bind") && !has_option(opts, "rbind"))
        continue;
      Mount mt;
      mt.source = str_at(m, "source");
      mt.dest = str_at(m, "destination");
      mt.rw = !has_option(opts, "ro");
      mt.mode = mt.rw ? "" : "ro";
      mt.propagation = propagation_of(opts);
      info.mounts.push_back(std::move(mt));
    }
  }
  return true;
}

}  // namespace pg::user::container
