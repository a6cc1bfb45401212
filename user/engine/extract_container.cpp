#include "user/engine/extract_container.h"

#include <fmt/format.h>
#include <fnmatch.h>

#include <chrono>
#include <cstdlib>

#include "user/container/metadata.h"

namespace pg::user::engine {

namespace {

using V = Value;
using container::Info;

constexpr std::string_view kPodName = "io.kubernetes.pod.name";
constexpr std::string_view kPodNamespace = "io.kubernetes.pod.namespace";
constexpr std::string_view kPodUid = "io.kubernetes.pod.uid";
constexpr std::string_view kSandbox = "io.kubernetes.sandbox.id";

// The event's container: null ref when the cgroup is unknown; a host ref
// outside containers; info when the runtime told us.
struct Ctx {
  const ContainerRef* ref = nullptr;
  const Info* info = nullptr;
};
Ctx ctx(const EventView& v) {
  Ctx c;
  if (!v.cgroups) return c;
  c.ref = v.cgroups->container(v.evt.task.cgroup_id);
  if (c.ref && !c.ref->host() && v.containers) c.info = v.containers->find(c.ref->id);
  return c;
}

template <std::string Info::*Member>
V info_string(const EventView& v, const FieldArg&, std::string&) {
  Ctx c = ctx(v);
  return c.info ? str_or_na(c.info->*Member) : V::na();
}
template <bool Info::*Member>
V info_bool(const EventView& v, const FieldArg&, std::string&) {
  Ctx c = ctx(v);
  return c.info ? V::of_bool(c.info->*Member) : V::na();
}

V container_id(const EventView& v, const FieldArg&, std::string&) {
  Ctx c = ctx(v);
  if (!c.ref) return V::na();
  // Falco's short form: "host" outside containers, else 12 hex digits.
  return c.ref->host() ? V::of("host") : V::of(std::string_view(c.ref->id).substr(0, 12));
}
V container_full_id(const EventView& v, const FieldArg&, std::string&) {
  Ctx c = ctx(v);
  if (!c.ref) return V::na();
  return c.ref->host() ? V::of("host") : V::of(c.ref->id);
}
V container_name(const EventView& v, const FieldArg& a, std::string& s) {
  Ctx c = ctx(v);
  if (c.ref && c.ref->host()) return V::of("host");  // as Falco names the host
  return info_string<&Info::name>(v, a, s);
}
V container_type(const EventView& v, const FieldArg&, std::string&) {
  Ctx c = ctx(v);
  if (!c.ref || c.ref->host()) return V::na();
  return V::of(runtime_name(c.ref->runtime));
}
V container_start_ts(const EventView& v, const FieldArg&, std::string&) {
  Ctx c = ctx(v);
  return c.info && c.info->created_ns ? V::of_int(c.info->created_ns) : V::na();
}
V container_duration(const EventView& v, const FieldArg&, std::string&) {
  Ctx c = ctx(v);
  if (!c.info || !c.info->created_ns || int64_t(v.evt.time_ns) < c.info->created_ns) return V::na();
  return V::of_int(int64_t(v.evt.time_ns) - c.info->created_ns);
}

std::string render_mount(const container::Mount& m) {
  return fmt::format("{}:{}:{}:{}:{}", m.source, m.dest, m.mode, m.rw ? "true" : "false",
                     m.propagation);
}
V container_mounts(const EventView& v, const FieldArg&, std::string& s) {
  Ctx c = ctx(v);
  if (!c.info) return V::na();
  s.clear();
  for (const auto& m : c.info->mounts) s += (s.empty() ? "" : ",") + render_mount(m);
  return V::of(s);
}

// container.mount[N] or container.mount[/dest/glob]; mount.source[...] is
// found by destination, mount.dest[...] by source, as in Falco.
enum class By { Dest, Source };
const container::Mount* find_mount(const Info& info, const FieldArg& a, By by) {
  if (a.index >= 0) return size_t(a.index) < info.mounts.size() ? &info.mounts[a.index] : nullptr;
  for (const auto& m : info.mounts) {
    const std::string& key = by == By::Dest ? m.dest : m.source;
    if (fnmatch(a.key.c_str(), key.c_str(), FNM_PATHNAME) == 0) return &m;
  }
  return nullptr;
}
template <By Key, class Of>
V mount_field(const EventView& v, const FieldArg& a, std::string& s, Of of) {
  Ctx c = ctx(v);
  if (!c.info) return V::na();
  const container::Mount* m = find_mount(*c.info, a, Key);
  if (!m) return V::na();
  s = of(*m);
  return V::of(s);
}
V container_mount(const EventView& v, const FieldArg& a, std::string& s) {
  return mount_field<By::Dest>(v, a, s, render_mount);
}
V container_mount_source(const EventView& v, const FieldArg& a, std::string& s) {
  return mount_field<By::Dest>(v, a, s, [](const container::Mount& m) { return m.source; });
}
V container_mount_dest(const EventView& v, const FieldArg& a, std::string& s) {
  return mount_field<By::Source>(v, a, s, [](const container::Mount& m) { return m.dest; });
}
V container_mount_mode(const EventView& v, const FieldArg& a, std::string& s) {
  return mount_field<By::Dest>(v, a, s, [](const container::Mount& m) { return m.mode; });
}
V container_mount_rdwr(const EventView& v, const FieldArg& a, std::string& s) {
  return mount_field<By::Dest>(
      v, a, s, [](const container::Mount& m) { return std::string(m.rw ? "true" : "false"); });
}
V container_mount_propagation(const EventView& v, const FieldArg& a, std::string& s) {
  return mount_field<By::Dest>(v, a, s, [](const container::Mount& m) { return m.propagation; });
}

V container_label(const EventView& v, const FieldArg& a, std::string&) {
  Ctx c = ctx(v);
  if (!c.info) return V::na();
  const std::string* l = c.info->label(a.key);
  return l ? V::of(*l) : V::na();
}
// "k:v, k:v" as Falco joins labels; `pod` keeps only the pod's own labels
// (the io.kubernetes.* ones describe the pod rather than label it).
V labels(const Info& info, bool pod, std::string& s) {
  s.clear();
  for (const auto& [k, val] : info.labels) {
    if (pod && k.starts_with("io.kubernetes.")) continue;
    s += (s.empty() ? "" : ", ") + k + ":" + val;
  }
  return str_or_na(s);
}
V container_labels(const EventView& v, const FieldArg&, std::string& s) {
  Ctx c = ctx(v);
  return c.info ? labels(*c.info, false, s) : V::na();
}

// ---- k8s.* from the io.kubernetes.* labels kubelet puts on containers ----
template <const std::string_view* Key>
V pod_label(const EventView& v, const FieldArg&, std::string&) {
  Ctx c = ctx(v);
  if (!c.info) return V::na();
  const std::string* l = c.info->label(*Key);
  return l ? str_or_na(*l) : V::na();
}
bool in_pod(const Info& info) { return info.label(kPodName) != nullptr; }
V k8s_pod_labels(const EventView& v, const FieldArg&, std::string& s) {
  Ctx c = ctx(v);
  return c.info && in_pod(*c.info) ? labels(*c.info, true, s) : V::na();
}
V k8s_pod_label(const EventView& v, const FieldArg& a, std::string&) {
  Ctx c = ctx(v);
  if (!c.info || !in_pod(*c.info) || a.key.starts_with("io.kubernetes.")) return V::na();
  const std::string* l = c.info->label(a.key);
  return l ? V::of(*l) : V::na();
}
V k8s_sandbox_id(const EventView& v, const FieldArg&, std::string&) {
  Ctx c = ctx(v);
  if (!c.info) return V::na();
  const std::string* l = c.info->label(kSandbox);
  return l ? str_or_na(std::string_view(*l).substr(0, 12)) : V::na();
}

struct Entry {
  std::string_view name;
  ExtractFn fn;
};

constexpr Entry kContainerExtractors[] = {
    {"container.id", on_view<container_id>},
    {"container.full_id", on_view<container_full_id>},
    {"container.name", on_view<container_name>},
    {"container.image", on_view<info_string<&Info::image>>},
    {"container.image.id", on_view<info_string<&Info::image_id>>},
    {"container.image.repository", on_view<info_string<&Info::image_repository>>},
    {"container.image.tag", on_view<info_string<&Info::image_tag>>},
    {"container.image.digest", on_view<info_string<&Info::image_digest>>},
    {"container.type", on_view<container_type>},
    {"container.privileged", on_view<info_bool<&Info::privileged>>},
    {"container.host_pid", on_view<info_bool<&Info::host_pid>>},
    {"container.host_network", on_view<info_bool<&Info::host_network>>},
    {"container.host_ipc", on_view<info_bool<&Info::host_ipc>>},
    {"container.mounts", on_view<container_mounts>},
    {"container.mount", on_view<container_mount>},
    {"container.mount.source", on_view<container_mount_source>},
    {"container.mount.dest", on_view<container_mount_dest>},
    {"container.mount.mode", on_view<container_mount_mode>},
    {"container.mount.rdwr", on_view<container_mount_rdwr>},
    {"container.mount.propagation", on_view<container_mount_propagation>},
    {"container.start_ts", on_view<container_start_ts>},
    {"container.duration", on_view<container_duration>},
    {"container.label", on_view<container_label>},
    {"container.labels", on_view<container_labels>},
    {"container.metadata_source", on_view<info_string<&Info::source>>},
    {"k8s.pod.name", on_view<pod_label<&kPodName>>},
    {"k8s.ns.name", on_view<pod_label<&kPodNamespace>>},
    {"k8s.pod.uid", on_view<pod_label<&kPodUid>>},
    {"k8s.pod.id", on_view<pod_label<&kPodUid>>},
    {"k8s.pod.full_sandbox_id", on_view<pod_label<&kSandbox>>},
    {"k8s.pod.sandbox_id", on_view<k8s_sandbox_id>},
    {"k8s.pod.labels", on_view<k8s_pod_labels>},
    {"k8s.pod.label", on_view<k8s_pod_label>},
};

}  // namespace

ExtractFn find_container_extractor(std::string_view name) {
  for (const auto& e : kContainerExtractors)
    if (e.name == name) return e.fn;
  return nullptr;
}

}  // namespace pg::user::engine
