// Field extraction for Kubernetes audit events (source k8s_audit): the ka.*
// fields of Falco's k8saudit plugin, the generic JSON accessors jevt.* and
// json.*, and the evt.* fields every source shares.
//
// Every extractor reads the parsed audit.k8s.io Event held by an AuditView.
// A path that is absent, or of an unexpected JSON type, gives <NA>, never a
// guessed value. Scalars that Falco renders as text (booleans, response
// codes) extract as text so `ka.req.pod.host_network = true` and
// `ka.response.code startswith 2` compare the way the rules expect.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string_view>

#include "user/engine/arg_format.h"
#include "user/engine/extract.h"
#include "user/engine/extract_misc.h"

namespace pg::user::engine {

namespace {

using V = Value;
using json = nlohmann::json;
using List = std::vector<std::string>;

const json& doc(const View& v) { return static_cast<const AuditView&>(v).doc; }

// The member at `path` (object keys only), or null.
const json* at(const json& root, std::initializer_list<std::string_view> path) {
  const json* j = &root;
  for (auto key : path) {
    if (!j->is_object()) return nullptr;
    auto it = j->find(key);
    if (it == j->end()) return nullptr;
    j = &*it;
  }
  return j;
}

// A JSON value as the text Falco shows: strings unquoted, booleans as
// true/false, numbers in decimal, objects and arrays as compact JSON.
V text_of(const json* j, std::string& s) {
  if (!j || j->is_null()) return V::na();
  if (j->is_string()) return V::of(j->get_ref<const std::string&>());
  if (j->is_boolean()) return V::of(j->get<bool>() ? "true" : "false");
  s = j->dump();
  return V::of(s);
}

std::string text_string(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_boolean()) return j.get<bool>() ? "true" : "false";
  return j.dump();
}

V str_at(const View& v, std::string& s, std::initializer_list<std::string_view> path) {
  return text_of(at(doc(v), path), s);
}

// A list value, or one element of it for `field[i]`.
V list_value(const List& l, const FieldArg& a) {
  if (a.index >= 0) return size_t(a.index) < l.size() ? V::of(l[size_t(a.index)]) : V::na();
  return l.empty() ? V::na() : V::of_list(&l);
}

V int_at(const json* j) {
  if (!j || !j->is_number_integer()) return V::na();
  return V::of_int(j->get<int64_t>());
}

const json* spec(const View& v) { return at(doc(v), {"requestObject", "spec"}); }

// The containers of a pod's spec of one kind ("containers",
// "initContainers", "ephemeralContainers").
template <class Fn>
void for_each_container(const View& v, std::string_view kind, Fn&& fn) {
  const json* sp = spec(v);
  if (!sp) return;
  const json* cs = at(*sp, {kind});
  if (!cs || !cs->is_array()) return;
  for (const auto& c : *cs)
    if (c.is_object()) fn(c);
}

// "registry:5000/ns/img:tag@sha256:..." -> "registry:5000/ns/img"
std::string image_repository(std::string_view image) {
  if (auto at_sign = image.find('@'); at_sign != std::string_view::npos)
    image = image.substr(0, at_sign);
  auto colon = image.rfind(':');
  auto slash = image.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash))
    image = image.substr(0, colon);
  return std::string(image);
}

