// Kubernetes audit events written for Peregrine's tests, each with the
// rules of ../shared/falco-rules/k8s_audit_rules.yaml it must fire (with
// rule_matching: all) — none for the benign ones. Shared by the engine unit
// tests and the end-to-end tests (webhook and file), so all three judge
// the same events.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace pg::test::audit {

using Json = nlohmann::json;

struct Case {
  std::string name;
  Json event;                      // one audit.k8s.io/v1 Event
  std::set<std::string> expected;  // rule names
};

inline Json base_event(const std::string& verb, const std::string& resource, const std::string& ns,
                       const std::string& name, const std::string& user = "kubernetes-admin",
                       int code = 200) {
  Json e = {
      {"kind", "Event"},
      {"apiVersion", "audit.k8s.io/v1"},
      {"level", "RequestResponse"},
      {"auditID", "7e0f1c3a-" + verb + "-" + resource + "-" + name},
      {"stage", "ResponseComplete"},
      {"verb", verb},
      {"user", {{"username", user}, {"groups", {"system:masters", "system:authenticated"}}}},
      {"sourceIPs", {"10.0.0.7"}},
      {"userAgent", "kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819"},
      {"objectRef", {{"resource", resource}, {"name", name}, {"apiVersion", "v1"}}},
      {"responseStatus", {{"metadata", Json::object()}, {"code", code}}},
      {"requestReceivedTimestamp", "2026-11-28T10:00:00.100000Z"},
      {"stageTimestamp", "2026-11-28T10:00:00.123456Z"},
      {"annotations",
       {{"authorization.k8s.io/decision", "allow"}, {"authorization.k8s.io/reason", ""}}},
  };
  std::string uri = "/api/v1/";
  if (!ns.empty()) {
    e["objectRef"]["namespace"] = ns;
    uri += "namespaces/" + ns + "/";
  }
  e["requestURI"] = uri + resource + (verb == "create" ? "" : "/" + name);
  return e;
}

inline Json pod_spec(Json containers) {
  return {{"kind", "Pod"},
          {"apiVersion", "v1"},
          {"metadata", {{"name", "web"}, {"namespace", "default"}}},
          {"spec", {{"containers", std::move(containers)}}}};
}

inline Json container(const std::string& image, bool privileged = false) {
  Json c = {{"name", "c"}, {"image", image}};
  if (privileged) c["securityContext"] = {{"privileged", true}};
  return c;
}

inline Json pod_create(const std::string& name, Json spec) {
  Json e = base_event("create", "pods", "default", name, "kubernetes-admin", 201);
  e["requestObject"] = std::move(spec);
  e["responseObject"] = {{"kind", "Pod"}, {"metadata", {{"name", name}}}};
  return e;
}

inline Json pod_subresource(const std::string& sub, const std::string& query) {
  Json e = base_event("create", "pods", "default", "web", "kubernetes-admin", 101);
  e["stage"] = "ResponseStarted";
  e["objectRef"]["subresource"] = sub;
  e["requestURI"] = "/api/v1/namespaces/default/pods/web/" + sub + "?" + query;
  return e;
}

