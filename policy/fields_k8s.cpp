// Kubernetes audit (k8s_audit source) fields: the k8saudit plugin's ka.*
// and the generic JSON accessors jevt.* / json.*.
#include "policy/fields.h"

namespace pg::policy {
namespace {

using T = FieldType;
using A = ArgKind;
using K = KernelForm;
constexpr std::uint8_t KA = kSrcK8sAudit;

// clang-format off
constexpr FieldInfo kFields[] = {
  {"jevt.time", T::String, A::None, false, false, KA, K::None, "audit event timestamp as a string"},
  {"jevt.time.iso8601", T::String, A::None, false, false, KA, K::None, "audit event timestamp in ISO 8601"},
  {"jevt.rawtime", T::AbsTime, A::None, false, false, KA, K::None, "audit event timestamp in nanoseconds"},
  {"jevt.value", T::String, A::Key, true, false, KA, K::None, "value at a JSON pointer, e.g. jevt.value[/user/username]"},
  {"jevt.obj", T::String, A::None, false, false, KA, K::None, "the whole audit event as JSON"},
  {"json.value", T::String, A::Key, true, false, KA, K::None, "value at a JSON pointer (json plugin)"},
  {"json.obj", T::String, A::None, false, false, KA, K::None, "the whole event as JSON (json plugin)"},
  {"json.rawtime", T::AbsTime, A::None, false, false, KA, K::None, "event timestamp (json plugin)"},
  {"ka.auditid", T::String, A::None, false, false, KA, K::None, "audit id"},
  {"ka.stage", T::String, A::None, false, false, KA, K::None, "audit stage"},
  {"ka.auth.decision", T::String, A::None, false, false, KA, K::None, "authorization decision: allow or forbid"},
  {"ka.auth.reason", T::String, A::None, false, false, KA, K::None, "authorization reason"},
  {"ka.auth.openshift.decision", T::String, A::None, false, false, KA, K::None, "OpenShift authorization decision"},
  {"ka.auth.openshift.username", T::String, A::None, false, false, KA, K::None, "OpenShift authorized user"},
  {"ka.user.name", T::String, A::None, false, false, KA, K::None, "user name performing the request"},
  {"ka.user.groups", T::StringList, A::None, false, false, KA, K::None, "groups of the user"},
  {"ka.impuser.name", T::String, A::None, false, false, KA, K::None, "impersonated user name"},
  {"ka.verb", T::String, A::None, false, false, KA, K::None, "action: create, update, delete, get, ..."},
  {"ka.uri", T::String, A::None, false, false, KA, K::None, "request URI"},
  {"ka.uri.param", T::String, A::Key, true, false, KA, K::None, "one query parameter of the request URI"},
  {"ka.target.name", T::String, A::None, false, false, KA, K::None, "target object name"},
  {"ka.target.namespace", T::String, A::None, false, false, KA, K::None, "target object namespace"},
  {"ka.target.resource", T::String, A::None, false, false, KA, K::None, "target object resource"},
  {"ka.target.subresource", T::String, A::None, false, false, KA, K::None, "target object subresource"},
  {"ka.target.pod.name", T::String, A::None, false, false, KA, K::None, "pod name of the target (exec, attach)"},
  {"ka.req.binding.subjects", T::StringList, A::None, false, false, KA, K::None, "subjects of a role binding"},
  {"ka.req.binding.role", T::String, A::None, false, false, KA, K::None, "role of a role binding"},
  {"ka.req.binding.subject.has_name", T::String, A::Key, true, false, KA, K::None, "'true' if a binding subject has the given name"},
  {"ka.req.configmap.name", T::String, A::None, false, false, KA, K::None, "config map name"},
  {"ka.req.configmap.obj", T::String, A::None, false, false, KA, K::None, "config map object as JSON"},
  {"ka.req.pod.containers.image", T::StringList, A::Index, false, false, KA, K::None, "container images of a pod"},
  {"ka.req.container.image", T::String, A::None, false, false, KA, K::None, "first container image (deprecated)"},
  {"ka.req.pod.containers.image.repository", T::StringList, A::Index, false, false, KA, K::None, "container image repositories of a pod"},
  {"ka.req.container.image.repository", T::String, A::None, false, false, KA, K::None, "first image repository (deprecated)"},
  {"ka.req.pod.host_ipc", T::String, A::None, false, false, KA, K::None, "hostIPC of a pod"},
  {"ka.req.pod.host_network", T::String, A::None, false, false, KA, K::None, "hostNetwork of a pod"},
  {"ka.req.container.host_network", T::String, A::None, false, false, KA, K::None, "hostNetwork of a pod (deprecated)"},
  {"ka.req.pod.host_pid", T::String, A::None, false, false, KA, K::None, "hostPID of a pod"},
  {"ka.req.pod.containers.host_port", T::StringList, A::Index, false, false, KA, K::None, "host ports of a pod's containers"},
  {"ka.req.pod.containers.privileged", T::StringList, A::Index, false, false, KA, K::None, "privileged flags of a pod's containers"},
  {"ka.req.container.privileged", T::StringList, A::Index, false, false, KA, K::None, "privileged flags (deprecated)"},
  {"ka.req.pod.containers.allow_privilege_escalation", T::StringList, A::Index, false, false, KA, K::None, "allowPrivilegeEscalation of a pod's containers"},
  {"ka.req.pod.containers.read_only_fs", T::StringList, A::Index, false, false, KA, K::None, "readOnlyRootFilesystem of a pod's containers"},
  {"ka.req.pod.run_as_user", T::Int64, A::None, false, false, KA, K::None, "runAsUser of a pod"},
  {"ka.req.pod.containers.run_as_user", T::StringList, A::Index, false, false, KA, K::None, "runAsUser of a pod's containers"},
  {"ka.req.pod.containers.eff_run_as_user", T::StringList, A::Index, false, false, KA, K::None, "effective runAsUser of a pod's containers"},
  {"ka.req.pod.run_as_group", T::Int64, A::None, false, false, KA, K::None, "runAsGroup of a pod"},
  {"ka.req.pod.containers.run_as_group", T::StringList, A::Index, false, false, KA, K::None, "runAsGroup of a pod's containers"},
  {"ka.req.pod.containers.eff_run_as_group", T::StringList, A::Index, false, false, KA, K::None, "effective runAsGroup of a pod's containers"},
  {"ka.req.pod.containers.proc_mount", T::StringList, A::Index, false, false, KA, K::None, "procMount of a pod's containers"},
  {"ka.req.pod.containers.add_capabilities", T::StringList, A::Index, false, false, KA, K::None, "added capabilities of a pod's containers"},
  {"ka.req.pod.fs_group", T::Int64, A::None, false, false, KA, K::None, "fsGroup of a pod"},
  {"ka.req.pod.supplemental_groups", T::StringList, A::None, false, false, KA, K::None, "supplementalGroups of a pod"},
  {"ka.req.pod.ephemeralContainers.image", T::StringList, A::Index, false, false, KA, K::None, "images of a pod's ephemeral containers"},
  {"ka.req.pod.ephemeralContainers.privileged", T::StringList, A::Index, false, false, KA, K::None, "privileged flags of a pod's ephemeral containers"},
  {"ka.req.pod.initContainers.image", T::StringList, A::Index, false, false, KA, K::None, "images of a pod's init containers"},
  {"ka.req.pod.initContainers.privileged", T::StringList, A::Index, false, false, KA, K::None, "privileged flags of a pod's init containers"},
  {"ka.req.role.rules", T::StringList, A::None, false, false, KA, K::None, "rules of a role"},
  {"ka.req.role.rules.apigroups", T::StringList, A::Index, false, false, KA, K::None, "apiGroups of a role's rules"},
  {"ka.req.role.rules.nonresource_urls", T::StringList, A::Index, false, false, KA, K::None, "nonResourceURLs of a role's rules"},
  {"ka.req.role.rules.verbs", T::StringList, A::Index, false, false, KA, K::None, "verbs of a role's rules"},
  {"ka.req.role.rules.resources", T::StringList, A::Index, false, false, KA, K::None, "resources of a role's rules"},
  {"ka.req.service.type", T::String, A::None, false, false, KA, K::None, "service type"},
  {"ka.req.service.ports", T::StringList, A::None, false, false, KA, K::None, "service ports"},
  {"ka.req.pod.volumes.hostpath", T::StringList, A::None, false, false, KA, K::None, "hostPath volumes of a pod"},
  {"ka.req.volume.hostpath", T::String, A::Key, true, false, KA, K::None, "'true' if a hostPath volume matches the path (deprecated)"},
  {"ka.req.pod.volumes.flexvolume_driver", T::StringList, A::None, false, false, KA, K::None, "flexVolume drivers of a pod"},
  {"ka.req.pod.volumes.volume_type", T::StringList, A::None, false, false, KA, K::None, "volume types of a pod"},
  {"ka.resp.name", T::String, A::None, false, false, KA, K::None, "response object name"},
  {"ka.response.code", T::String, A::None, false, false, KA, K::None, "response HTTP code"},
  {"ka.response.reason", T::String, A::None, false, false, KA, K::None, "response reason"},
  {"ka.useragent", T::String, A::None, false, false, KA, K::None, "user agent of the client"},
  {"ka.sourceips", T::StringList, A::Index, false, false, KA, K::None, "source IPs of the request"},
  {"ka.cluster.name", T::String, A::None, false, false, KA, K::None, "cluster name"},
};
// clang-format on

}  // namespace

std::span<const FieldInfo> k8s_audit_fields() { return kFields; }

}  // namespace pg::policy