// ---- per-container fields ------------------------------------------------
// One list per field: each extractor owns its thread_local buffer, so two
// list fields of one comparison never share storage.
template <const char* Kind>
V containers_image(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  for_each_container(v, Kind, [&](const json& c) {
    if (auto* i = at(c, {"image"}); i && i->is_string()) out.push_back(i->get<std::string>());
  });
  return list_value(out, a);
}
template <const char* Kind>
V containers_repository(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  for_each_container(v, Kind, [&](const json& c) {
    if (auto* i = at(c, {"image"}); i && i->is_string())
      out.push_back(image_repository(i->get_ref<const std::string&>()));
  });
  return list_value(out, a);
}
// A securityContext boolean of each container; unset counts as false, as
// Kubernetes treats it.
template <const char* Kind, const char* Key>
V containers_flag(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  for_each_container(v, Kind, [&](const json& c) {
    const json* f = at(c, {"securityContext", Key});
    out.push_back(f && f->is_boolean() && f->get<bool>() ? "true" : "false");
  });
  return list_value(out, a);
}
// A securityContext value of each container that sets it.
template <const char* Key>
V containers_context(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  for_each_container(v, "containers", [&](const json& c) {
    if (const json* f = at(c, {"securityContext", Key}); f && !f->is_null())
      out.push_back(text_string(*f));
  });
  return list_value(out, a);
}
// The container's own value, else the pod's, else 0 (root): what the
// container will effectively run as.
template <const char* Key>
V containers_effective(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  const json* sp = spec(v);
  const json* pod = sp ? at(*sp, {"securityContext", Key}) : nullptr;
  for_each_container(v, "containers", [&](const json& c) {
    const json* f = at(c, {"securityContext", Key});
    if (f && f->is_number_integer())
      out.push_back(text_string(*f));
    else if (pod && pod->is_number_integer())
      out.push_back(text_string(*pod));
    else
      out.push_back("0");
  });
  return list_value(out, a);
}

constexpr char kContainers[] = "containers";
constexpr char kInit[] = "initContainers";
constexpr char kEphemeral[] = "ephemeralContainers";
constexpr char kPrivileged[] = "privileged";
constexpr char kAllowEsc[] = "allowPrivilegeEscalation";
constexpr char kReadOnly[] = "readOnlyRootFilesystem";
constexpr char kRunAsUser[] = "runAsUser";
constexpr char kRunAsGroup[] = "runAsGroup";
constexpr char kProcMount[] = "procMount";

V containers_host_port(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  for_each_container(v, "containers", [&](const json& c) {
    const json* ports = at(c, {"ports"});
    if (!ports || !ports->is_array()) return;
    for (const auto& p : *ports)
      if (const json* hp = at(p, {"hostPort"}); hp && hp->is_number_integer())
        out.push_back(text_string(*hp));
  });
  return list_value(out, a);
}
V containers_add_caps(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  for_each_container(v, "containers", [&](const json& c) {
    const json* add = at(c, {"securityContext", "capabilities", "add"});
    if (!add || !add->is_array()) return;
    for (const auto& cap : *add)
      if (cap.is_string()) out.push_back(cap.get<std::string>());
  });
  return list_value(out, a);
}

// ---- pod-level fields ----------------------------------------------------
template <const char* Key>
V pod_flag(const View& v, const FieldArg&, std::string& s) {
  const json* sp = spec(v);
  return sp ? text_of(at(*sp, {Key}), s) : V::na();
}
constexpr char kHostIpc[] = "hostIPC";
constexpr char kHostNetwork[] = "hostNetwork";
constexpr char kHostPid[] = "hostPID";
constexpr char kFsGroup[] = "fsGroup";

template <const char* Key>
V pod_context_int(const View& v, const FieldArg&, std::string&) {
  const json* sp = spec(v);
  return sp ? int_at(at(*sp, {"securityContext", Key})) : V::na();
}
V pod_supplemental_groups(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  const json* sp = spec(v);
  const json* g = sp ? at(*sp, {"securityContext", "supplementalGroups"}) : nullptr;
  if (g && g->is_array())
    for (const auto& x : *g) out.push_back(text_string(x));
  return list_value(out, a);
}