inline std::vector<Case> cases() {
  std::vector<Case> out;

  Json priv = pod_create("priv", pod_spec({container("nginx:1.25", true)}));
  out.push_back({"privileged pod", priv, {"Create Privileged Pod"}});

  Json hostnet = pod_create("hostnet", pod_spec({container("busybox:1.36")}));
  hostnet["requestObject"]["spec"]["hostNetwork"] = true;
  out.push_back({"hostNetwork pod", hostnet, {"Create HostNetwork Pod"}});

  Json mount = pod_create("mount", pod_spec({container("alpine:3.19")}));
  mount["requestObject"]["spec"]["volumes"] = {
      {{"name", "host-etc"}, {"hostPath", {{"path", "/etc"}, {"type", "Directory"}}}}};
  out.push_back({"sensitive hostPath mount", mount, {"Create Sensitive Mount Pod"}});

  // One trusted and one untrusted image: `in` needs every repository in the
  // list, so the trusted one does not excuse the other.
  Json mixed =
      pod_create("mixed", pod_spec({container("docker.io/falcosecurity/falco:0.37.1", true),
                                    container("docker.io/library/nginx:1.25")}));
  out.push_back({"privileged pod, one trusted image of two", mixed, {"Create Privileged Pod"}});

  out.push_back({"exec into a pod",
                 pod_subresource("exec", "command=sh&command=-c&container=web&stdin=true&tty=true"),
                 {"Attach/Exec Pod"}});
  out.push_back({"attach to a pod",
                 pod_subresource("attach", "container=web&stdin=true"),
                 {"Attach/Exec Pod"}});

  Json role = base_event("create", "clusterroles", "", "everything", "kubernetes-admin", 201);
  role["objectRef"]["apiGroup"] = "rbac.authorization.k8s.io";
  role["requestObject"] = {
      {"kind", "ClusterRole"},
      {"metadata", {{"name", "everything"}}},
      {"rules", {{{"apiGroups", {""}}, {"resources", {"pods", "secrets"}}, {"verbs", {"*"}}}}}};
  out.push_back({"ClusterRole with wildcard verbs",
                 role,
                 {"ClusterRole With Wildcard Created", "K8s ClusterRole Created"}});

  Json binding =
      base_event("create", "clusterrolebindings", "", "ops-admin", "kubernetes-admin", 201);
  binding["requestObject"] = {{"kind", "ClusterRoleBinding"},
                              {"roleRef", {{"kind", "ClusterRole"}, {"name", "cluster-admin"}}},
                              {"subjects", {{{"kind", "User"}, {"name", "mallory"}}}}};
  out.push_back({"binding to cluster-admin",
                 binding,
                 {"Attach to cluster-admin Role", "K8s ClusterRoleBinding Created"}});

  Json secret = base_event("get", "secrets", "payments", "db-password", "mallory", 200);
  secret["user"]["groups"] = {"system:authenticated"};
  out.push_back({"secret read by an unexpected user",
                 secret,
                 {"Disallowed K8s User", "K8s Secret Get Successfully"}});

  Json anon = base_event("list", "namespaces", "", "", "system:anonymous", 200);
  anon["requestURI"] = "/api/v1/namespaces";
  anon["user"]["groups"] = {"system:unauthenticated"};
  anon["annotations"]["authorization.k8s.io/reason"] =
      "RBAC: allowed by ClusterRoleBinding \"oops\" of ClusterRole \"view\" to Group "
      "\"system:unauthenticated\"";
  out.push_back({"anonymous request allowed", anon, {"Anonymous Request Allowed"}});

  Json svc = base_event("create", "services", "default", "web", "kubernetes-admin", 201);
  svc["requestObject"] = {
      {"kind", "Service"},
      {"spec",
       {{"type", "NodePort"},
        {"ports", {{{"port", 80}, {"nodePort", 30080}, {"protocol", "TCP"}}}}}}};
  out.push_back({"NodePort service", svc, {"Create NodePort Service", "K8s Service Created"}});

  Json cm = base_event("create", "configmaps", "default", "app-config", "kubernetes-admin", 201);
  cm["requestObject"] = {{"kind", "ConfigMap"},
                         {"data", {{"db.conf", "user=app\npassword=hunter2"}}}};
  out.push_back({"configmap with a password",
                 cm,
                 {"Create/Modify Configmap With Private Credentials", "K8s ConfigMap Created"}});

  // ---- benign: nothing may fire -------------------------------------------
  out.push_back({"benign: admin lists pods",
                 base_event("list", "pods", "default", "", "kubernetes-admin"),
                 {}});
  out.push_back({"benign: controller reads a configmap",
                 base_event("get", "configmaps", "kube-system", "kube-proxy",
                            "system:kube-controller-manager"),
                 {}});
  out.push_back(
      {"benign: ordinary pod", pod_create("plain", pod_spec({container("nginx:1.25")})), {}});
  Json trusted =
      pod_create("falco", pod_spec({container("docker.io/falcosecurity/falco:0.37.1", true)}));
  out.push_back({"benign: privileged pod of a trusted image", trusted, {}});
  // The same privileged pod seen at an earlier stage: the rules only judge
  // completed requests, so RequestReceived must not fire.
  Json early = priv;
  early["stage"] = "RequestReceived";
  early.erase("responseStatus");
  out.push_back({"benign: privileged pod at stage RequestReceived", early, {}});
  Json ok_svc = svc;
  ok_svc["verb"] = "get";
  ok_svc.erase("requestObject");
  out.push_back({"benign: NodePort service read, not created", ok_svc, {}});
  return out;
}

// The cases' expected rule names, each once.
inline std::set<std::string> all_expected_rules() {
  std::set<std::string> out;
  for (const auto& c : cases()) out.insert(c.expected.begin(), c.expected.end());
  return out;
}

}  // namespace pg::test::audit