template <class Fn>
void for_each_volume(const View& v, Fn&& fn) {
  const json* sp = spec(v);
  const json* vols = sp ? at(*sp, {"volumes"}) : nullptr;
  if (!vols || !vols->is_array()) return;
  for (const auto& vol : *vols)
    if (vol.is_object()) fn(vol);
}
V volumes_hostpath(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  for_each_volume(v, [&](const json& vol) {
    if (const json* p = at(vol, {"hostPath", "path"}); p && p->is_string())
      out.push_back(p->get<std::string>());
  });
  return list_value(out, a);
}
V volumes_flex_driver(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  for_each_volume(v, [&](const json& vol) {
    if (const json* d = at(vol, {"flexVolume", "driver"}); d && d->is_string())
      out.push_back(d->get<std::string>());
  });
  return list_value(out, a);
}
// The volume's source kind: its one key besides "name" (hostPath, secret…).
V volumes_type(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  for_each_volume(v, [&](const json& vol) {
    for (const auto& [key, _] : vol.items())
      if (key != "name") out.push_back(key);
  });
  return list_value(out, a);
}
// Deprecated form: "true" if some hostPath volume matches the argument
// (a path, optionally ending in '*' for a prefix), else "false".
V volume_hostpath_match(const View& v, const FieldArg& a, std::string&) {
  if (!spec(v)) return V::na();
  std::string_view want = a.key;
  bool prefix = want.ends_with('*');
  if (prefix) want.remove_suffix(1);
  bool found = false;
  for_each_volume(v, [&](const json& vol) {
    const json* p = at(vol, {"hostPath", "path"});
    if (!p || !p->is_string()) return;
    std::string_view path = p->get_ref<const std::string&>();
    if (prefix ? path.starts_with(want) : path == want) found = true;
  });
  return V::of(found ? "true" : "false");
}

// ---- RBAC ----------------------------------------------------------------
V binding_subjects(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  const json* subs = at(doc(v), {"requestObject", "subjects"});
  if (subs && subs->is_array())
    for (const auto& sub : *subs)
      if (const json* n = at(sub, {"name"}); n && n->is_string())
        out.push_back(n->get<std::string>());
  return list_value(out, a);
}
V binding_role(const View& v, const FieldArg&, std::string& s) {
  return str_at(v, s, {"requestObject", "roleRef", "name"});
}
V binding_subject_has_name(const View& v, const FieldArg& a, std::string&) {
  const json* subs = at(doc(v), {"requestObject", "subjects"});
  if (!subs || !subs->is_array()) return V::na();
  for (const auto& sub : *subs)
    if (const json* n = at(sub, {"name"}); n && n->is_string() && *n == a.key) return V::of("true");
  return V::of("false");
}
// Each rule of a Role / ClusterRole as compact JSON.
V role_rules(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  const json* rules = at(doc(v), {"requestObject", "rules"});
  if (rules && rules->is_array())
    for (const auto& r : *rules) out.push_back(r.dump());
  return list_value(out, a);
}
// One key of every rule, flattened; with an index, only that rule's values.
template <const char* Key>
V role_rules_key(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  const json* rules = at(doc(v), {"requestObject", "rules"});
  if (!rules || !rules->is_array()) return V::na();
  for (size_t i = 0; i < rules->size(); ++i) {
    if (a.index >= 0 && size_t(a.index) != i) continue;
    const json* vals = at((*rules)[i], {Key});
    if (!vals || !vals->is_array()) continue;
    for (const auto& x : *vals)
      if (x.is_string()) out.push_back(x.get<std::string>());
  }
  return out.empty() ? V::na() : V::of_list(&out);
}
constexpr char kApiGroups[] = "apiGroups";
constexpr char kNonResourceUrls[] = "nonResourceURLs";
constexpr char kVerbs[] = "verbs";
constexpr char kResources[] = "resources";

V service_ports(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  const json* sp = spec(v);
  const json* ports = sp ? at(*sp, {"ports"}) : nullptr;
  if (ports && ports->is_array())
    for (const auto& p : *ports) out.push_back(p.dump());
  return list_value(out, a);
}

// ---- request / response --------------------------------------------------
V user_groups(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  const json* g = at(doc(v), {"user", "groups"});
  if (g && g->is_array())
    for (const auto& x : *g)
      if (x.is_string()) out.push_back(x.get<std::string>());
  return list_value(out, a);
}
V source_ips(const View& v, const FieldArg& a, std::string&) {
  thread_local List out;
  out.clear();
  const json* ips = at(doc(v), {"sourceIPs"});
  if (ips && ips->is_array())
    for (const auto& x : *ips)
      if (x.is_string()) out.push_back(x.get<std::string>());
  return list_value(out, a);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
std::string url_decode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%' && i + 2 < in.size() && hex_digit(in[i + 1]) >= 0 &&
               hex_digit(in[i + 2]) >= 0) {
      out.push_back(char(hex_digit(in[i + 1]) * 16 + hex_digit(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}
// ka.uri.param[NAME]: the first value of query parameter NAME, decoded.
V uri_param(const View& v, const FieldArg& a, std::string& s) {
  const json* uri = at(doc(v), {"requestURI"});
  if (!uri || !uri->is_string()) return V::na();
  std::string_view u = uri->get_ref<const std::string&>();
  auto q = u.find('?');
  if (q == std::string_view::npos) return V::na();
  std::string_view rest = u.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    auto eq = pair.find('=');
    if (url_decode(pair.substr(0, eq)) != a.key) continue;
    s = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
    return V::of(s);
  }
  return V::na();
}
V target_pod_name(const View& v, const FieldArg&, std::string& s) {
  const json* res = at(doc(v), {"objectRef", "resource"});
  if (!res || *res != "pods") return V::na();
  return str_at(v, s, {"objectRef", "name"});
}
V response_code(const View& v, const FieldArg&, std::string& s) {
  return str_at(v, s, {"responseStatus", "code"});
}
V configmap_name(const View& v, const FieldArg&, std::string& s) {
  const json* res = at(doc(v), {"objectRef", "resource"});
  if (!res || *res != "configmaps") return V::na();
  return str_at(v, s, {"objectRef", "name"});
}
V configmap_obj(const View& v, const FieldArg&, std::string& s) {
  const json* res = at(doc(v), {"objectRef", "resource"});
  if (!res || *res != "configmaps") return V::na();
  return text_of(at(doc(v), {"requestObject", "data"}), s);
}
V first_of(V list) {
  if (list.kind != V::Kind::List) return list;
  return V::of(list.list->front());
}

// ---- jevt.* / json.* / evt.* ----------------------------------------------
V json_value(const View& v, const FieldArg& a, std::string& s) {
  // A pointer that is not RFC 6901 (no leading "/") reads as <NA>.
  if (a.key.empty() || a.key.front() != '/') return V::na();
  const json* j = &doc(v);
  // Walk the RFC 6901 pointer by hand: nlohmann's json_pointer throws on
  // every missing member, and most events lack most members.
  std::string_view p(a.key);
  while (!p.empty()) {
    p.remove_prefix(1);
    auto slash = p.find('/');
    std::string token(p.substr(0, slash));
    p = slash == std::string_view::npos ? std::string_view{} : p.substr(slash);
    for (size_t i = 0; (i = token.find('~', i)) != std::string::npos; ++i) {
      if (i + 1 >= token.size()) return V::na();
      if (token[i + 1] == '1')
        token.replace(i, 2, "/");
      else if (token[i + 1] == '0')
        token.replace(i, 2, "~");
      else
        return V::na();
    }
    if (j->is_object()) {
      auto it = j->find(token);
      if (it == j->end()) return V::na();
      j = &*it;
    } else if (j->is_array()) {
      if (token.empty() || !std::all_of(token.begin(), token.end(), ::isdigit)) return V::na();
      size_t idx = std::stoul(token);
      if (idx >= j->size()) return V::na();
      j = &(*j)[idx];
    } else {
      return V::na();
    }
  }
  return text_of(j, s);
}
V json_obj(const View& v, const FieldArg&, std::string& s) {
  s = doc(v).dump();
  return V::of(s);
}
V rawtime(const View& v, const FieldArg&, std::string&) { return V::of_int(v.time_ns); }
V rawtime_s(const View& v, const FieldArg&, std::string&) {
  return V::of_int(v.time_ns / 1'000'000'000);
}
V rawtime_ns(const View& v, const FieldArg&, std::string&) {
  return V::of_int(v.time_ns % 1'000'000'000);
}
V time_iso(const View& v, const FieldArg&, std::string& s) {
  s = format_rfc3339_ns(uint64_t(v.time_ns));
  return V::of(s);
}
V evt_time(const View& v, const FieldArg&, std::string& s) {
  time_t secs = time_t(v.time_ns / 1'000'000'000);
  struct tm tm {};
  localtime_r(&secs, &tm);
  s = fmt::format("{:02}:{:02}:{:02}.{:09}", tm.tm_hour, tm.tm_min, tm.tm_sec,
                  v.time_ns % 1'000'000'000);
  return V::of(s);
}
V evt_num(const View& v, const FieldArg&, std::string&) { return V::of_int(int64_t(v.num)); }
V evt_source(const View&, const FieldArg&, std::string&) { return V::of("k8s_audit"); }
V evt_hostname(const View& v, const FieldArg&, std::string&) { return V::of(v.hostname); }

template <const char*... Path>
V str_path(const View& v, const FieldArg&, std::string& s) {
  return str_at(v, s, {Path...});
}
constexpr char kAuditId[] = "auditID";
constexpr char kStage[] = "stage";
constexpr char kAnnotations[] = "annotations";
constexpr char kAuthDecision[] = "authorization.k8s.io/decision";
constexpr char kAuthReason[] = "authorization.k8s.io/reason";
constexpr char kOsDecision[] = "authorization.openshift.io/decision";
constexpr char kOsUser[] = "authorization.openshift.io/username";
constexpr char kUser[] = "user";
constexpr char kUsername[] = "username";
constexpr char kImpUser[] = "impersonatedUser";
constexpr char kVerb[] = "verb";
constexpr char kRequestUri[] = "requestURI";
constexpr char kObjectRef[] = "objectRef";
constexpr char kName[] = "name";
constexpr char kNamespace[] = "namespace";
constexpr char kResource[] = "resource";
constexpr char kSubresource[] = "subresource";
constexpr char kResponseObject[] = "responseObject";
constexpr char kMetadata[] = "metadata";
constexpr char kResponseStatus[] = "responseStatus";
constexpr char kReason[] = "reason";
constexpr char kUserAgent[] = "userAgent";
constexpr char kRequestObject[] = "requestObject";
constexpr char kSpec[] = "spec";
constexpr char kType[] = "type";

struct Entry {
  std::string_view name;
  ExtractFn fn;
};

constexpr Entry kAudit[] = {
    {"evt.num", evt_num},
    {"evt.source", evt_source},
    {"evt.hostname", evt_hostname},
    {"evt.time", evt_time},
    {"evt.time.iso8601", time_iso},
    {"evt.rawtime", rawtime},
    {"evt.rawtime.s", rawtime_s},
    {"evt.rawtime.ns", rawtime_ns},
    {"jevt.time", evt_time},
    {"jevt.time.iso8601", time_iso},
    {"jevt.rawtime", rawtime},
    {"jevt.value", json_value},
    {"jevt.obj", json_obj},
    {"json.value", json_value},
    {"json.obj", json_obj},
    {"json.rawtime", rawtime},
    {"ka.auditid", str_path<kAuditId>},
    {"ka.stage", str_path<kStage>},
    {"ka.auth.decision", str_path<kAnnotations, kAuthDecision>},
    {"ka.auth.reason", str_path<kAnnotations, kAuthReason>},
    {"ka.auth.openshift.decision", str_path<kAnnotations, kOsDecision>},
    {"ka.auth.openshift.username", str_path<kAnnotations, kOsUser>},
    {"ka.user.name", str_path<kUser, kUsername>},
    {"ka.user.groups", user_groups},
    {"ka.impuser.name", str_path<kImpUser, kUsername>},
    {"ka.verb", str_path<kVerb>},
    {"ka.uri", str_path<kRequestUri>},
    {"ka.uri.param", uri_param},
    {"ka.target.name", str_path<kObjectRef, kName>},
    {"ka.target.namespace", str_path<kObjectRef, kNamespace>},
    {"ka.target.resource", str_path<kObjectRef, kResource>},
    {"ka.target.subresource", str_path<kObjectRef, kSubresource>},
    {"ka.target.pod.name", target_pod_name},
    {"ka.req.binding.subjects", binding_subjects},
    {"ka.req.binding.role", binding_role},
    {"ka.req.binding.subject.has_name", binding_subject_has_name},
    {"ka.req.configmap.name", configmap_name},
    {"ka.req.configmap.obj", configmap_obj},
    {"ka.req.pod.containers.image", containers_image<kContainers>},
    {"ka.req.container.image",
     [](const View& v, const FieldArg&, std::string& s) {
       return first_of(containers_image<kContainers>(v, {}, s));
     }},
    {"ka.req.pod.containers.image.repository", containers_repository<kContainers>},
    {"ka.req.container.image.repository",
     [](const View& v, const FieldArg&, std::string& s) {
       return first_of(containers_repository<kContainers>(v, {}, s));
     }},
    {"ka.req.pod.host_ipc", pod_flag<kHostIpc>},
    {"ka.req.pod.host_network", pod_flag<kHostNetwork>},
    {"ka.req.container.host_network", pod_flag<kHostNetwork>},
    {"ka.req.pod.host_pid", pod_flag<kHostPid>},
    {"ka.req.pod.containers.host_port", containers_host_port},
    {"ka.req.pod.containers.privileged", containers_flag<kContainers, kPrivileged>},
    {"ka.req.container.privileged", containers_flag<kContainers, kPrivileged>},
    {"ka.req.pod.containers.allow_privilege_escalation", containers_flag<kContainers, kAllowEsc>},
    {"ka.req.pod.containers.read_only_fs", containers_flag<kContainers, kReadOnly>},
    {"ka.req.pod.run_as_user", pod_context_int<kRunAsUser>},
    {"ka.req.pod.containers.run_as_user", containers_context<kRunAsUser>},
    {"ka.req.pod.containers.eff_run_as_user", containers_effective<kRunAsUser>},
    {"ka.req.pod.run_as_group", pod_context_int<kRunAsGroup>},
    {"ka.req.pod.containers.run_as_group", containers_context<kRunAsGroup>},
    {"ka.req.pod.containers.eff_run_as_group", containers_effective<kRunAsGroup>},
    {"ka.req.pod.containers.proc_mount", containers_context<kProcMount>},
    {"ka.req.pod.containers.add_capabilities", containers_add_caps},
    {"ka.req.pod.fs_group", pod_context_int<kFsGroup>},
    {"ka.req.pod.supplemental_groups", pod_supplemental_groups},
    {"ka.req.pod.ephemeralContainers.image", containers_image<kEphemeral>},
    {"ka.req.pod.ephemeralContainers.privileged", containers_flag<kEphemeral, kPrivileged>},
    {"ka.req.pod.initContainers.image", containers_image<kInit>},
    {"ka.req.pod.initContainers.privileged", containers_flag<kInit, kPrivileged>},
    {"ka.req.role.rules", role_rules},
    {"ka.req.role.rules.apigroups", role_rules_key<kApiGroups>},
    {"ka.req.role.rules.nonresource_urls", role_rules_key<kNonResourceUrls>},
    {"ka.req.role.rules.verbs", role_rules_key<kVerbs>},
    {"ka.req.role.rules.resources", role_rules_key<kResources>},
    {"ka.req.service.type", str_path<kRequestObject, kSpec, kType>},
    {"ka.req.service.ports", service_ports},
    {"ka.req.pod.volumes.hostpath", volumes_hostpath},
    {"ka.req.volume.hostpath", volume_hostpath_match},
    {"ka.req.pod.volumes.flexvolume_driver", volumes_flex_driver},
    {"ka.req.pod.volumes.volume_type", volumes_type},
    {"ka.resp.name", str_path<kResponseObject, kMetadata, kName>},
    {"ka.response.code", response_code},
    {"ka.response.reason", str_path<kResponseStatus, kReason>},
    {"ka.useragent", str_path<kUserAgent>},
    {"ka.sourceips", source_ips},
    // ka.cluster.name comes from the k8saudit plugin's own configuration,
    // not from the event; Peregrine has no such setting, so it is <NA>.
};

}  // namespace

ExtractFn find_audit_extractor(std::string_view name) {
  for (const auto& e : kAudit)
    if (e.name == name) return e.fn;
  return find_time_extractor(name);
}

}  // namespace pg::user::engine
